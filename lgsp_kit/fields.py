"""Field types for request models that refuse what lax coercion would let through."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, WithJsonSchema


def one_of(*values: int) -> Any:
    """Validation and schema for a code among `values`; use on a `StrictInt`, so that `"2"`,
    `2.0` and `true` are refused: `Annotated[StrictInt, *one_of(1, 2, 3)]`."""
    allowed = frozenset(values)

    def check(value: int) -> int:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(map(str, sorted(allowed)))}")
        return value

    return (
        AfterValidator(check),
        WithJsonSchema({"type": "integer", "enum": sorted(allowed)}),
    )


def nfc(value: str) -> str:
    """Vietnamese text in one Unicode form (NFC), so equal names compare equal."""
    return unicodedata.normalize("NFC", value.strip())


Text = Annotated[str, AfterValidator(nfc)]

"""Field types: for request models, ones that refuse what lax coercion would let through; for
answers, `LocalTime`."""

from __future__ import annotations

import re
import unicodedata
from contextvars import ContextVar
from datetime import datetime, tzinfo
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    PlainSerializer,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError


def _integral(value: Any) -> Any:
    """A JSON number with no fraction is an integer (JSON Schema says so: `2.0` is a valid
    `integer`); a bool never is, nor a string, nor `2.5`: those go on to the strict check."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# An integer as JSON Schema means it: 2 and 2.0, never "2", true or 2.5. Put it last in the
# metadata, after any bounds, so that they stay `minimum`/`maximum` in the published schema:
# `Annotated[StrictInt, Field(ge=0), INTEGRAL]`.
INTEGRAL = BeforeValidator(_integral)
Integer = Annotated[StrictInt, INTEGRAL]


def one_of(*values: int) -> Any:
    """Validation and schema for a code among `values`; use on a `StrictInt`, so that `"2"` and
    `true` are refused and `2.0` read as 2: `Annotated[StrictInt, *one_of(1, 2, 3)]`."""
    allowed = frozenset(values)

    def check(value: int) -> int:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(map(str, sorted(allowed)))}")
        return value

    return (
        AfterValidator(check),
        WithJsonSchema({"type": "integer", "enum": sorted(allowed)}),
        INTEGRAL,
    )


def nfc(value: str) -> str:
    """Vietnamese text in one Unicode form (NFC), so equal names compare equal. NUL is not
    text (PostgreSQL cannot store it, and SQLite would keep it where no reader expects it)."""
    if "\x00" in value:
        raise PydanticCustomError("text_nul", "must not contain the NUL character (U+0000)")
    return unicodedata.normalize("NFC", value.strip())


Text = Annotated[str, AfterValidator(nfc)]


# Some character other than a space: `Text` is stripped, so `min_length=1` alone would publish
# " " as valid and then refuse it. Python strips (and its `\s` matches) U+001C-U+001F and U+0085
# too, where a JSON Schema (ECMA) `\s` takes U+FEFF: both are named, so every reader agrees.
NON_BLANK = r"[^\s\u001c-\u001f\u0085\ufeff]"


def text_pattern(regex: str) -> Any:
    """A `pattern` on `Text` that reaches the published JSON Schema too (pydantic leaves a
    pattern that follows a validator out of the schema, so clients would not know it):
    `Annotated[Text, StringConstraints(max_length=64), *text_pattern(r"^[\\w.-]+$")]`."""
    return (StringConstraints(pattern=regex), Field(json_schema_extra={"pattern": regex}))


_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _rfc3339_only(value: Any) -> Any:
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("expected an RFC 3339 date-time with an offset, not a number")
    return value


# A date-time with its offset, as the contract publishes it: pydantic alone would also take a
# number (or a numeric string in a query) as Unix seconds.
Instant = Annotated[AwareDatetime, BeforeValidator(_rfc3339_only)]


# The zone that rendered times are shown in: the app's `timezone` setting, set for each request
# (lgsp_kit.app). Outside a request a time keeps the offset it has.
display_zone: ContextVar[tzinfo | None] = ContextVar("display_zone", default=None)


def in_display_zone(value: datetime) -> datetime:
    """`value` in the zone answers show times in (for a time written into a message)."""
    zone = display_zone.get()
    return value.astimezone(zone) if zone is not None else value


# An aware time, stored in UTC, shown in the configured zone (`2024-03-01T09:00:00+07:00`):
# answer models use it so that no endpoint converts times by hand.
LocalTime = Annotated[AwareDatetime, PlainSerializer(in_display_zone, return_type=datetime)]

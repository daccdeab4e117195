"""Cursor paging: a list endpoint reads `limit + 1` rows after (or before) the cursor's key and
answers one page with the cursor of the next, or none when the page is the last.

The cursor is the key of the page's last row (an id, a code) as the client sees it: plain text,
or for the dossier list base64 (the form it has always had, so cursors given before still work).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from lgsp_kit.errors import invalid

K = TypeVar("K")
Row = TypeVar("Row")


@dataclass(frozen=True)
class Cursor(Generic[K]):
    """How a page's last key becomes the next cursor, and back."""

    encode: Callable[[K], str]
    decode: Callable[[str], K]

    def key(self, cursor: str | None) -> K | None:
        """The key the page starts after; None for the first page."""
        if not cursor:
            return None
        try:
            return self.decode(cursor)
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise invalid(
                "cursor",
                "invalid cursor",
                detail="cursor is not one this service gave",
                code="invalid_cursor",
            ) from exc

    def page(
        self, rows: Sequence[Row], limit: int, key: Callable[[Row], K]
    ) -> tuple[list[Row], str | None]:
        """`rows` as read with `limit + 1`: the page, and the next cursor if more follow."""
        page = list(rows[:limit])
        more = len(rows) > limit and page
        return page, self.encode(key(page[-1])) if more else None


def _b64_encode(value: int) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


def _b64_decode(cursor: str) -> int:
    return int(base64.urlsafe_b64decode(cursor.encode() + b"==").decode())


# A row id in decimal (`"1042"`), the form the routes' `^[0-9]{1,18}$` pattern checks.
NUMBER: Cursor[int] = Cursor(str, int)
# A text key (a code), as it is.
TEXT: Cursor[str] = Cursor(str, str)
# A row id in unpadded URL-safe base64 of its decimal form.
OPAQUE_NUMBER: Cursor[int] = Cursor(_b64_encode, _b64_decode)

# Exactly the OPAQUE_NUMBER cursors (base64url of 1–18 ASCII digits, unpadded), for the route's
# pattern, so that every cursor the contract admits is one the service reads: each group of
# four characters is three digits (0x30–0x39 fix its first two characters to M/N + D/T/j/z or
# O + D/T, the third to the digit's low nibble, the fourth to 0x30–0x39's last six bits); the
# last group may hold one or two digits. tests/kit/test_paging.py checks both directions.
_GROUP = r"(?:[MN][DTjz]|O[DT])[AEIMQUYcgk][w-z0-5]"
_TWO = r"(?:[MN][DTjz]|O[DT])[AEIMQUYcgk]"
_ONE = r"(?:[MN][AQgw]|O[AQ])"
OPAQUE_NUMBER_PATTERN = rf"^(?:{_GROUP}){{0,5}}(?:{_GROUP}|{_TWO}|{_ONE})$"

__all__ = ["NUMBER", "OPAQUE_NUMBER", "OPAQUE_NUMBER_PATTERN", "TEXT", "Cursor"]

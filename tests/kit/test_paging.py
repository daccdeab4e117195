"""The dossier list's cursor pattern (lgsp_kit.paging.OPAQUE_NUMBER_PATTERN) admits exactly the
cursors the service reads: what the contract says a cursor is, the service takes."""

from __future__ import annotations

import random
import re

from lgsp_kit.paging import OPAQUE_NUMBER, OPAQUE_NUMBER_PATTERN

PATTERN = re.compile(OPAQUE_NUMBER_PATTERN)
FIRST = [a + b for a in "MN" for b in "DTjz"] + ["OD", "OT"]
ONE = [a + b for a in "MN" for b in "AQgw"] + ["OA", "OQ"]


def test_every_cursor_the_service_gives_matches() -> None:
    rng = random.Random(7)
    for digits in range(1, 19):
        low = 10 ** (digits - 1) if digits > 1 else 0
        for _ in range(300):
            assert PATTERN.fullmatch(OPAQUE_NUMBER.encode(rng.randrange(low, 10**digits)))


def test_every_string_of_the_pattern_is_a_cursor_the_service_reads() -> None:
    rng = random.Random(11)
    for _ in range(5000):
        groups = "".join(
            rng.choice(FIRST) + rng.choice("AEIMQUYcgk") + rng.choice("wxyz012345")
            for _ in range(rng.randint(0, 5))
        )
        tail = rng.choice(
            [
                rng.choice(FIRST) + rng.choice("AEIMQUYcgk") + rng.choice("wxyz012345"),
                rng.choice(FIRST) + rng.choice("AEIMQUYcgk"),
                rng.choice(ONE),
            ]
        )
        cursor = groups + tail
        assert PATTERN.fullmatch(cursor)
        assert isinstance(OPAQUE_NUMBER.key(cursor), int)


def test_what_is_no_cursor_does_not_match() -> None:
    for wrong in ("0" * 64, "abc", "MDAw=", "", OPAQUE_NUMBER.encode(10**18)):
        assert not PATTERN.fullmatch(wrong)

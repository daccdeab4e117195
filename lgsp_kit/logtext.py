"""Caller-controlled text in log lines: escaped, so that it cannot forge a line of its own.

A decoded path (`%0d%0a` is CR LF), a header or a value quoted in a database error is written
with its control characters (C0, DEL, C1, the Unicode line and paragraph separators) and
backslashes escaped, and cut to a bounded length.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\\]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\\":
        return "\\\\"
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(value: object, limit: int = 500) -> str:
    """`value` as text safe for one log line: control characters escaped, at most `limit`
    characters of the original kept (then `…`)."""
    text = str(value)
    cut = len(text) > limit
    text = _UNSAFE.sub(_escape, text[:limit])
    return text + "…" if cut else text

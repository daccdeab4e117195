"""Reading an ASGI scope."""

from __future__ import annotations

from starlette.types import Scope


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of the request header `name` (lower case, as ASGI gives names)."""
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None

"""Every service route checks the caller's access token and scope, even behind the gateway.

`check_caller` reads the request's head only; `lgsp_kit.edge.EdgeGuard` runs it before a body
is read, and the routes' dependency `authorise` answers from the same result (`edge.once`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from lgsp_kit import edge
from lgsp_kit.tokens import Claims, TokenVerifier, bearer_claims, require_scope

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def required_scope(api: str, method: str) -> str:
    """`<api>:read` for reads, `<api>:write` for everything else: the gateway's rule too."""
    return f"{api}:{'read' if method in READ_METHODS else 'write'}"


async def check_caller(request: Request) -> Claims:
    """The caller's token, verified, with the scope this request needs; else a ProblemError."""
    runtime = request.app.state.runtime
    verifier: TokenVerifier = runtime.verifier
    claims = await bearer_claims(verifier, request.headers.get("authorization"))
    require_scope(claims, required_scope(runtime.settings.app_name, request.method))
    request.state.caller = claims
    return claims


class _Authorise(HTTPBearer):
    """The route dependency: the result of `check_caller`, run at the edge when a body came.

    It is the OpenAPI document's bearer scheme too (an `HTTPBearer` of FastAPI's name): as a
    dependency of its own, the scheme cost each request a second dependency to solve and a
    credentials model built and thrown away."""

    async def __call__(self, request: Request) -> Claims:  # type: ignore[override]
        claims: Claims = await edge.once(request, check_caller)
        return claims


authorise = _Authorise(
    auto_error=False,
    scheme_name=HTTPBearer.__name__,
    description="an access token from the gateway's /token",
)


Caller = Annotated[Claims, Depends(authorise)]

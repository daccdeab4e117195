"""Every service route checks the caller's access token and scope, even behind the gateway.

`check_caller` reads the request's head only; `lgsp_kit.edge.EdgeGuard` runs it before a body
is read, and the routes' dependency `authorise` answers from the same result (`edge.once`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lgsp_kit import edge
from lgsp_kit.tokens import Claims, TokenVerifier, bearer_claims, require_scope

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# For the OpenAPI document and `/docs`; the check itself is `lgsp_kit.tokens.bearer_claims`.
bearer = HTTPBearer(auto_error=False, description="an access token from the gateway's /token")


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


async def authorise(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Claims:
    """The route dependency: the result of `check_caller`, run at the edge when a body came."""
    claims: Claims = await edge.once(request, check_caller)
    return claims


Caller = Annotated[Claims, Depends(authorise)]

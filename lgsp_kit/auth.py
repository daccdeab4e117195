"""Every service route checks the caller's access token and scope, even behind the gateway.

`check_caller` reads the request's head only; `lgsp_kit.edge.EdgeGuard` runs it before a body
is read, and the routes' dependency `authorise` answers from the same result (`edge.once`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lgsp_kit import edge
from lgsp_kit.errors import ProblemError
from lgsp_kit.tokens import Claims, InvalidToken, JwksVerifier, KeysUnavailable

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
bearer = HTTPBearer(auto_error=False, description="an access token from the gateway's /token")


def required_scope(api: str, method: str) -> str:
    """`<api>:read` for reads, `<api>:write` for everything else: the gateway's rule too."""
    return f"{api}:{'read' if method in READ_METHODS else 'write'}"


async def check_caller(request: Request) -> Claims:
    """The caller's token, verified, with the scope this request needs; else a ProblemError."""
    runtime = request.app.state.runtime
    verifier: JwksVerifier = runtime.extras["verifier"]
    credentials = await bearer(request)
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ProblemError(
            "a Bearer access token is required",
            status=401,
            code="missing_token",
            headers={"WWW-Authenticate": 'Bearer realm="lgsp"'},
        )
    try:
        claims = await verifier.verify(credentials.credentials)
    except InvalidToken as exc:
        raise ProblemError(
            str(exc),
            status=401,
            code="invalid_token",
            headers={"WWW-Authenticate": 'Bearer realm="lgsp", error="invalid_token"'},
        ) from exc
    except KeysUnavailable as exc:
        raise ProblemError(str(exc), status=503, code="token_keys_unavailable") from exc
    needed = required_scope(runtime.settings.app_name, request.method)
    if needed not in claims.scopes:
        raise ProblemError(
            f"the token lacks the scope {needed}", status=403, code="insufficient_scope"
        )
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

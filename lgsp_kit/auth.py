"""Every service route checks the caller's access token and scope, even behind the gateway."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lgsp_kit.errors import ProblemError
from lgsp_kit.tokens import Claims, InvalidToken, JwksVerifier, KeysUnavailable

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
bearer = HTTPBearer(auto_error=False, description="an access token from the gateway's /token")


def required_scope(api: str, method: str) -> str:
    """`<api>:read` for reads, `<api>:write` for everything else: the gateway's rule too."""
    return f"{api}:{'read' if method in READ_METHODS else 'write'}"


async def authorise(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Claims:
    runtime = request.app.state.runtime
    verifier: JwksVerifier = runtime.extras["verifier"]
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


Caller = Annotated[Claims, Depends(authorise)]

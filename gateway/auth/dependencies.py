"""`AdminCaller`: the gateway's own administration API needs a token with `lgsp:admin`.

`check_admin` reads the request's head only; the gateway's `EdgeGuard` runs it on `/admin`
before a body is read, and `require_admin` answers from the same result (`edge.once`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.auth.tokens import Claims, InvalidToken, KeyRing
from gateway.consumers.service import ADMIN_SCOPE
from lgsp_kit import edge
from lgsp_kit.errors import ProblemError

bearer = HTTPBearer(
    auto_error=False, description="an access token from `POST /token` with scope lgsp:admin"
)
_CHALLENGE = 'Bearer realm="lgsp"'


async def check_admin(request: Request) -> Claims:
    """An enabled consumer's verified token with the admin scope; else a ProblemError."""
    runtime = request.app.state.runtime
    credentials = await bearer(request)
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ProblemError(
            "a Bearer access token is required",
            status=401,
            code="missing_token",
            headers={"WWW-Authenticate": _CHALLENGE},
        )
    keyring: KeyRing = runtime.extras["keyring"]
    try:
        claims = keyring.verify(credentials.credentials)
    except InvalidToken as exc:
        raise ProblemError(
            str(exc),
            status=401,
            code="invalid_token",
            headers={"WWW-Authenticate": f'{_CHALLENGE}, error="invalid_token"'},
        ) from exc
    consumer = await runtime.extras["proxy"].consumer(claims.client_id)
    if consumer is None or not consumer.enabled:
        raise ProblemError(
            "the consumer of this token is disabled or unknown",
            status=401,
            code="consumer_disabled",
            headers={"WWW-Authenticate": f'{_CHALLENGE}, error="invalid_token"'},
        )
    if ADMIN_SCOPE not in claims.scopes:
        raise ProblemError(
            f"the token lacks the scope {ADMIN_SCOPE}", status=403, code="insufficient_scope"
        )
    return claims


async def require_admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Claims:
    """The route dependency: the result of `check_admin`, run at the edge when a body came."""
    claims: Claims = await edge.once(request, check_admin)
    return claims


AdminCaller = Annotated[Claims, Depends(require_admin)]

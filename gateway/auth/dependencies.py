"""`AdminCaller`: the gateway's own administration API needs a token with `lgsp:admin`.

`check_admin` reads the request's head only; the gateway's `EdgeGuard` runs it on `/admin`
before a body is read, and `require_admin` answers from the same result (`edge.once`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.auth.tokens import Claims, ConsumerDisabled
from gateway.consumers.service import ADMIN_SCOPE
from gateway.state import gateway_state
from lgsp_kit import edge
from lgsp_kit.tokens import bearer_claims, require_scope

bearer = HTTPBearer(
    auto_error=False, description="an access token from `POST /token` with scope lgsp:admin"
)


async def check_admin(request: Request) -> Claims:
    """An enabled consumer's verified token with the admin scope; else a ProblemError."""
    state = await gateway_state(request)
    claims = await bearer_claims(state.keyring.verifier, request.headers.get("authorization"))
    consumer = await state.proxy.consumer(claims.client_id)
    if consumer is None or not consumer.enabled:
        raise ConsumerDisabled
    require_scope(claims, ADMIN_SCOPE)
    return claims


async def require_admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Claims:
    """The route dependency: the result of `check_admin`, run at the edge when a body came."""
    claims: Claims = await edge.once(request, check_admin)
    return claims


AdminCaller = Annotated[Claims, Depends(require_admin)]

"""`/admin/consumers` and `/admin/signing-keys`: the LGSP's administration API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from gateway.audit.events import AdminAuditedRoute
from gateway.auth.dependencies import AdminCaller
from gateway.consumers import admin
from gateway.consumers.schemas import (
    ConsumerCreate,
    ConsumerCreated,
    ConsumerOut,
    ConsumerPage,
    NewSecret,
    RetiredSigningKey,
    SigningKeyOut,
    SigningKeys,
)
from gateway.state import GatewayDep
from lgsp_kit.responses import problem_responses
from lgsp_kit.sessions import APIRouter, ReadSession, WriteSession

router = APIRouter(prefix="/admin", tags=["administration"], route_class=AdminAuditedRoute)
ClientId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
# Key ids are 16 lowercase hex digits (`secrets.token_hex(8)`).
KeyId = Annotated[
    str,
    Path(min_length=16, max_length=16, pattern=r"^[0-9a-f]{16}$", examples=["3f9c2a7be1d04c58"]),
]


@router.post(
    "/consumers",
    status_code=201,
    response_model=ConsumerCreated,
    summary="Register a consumer",
    responses=problem_responses(401, 403, 422),
)
def create_consumer(
    _admin: AdminCaller, session: WriteSession, gateway: GatewayDep, body: ConsumerCreate
) -> ConsumerCreated:
    """Đăng ký ứng dụng khai thác: the answer carries the client secret, shown this once."""
    return admin.register(session, gateway, body)


@router.get(
    "/consumers",
    response_model=ConsumerPage,
    summary="List consumers",
    responses=problem_responses(401, 403, 422),
)
def list_consumers(
    _admin: AdminCaller,
    session: ReadSession,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ConsumerPage:
    """Registered consumers in registration order, with cursor paging."""
    return admin.page(session, cursor, limit)


@router.get(
    "/consumers/{client_id}",
    response_model=ConsumerOut,
    summary="Get a consumer",
    responses=problem_responses(401, 403, 404, 422),
)
def get_consumer(_admin: AdminCaller, session: ReadSession, client_id: ClientId) -> ConsumerOut:
    """One consumer, its subscriptions, scopes, tier and state."""
    return admin.describe(session, client_id)


@router.post(
    "/consumers/{client_id}/disable",
    response_model=ConsumerOut,
    summary="Disable a consumer",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def disable_consumer(
    caller: AdminCaller, session: WriteSession, gateway: GatewayDep, client_id: ClientId
) -> ConsumerOut:
    """Tạm dừng: no new token, and its tokens stop working within the consumer cache time."""
    return admin.switch(session, gateway, client_id, False, caller.client_id)


@router.post(
    "/consumers/{client_id}/enable",
    response_model=ConsumerOut,
    summary="Enable a consumer",
    responses=problem_responses(401, 403, 404, 422),
)
def enable_consumer(
    caller: AdminCaller, session: WriteSession, gateway: GatewayDep, client_id: ClientId
) -> ConsumerOut:
    """Kích hoạt lại a disabled consumer."""
    return admin.switch(session, gateway, client_id, True, caller.client_id)


@router.post(
    "/consumers/{client_id}/rotate-secret",
    response_model=NewSecret,
    summary="Rotate a consumer's secret",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def rotate_secret(_admin: AdminCaller, session: WriteSession, client_id: ClientId) -> NewSecret:
    """Đổi khóa bí mật: a new secret, shown once; tokens already issued keep working."""
    return admin.new_secret(session, client_id)


@router.get(
    "/signing-keys",
    response_model=SigningKeys,
    summary="List token signing keys",
    responses=problem_responses(401, 403),
)
def list_signing_keys(
    _admin: AdminCaller, session: ReadSession, gateway: GatewayDep
) -> SigningKeys:
    """Khóa ký token: every published key and which one signs."""
    return admin.keys(session, gateway)


@router.post(
    "/signing-keys/rotate",
    status_code=201,
    response_model=SigningKeyOut,
    summary="Rotate the token signing key",
    responses=problem_responses(401, 403),
)
def rotate_signing_key(
    _admin: AdminCaller, session: WriteSession, gateway: GatewayDep
) -> SigningKeyOut:
    """A new key signs from now on; older keys stay published so issued tokens keep working."""
    return admin.rotate_key(session, gateway)


@router.post(
    "/signing-keys/{kid}/retire",
    response_model=RetiredSigningKey,
    summary="Retire a token signing key",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def retire_signing_key(
    _admin: AdminCaller, session: WriteSession, gateway: GatewayDep, kid: KeyId
) -> RetiredSigningKey:
    """Thu hồi khóa ký: it leaves the JWKS and its tokens are refused; rotate first if it signs."""
    return admin.retire_key(session, gateway, kid)

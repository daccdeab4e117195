"""`/admin/consumers` and `/admin/signing-keys`: the LGSP's administration API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool

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
from lgsp_kit.app import RuntimeDep
from lgsp_kit.responses import problem_responses

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
async def create_consumer(
    runtime: RuntimeDep, _admin: AdminCaller, body: ConsumerCreate
) -> ConsumerCreated:
    """Đăng ký ứng dụng khai thác: the answer carries the client secret, shown this once."""
    return await run_in_threadpool(admin.register, runtime, body)


@router.get(
    "/consumers",
    response_model=ConsumerPage,
    summary="List consumers",
    responses=problem_responses(401, 403, 422),
)
async def list_consumers(
    runtime: RuntimeDep,
    _admin: AdminCaller,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ConsumerPage:
    """Registered consumers in registration order, with cursor paging."""
    return await run_in_threadpool(admin.page, runtime, cursor, limit)


@router.get(
    "/consumers/{client_id}",
    response_model=ConsumerOut,
    summary="Get a consumer",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_consumer(
    runtime: RuntimeDep, _admin: AdminCaller, client_id: ClientId
) -> ConsumerOut:
    """One consumer, its subscriptions, scopes, tier and state."""
    return await run_in_threadpool(admin.describe, runtime, client_id)


@router.post(
    "/consumers/{client_id}/disable",
    response_model=ConsumerOut,
    summary="Disable a consumer",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def disable_consumer(
    runtime: RuntimeDep, caller: AdminCaller, client_id: ClientId
) -> ConsumerOut:
    """Tạm dừng: no new token, and its tokens stop working within the consumer cache time."""
    return await run_in_threadpool(admin.switch, runtime, client_id, False, caller.client_id)


@router.post(
    "/consumers/{client_id}/enable",
    response_model=ConsumerOut,
    summary="Enable a consumer",
    responses=problem_responses(401, 403, 404, 422),
)
async def enable_consumer(
    runtime: RuntimeDep, caller: AdminCaller, client_id: ClientId
) -> ConsumerOut:
    """Kích hoạt lại a disabled consumer."""
    return await run_in_threadpool(admin.switch, runtime, client_id, True, caller.client_id)


@router.post(
    "/consumers/{client_id}/rotate-secret",
    response_model=NewSecret,
    summary="Rotate a consumer's secret",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def rotate_secret(runtime: RuntimeDep, _admin: AdminCaller, client_id: ClientId) -> NewSecret:
    """Đổi khóa bí mật: a new secret, shown once; tokens already issued keep working."""
    return await run_in_threadpool(admin.new_secret, runtime, client_id)


@router.get(
    "/signing-keys",
    response_model=SigningKeys,
    summary="List token signing keys",
    responses=problem_responses(401, 403),
)
async def list_signing_keys(runtime: RuntimeDep, _admin: AdminCaller) -> SigningKeys:
    """Khóa ký token: every published key and which one signs."""
    return await run_in_threadpool(admin.keys, runtime)


@router.post(
    "/signing-keys/rotate",
    status_code=201,
    response_model=SigningKeyOut,
    summary="Rotate the token signing key",
    responses=problem_responses(401, 403),
)
async def rotate_signing_key(runtime: RuntimeDep, _admin: AdminCaller) -> SigningKeyOut:
    """A new key signs from now on; older keys stay published so issued tokens keep working."""
    return await run_in_threadpool(admin.rotate_key, runtime)


@router.post(
    "/signing-keys/{kid}/retire",
    response_model=RetiredSigningKey,
    summary="Retire a token signing key",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def retire_signing_key(
    runtime: RuntimeDep, _admin: AdminCaller, kid: KeyId
) -> RetiredSigningKey:
    """Thu hồi khóa ký: it leaves the JWKS and its tokens are refused; rotate first if it signs."""
    return await run_in_threadpool(admin.retire_key, runtime, kid)

"""Fault control for testers: make the national side fail so the province's retries show.

`PUT /admin/fault` (Bearer `NATIONAL_ADMIN_SECRET`) sets one fault, `DELETE /admin/fault`
clears it, `GET /admin/fault` shows it. A fault applies to the calls the province makes (the
`targets`: `dvcqg`, `ngsp`, `axis`; `/token` and the testers' read views are never touched):

- `error`: the call is answered at once without doing anything, in the service's own shape:
  DVCQG and the population database `{error_code, message}` (HTTP 200, as the portal answers),
  business registration `{Status: 0, Message}`, the axis 502 problem+json;
- `slow`: the call waits `delay_seconds`, then is served normally;
- `down`: 503 with `Retry-After`, nothing done (as a gateway in front of a stopped system).

It lasts until `duration_seconds` have passed, or for the next `calls` calls, or until cleared.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import anyio
from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from lgsp_kit.db import Database
from lgsp_kit.errors import NotFound, ProblemError, problem_response
from lgsp_kit.responses import Answered, problem_responses
from lgsp_kit.sessions import APIRouter, WriteSession
from services.national.dependencies import NationalRuntime, SettingsDep
from services.national.models import Fault

Target = Literal["dvcqg", "ngsp", "axis"]
TARGETS: tuple[Target, ...] = ("dvcqg", "ngsp", "axis")


class FaultIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"mode": "down", "targets": ["dvcqg"], "duration_seconds": 60},
                {"mode": "error", "error_code": "-9", "calls": 3},
                {"mode": "slow", "delay_seconds": 5, "targets": ["ngsp"]},
            ]
        },
    )

    mode: Literal["error", "slow", "down"]
    targets: list[Target] = Field(default_factory=lambda: list(TARGETS), min_length=1)
    error_code: str = Field(
        default="-9", pattern=r"^-?[1-9][0-9]{0,5}$", description="never 0 (that is success)"
    )
    message: str = Field(
        default="Hệ thống đang bận, vui lòng thử lại sau", min_length=1, max_length=500
    )
    delay_seconds: float = Field(default=0.0, ge=0, le=120)
    duration_seconds: float | None = Field(default=None, gt=0, le=86400)
    calls: int | None = Field(default=None, ge=1, le=100000)

    @model_validator(mode="after")
    def _slow_has_delay(self) -> FaultIn:
        if self.mode == "slow" and self.delay_seconds <= 0:
            raise ValueError("a slow fault needs delay_seconds > 0")
        return self


class FaultOut(BaseModel):
    mode: str
    targets: list[str]
    error_code: str
    message: str
    delay_seconds: float
    remaining_calls: int | None
    until: datetime | None
    set_at: datetime


def _out(row: Fault) -> FaultOut:
    return FaultOut(
        mode=row.mode,
        targets=row.targets.split(),
        error_code=row.error_code,
        message=row.message,
        delay_seconds=row.delay_seconds,
        remaining_calls=row.remaining_calls,
        until=row.until,
        set_at=row.set_at,
    )


async def admin(
    settings: SettingsDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> None:
    scheme, _, secret = (authorization or "").partition(" ")
    expected = settings.admin_secret.get_secret_value()
    if scheme.lower() != "bearer" or not hmac.compare_digest(secret.strip(), expected):
        raise ProblemError(
            "give Authorization: Bearer <NATIONAL_ADMIN_SECRET>",
            status=401,
            code="unauthorized",
            headers={"WWW-Authenticate": 'Bearer realm="national-admin"'},
        )


router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(admin)])


@router.put(
    "/fault",
    response_model=FaultOut,
    summary="Make the national side fail",
    responses=problem_responses(401, 422),
)
def set_fault(body: FaultIn, session: WriteSession) -> FaultOut:
    """Replaces the current fault (see the module's description)."""
    now = datetime.now(UTC)
    row = session.get(Fault, 1) or Fault(
        id=1, mode=body.mode, targets="", error_code="", message="", set_at=now
    )
    row.mode = body.mode
    row.targets = " ".join(sorted(set(body.targets)))
    row.error_code = body.error_code
    row.message = body.message
    row.delay_seconds = body.delay_seconds
    row.remaining_calls = body.calls
    row.until = now + timedelta(seconds=body.duration_seconds) if body.duration_seconds else None
    row.set_at = now
    session.add(row)
    session.flush()
    return _out(row)


@router.get(
    "/fault",
    response_model=FaultOut,
    summary="The fault in force",
    responses=problem_responses(401, 404),
)
def get_fault(session: WriteSession) -> FaultOut:
    """404 `no_fault` when the national side works normally (an expired fault is gone)."""
    row = session.get(Fault, 1)
    if row is None or _spent(row, datetime.now(UTC)):
        raise NotFound("no fault is set", code="no_fault")
    return _out(row)


@router.delete(
    "/fault",
    status_code=204,
    summary="Back to normal",
    responses=problem_responses(401),
)
def clear_fault(session: WriteSession) -> None:
    row = session.get(Fault, 1)
    if row is not None:
        session.delete(row)


def _spent(row: Fault, now: datetime) -> bool:
    if row.until is not None and row.until <= now:
        return True
    return row.remaining_calls is not None and row.remaining_calls <= 0


def in_force(db: Database, target: str) -> Fault | None:
    """The fault that applies to `target` now (without counting a call against it)."""
    with db.reading() as session:
        row = session.get(Fault, 1)
        if row is None or target not in row.targets.split() or _spent(row, datetime.now(UTC)):
            return None
        session.expunge(row)
        return row


def _take(runtime: NationalRuntime, target: str) -> Fault | None:
    """The fault that applies to this call, counting the call against it."""
    now = datetime.now(UTC)
    row = in_force(runtime.db, target)
    if row is None:
        return None
    if row.remaining_calls is None:
        return row
    with runtime.db.session() as session:
        live = session.get(Fault, 1)
        if live is None or _spent(live, now) or target not in live.targets.split():
            return None
        live.remaining_calls = (live.remaining_calls or 0) - 1
        session.add(live)
        session.flush()
        session.expunge(live)
        return live


ErrorAnswer = Callable[[Fault], JSONResponse]


def dvcqg_error(fault: Fault) -> JSONResponse:
    return JSONResponse({"error_code": fault.error_code, "message": fault.message})


def checked(target: Target, error: ErrorAnswer | None) -> Callable[..., Awaitable[None]]:
    """A route dependency applying the fault in force to a call of `target`."""

    async def apply_fault(request: Request, runtime: NationalRuntime) -> None:
        fault = await anyio.to_thread.run_sync(_take, runtime, target)
        if fault is None:
            return
        if fault.mode == "slow":
            await asyncio.sleep(fault.delay_seconds)
            return
        if fault.mode == "error" and error is not None:
            raise Answered(error(fault))
        if fault.mode == "error":
            raise Answered(
                problem_response(
                    502,
                    "national_error",
                    fault.message,
                    instance=request.url.path,
                    extra={"error_code": fault.error_code},
                )
            )
        raise Answered(
            problem_response(
                503,
                "national_unavailable",
                "the national system is down (a fault set for testing)",
                instance=request.url.path,
                headers={"Retry-After": "5"},
            )
        )

    return apply_fault

"""The gateway's own events in the audit chain: `/token` and every change under `/admin`.

A router made with `route_class=TokenAuditedRoute` or `AdminAuditedRoute` records each call to
its POST/PUT/PATCH/DELETE routes, success or failure, into the same log (and hash chain) as the
proxied calls; the routes themselves are unchanged. What a record holds:

- `/token`: api `gateway:token`, the client id the caller presented (form field or HTTP Basic
  user; never the secret, never the token), the status and `reason`: `issued`, or the problem's
  code (`invalid_client`, `invalid_scope`, `unsupported_grant_type`, `validation_failed`, ...).
- `/admin` changes: api `gateway:admin`, `client_id` and `organ_code` of the caller's verified
  token (null when it had none that verifies), method and route template (what), `target` (the
  consumer's client id or the key id acted on, from the path or, for a creation, the answer)
  and `status` with `reason` `ok` or the problem's code.
"""

from __future__ import annotations

import abc
import base64
import binascii
import json
import time
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from gateway.fastpath.audit import CallRecord, now_utc
from gateway.state import GatewayState, gateway_state_or_none
from lgsp_kit.errors import ProblemError
from lgsp_kit.requestid import current_request_id
from lgsp_kit.sessions import UnitRoute
from lgsp_kit.tokens import bearer_token

CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TOKEN_API = "gateway:token"
ADMIN_API = "gateway:admin"
# Fields of an answer that name what a creation made (no other field is read).
TARGET_FIELDS = ("client_id", "kid")
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def outcome(exc: BaseException) -> tuple[int, str]:
    """The status and code the caller gets for an exception, as the kit's handlers tell it."""
    if isinstance(exc, ProblemError):
        return exc.status, exc.code
    if isinstance(exc, RequestValidationError):
        return 422, "validation_failed"
    if isinstance(exc, HTTPException):
        return exc.status_code, f"http_{exc.status_code}"
    return 500, "internal_error"


class _AuditedRoute(UnitRoute):
    api = ""

    def get_route_handler(self) -> Handler:
        handler: Handler = super().get_route_handler()
        if not (self.methods or set()) & CHANGES:
            return handler
        route = self

        async def audited(request: Request) -> Response:
            started = time.perf_counter()
            at = now_utc()
            try:
                response = await handler(request)
            except BaseException as exc:
                status, reason = outcome(exc)
                route.record(request, None, status, reason, at, started)
                raise
            route.record(request, response, response.status_code, None, at, started)
            return response

        return audited

    def record(
        self,
        request: Request,
        response: Response | None,
        status: int,
        reason: str | None,
        at: Any,
        started: float,
    ) -> None:
        state = gateway_state_or_none(request)
        if state is None or state.audit is None:
            return
        audit = state.audit
        rec = CallRecord(
            api=self.api,
            method=request.method,
            path=request.url.path,
            request_id=current_request_id() or "-",
            at=at,
            route=self.path,
            status=status,
            request_bytes=_content_length(request),
            response_bytes=len(getattr(response, "body", b"")),
            total_ms=(time.perf_counter() - started) * 1000,
        )
        self.describe(rec, request, response, state, reason)
        audit.record(rec)

    @abc.abstractmethod
    def describe(
        self,
        rec: CallRecord,
        request: Request,
        response: Response | None,
        state: GatewayState,
        reason: str | None,
    ) -> None:
        """Fill in who, what and the outcome for this kind of route."""


class TokenAuditedRoute(_AuditedRoute):
    """`POST /token`: who asked (the client id presented) and the outcome; no secret, no token."""

    api = TOKEN_API

    def describe(
        self,
        rec: CallRecord,
        request: Request,
        response: Response | None,
        state: GatewayState,
        reason: str | None,
    ) -> None:
        rec.client_id = presented_client_id(request)
        rec.reason = reason or ("issued" if rec.status < 400 else f"http_{rec.status}")


class AdminAuditedRoute(_AuditedRoute):
    """A change under `/admin`: who (the verified caller), what, target, outcome."""

    api = ADMIN_API

    def describe(
        self,
        rec: CallRecord,
        request: Request,
        response: Response | None,
        state: GatewayState,
        reason: str | None,
    ) -> None:
        claims = _caller(request, state)
        if claims is not None:
            rec.client_id, rec.organ_code = claims
        rec.target = _target(request, response)
        rec.reason = reason or ("ok" if rec.status < 400 else f"http_{rec.status}")


def presented_client_id(request: Request) -> str | None:
    """The client id a token request presented: the HTTP Basic user, else the form field
    (already parsed by the route; read from Starlette's cache, never parsed here)."""
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, _secret = decoded.partition(":")
        return user if sep and user else None
    form = getattr(request, "_form", None)
    value = form.get("client_id") if form is not None else None
    return value if isinstance(value, str) and value else None


def _caller(request: Request, state: GatewayState) -> tuple[str, str] | None:
    """The client id and organ of the caller's bearer token when it verifies."""
    try:
        claims = state.keyring.verify(bearer_token(request.headers.get("authorization")))
    except Exception:
        return None
    return str(claims.client_id), str(claims.organ)


def _target(request: Request, response: Response | None) -> str | None:
    """The path's parameters (a consumer's client id, a key id), else for a creation what the
    answer names (its `client_id` or `kid`; nothing else of the answer is kept)."""
    if request.path_params:
        return " ".join(str(v) for v in request.path_params.values())
    if response is None or response.status_code >= 400:
        return None
    try:
        body = json.loads(bytes(getattr(response, "body", b"")))
    except (ValueError, TypeError):
        return None
    if not isinstance(body, dict):
        return None
    for name in TARGET_FIELDS:
        value = body.get(name)
        if isinstance(value, str):
            return value
    return None


def _content_length(request: Request) -> int:
    try:
        return max(0, int(request.headers.get("content-length", "0")))
    except ValueError:
        return 0

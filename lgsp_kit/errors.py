"""RFC 9457 problem+json errors, one domain error base and the handlers that write them.

`render_problem` is the one writer of a problem answer's bytes: the ASGI handlers below (through
`problem_response`), the gateway's raw proxy and the guarded HTTP protocol (`lgsp_kit.server`)
all send what it makes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from lgsp_kit import db as dbmod
from lgsp_kit.logtext import printable
from lgsp_kit.requestid import current_request_id

PROBLEM_JSON = "application/problem+json"
_CONTENT_TYPE = (b"content-type", PROBLEM_JSON.encode())
log = logging.getLogger("lgsp.errors")


class ProblemError(Exception):
    """A domain error: its status and stable `code` reach the caller as problem+json."""

    status: int = 400
    code: str = "bad_request"
    title: str | None = None

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        code: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        if title is not None:
            self.title = title
        self.headers = headers or {}
        self.extra = extra or {}


class NotFound(ProblemError):
    status = 404
    code = "not_found"


class Conflict(ProblemError):
    status = 409
    code = "conflict"


class Unprocessable(ProblemError):
    status = 422
    code = "validation_failed"


def invalid(
    field: str, message: str, *, detail: str, code: str = "validation_failed"
) -> Unprocessable:
    """A 422 naming the one input at fault in `errors`, the shape request validation uses."""
    errors = [{"field": field, "message": message}]
    return Unprocessable(detail, code=code, extra={"errors": errors})


def problem_body(
    status: int,
    code: str,
    detail: str,
    *,
    instance: str = "",
    title: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://lgsp.example/problems/{code.replace('_', '-')}",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
        "request_id": current_request_id(),
    }
    if extra:
        body.update(extra)
    return body


RawHeaders = list[tuple[bytes, bytes]]


def render_problem(
    status: int,
    code: str,
    detail: str,
    *,
    instance: str = "",
    title: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[bytes, RawHeaders]:
    """A problem answer's body and header lines (content type and length first, then
    `headers`), as every layer sends them."""
    body = orjson.dumps(
        problem_body(status, code, detail, instance=instance, title=title, extra=extra)
    )
    raw = [_CONTENT_TYPE, (b"content-length", b"%d" % len(body))]
    if headers:
        raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    return body, raw


def render_error(exc: ProblemError, *, instance: str = "") -> tuple[bytes, RawHeaders]:
    """`render_problem` of a domain error."""
    return render_problem(
        exc.status,
        exc.code,
        exc.detail,
        instance=instance,
        title=exc.title,
        headers=exc.headers,
        extra=exc.extra,
    )


class ProblemResponse(Response):
    """An ASGI answer carrying what `render_problem` made."""

    media_type = PROBLEM_JSON

    def __init__(self, status: int, rendered: tuple[bytes, RawHeaders]) -> None:
        body, raw = rendered
        super().__init__(body, status_code=status)
        self.raw_headers = list(raw)


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    instance: str = "",
    title: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    return ProblemResponse(
        status,
        render_problem(
            status, code, detail, instance=instance, title=title, headers=headers, extra=extra
        ),
    )


def _field_path(loc: Sequence[Any]) -> str:
    """`applicant.name`; empty for a rule on the whole body (a cross-field rule), which no
    field called `body` would explain."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    if not parts and len(loc) == 1 and loc[0] == "body":
        return ""
    return ".".join(parts) or ".".join(str(p) for p in loc)


def validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {"field": _field_path(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type")}
        for e in errors
    ]


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


def code_for_status(status: int) -> str:
    return _STATUS_CODES.get(status, f"http_{status}")


BODY_PARSE_ERROR = "There was an error parsing the body"


def allowed_methods(request: Request) -> str:
    """Every method of every route on the path: Starlette names only the first route's."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "\x00"})
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProblemError)
        return ProblemResponse(exc.status, render_error(exc, instance=request.url.path))

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = validation_errors(exc.errors())
        fields = ", ".join(sorted({e["field"] for e in errors}))
        return problem_response(
            422,
            "validation_failed",
            f"invalid input: {fields}",
            instance=request.url.path,
            title="Invalid input",
            extra={"errors": errors},
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        headers = dict(exc.headers or {})
        if exc.status_code == 400 and detail == BODY_PARSE_ERROR:
            # A body that is not text in its declared media type (undecodable bytes) is invalid
            # input like malformed JSON, which FastAPI already answers with 422.
            return problem_response(
                422,
                "validation_failed",
                "invalid input: body (not readable as its content type)",
                instance=request.url.path,
                title="Invalid input",
                extra={"errors": [{"field": "body", "message": detail, "type": "body_unreadable"}]},
            )
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return problem_response(
            exc.status_code,
            code_for_status(exc.status_code),
            detail,
            instance=request.url.path,
            headers=headers,
        )

    async def on_data_error(request: Request, exc: Exception) -> Response:
        # A value that passed validation but that the database refuses to store or compare
        # (PostgreSQL: a NUL character in text, a number out of its column's range): bad
        # input, and the transaction it was in is rolled back, so nothing changed.
        log.info(
            "database refused a value on %s %s: %s",
            request.method,
            printable(request.url.path),
            printable(exc),
        )
        return problem_response(
            422,
            "validation_failed",
            "invalid input: a value the database cannot hold (a NUL character, a number out "
            "of range)",
            instance=request.url.path,
            title="Invalid input",
            extra={"errors": [{"field": "", "message": "value refused", "type": "data_error"}]},
        )

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, printable(request.url.path))
        return problem_response(
            500, "internal_error", "an unexpected error occurred", instance=request.url.path
        )

    async def on_database_error(request: Request, exc: Exception) -> Response:
        # Unreachable or restarting: 503 with Retry-After, not 500. The unit of work was rolled
        # back (or, if the commit itself was cut, a retry with the same Idempotency-Key replays
        # it), so a client may simply retry. SQLite's own operational errors (a missing table,
        # a bad statement) are bugs, still 500, except "locked".
        if not dbmod.unavailable(exc):
            return await on_unexpected(request, exc)
        cause = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        log.warning(
            "database unavailable on %s %s: %s",
            request.method,
            printable(request.url.path),
            printable(cause),
        )
        return problem_response(
            503,
            "database_unavailable",
            "the database is unavailable for the moment; retry",
            instance=request.url.path,
            headers={"Retry-After": "1"},
        )

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(DataError, on_data_error)
    for lost in dbmod.UNAVAILABLE_ERRORS:
        app.add_exception_handler(lost, on_database_error)
    app.add_exception_handler(Exception, on_unexpected)

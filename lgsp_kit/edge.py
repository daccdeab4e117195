"""The edge of every app: body limits and the caller's credentials, before the body is read.

FastAPI reads and validates a request's body before it runs the route's dependencies, so a
caller without a token could send a body of any size and have it read, joined and parsed (a
300 MB body cost a process 600 MB) before being told 401. `EdgeGuard`, a pure ASGI layer
inside each app, changes the order:

- body limits by route class (the longest matching path prefix; the app's `max_body_bytes`
  otherwise): a declared `Content-Length` over the limit is answered 413 at once, without
  reading; a chunked or under-declared body is counted as it arrives and refused with 413 as
  soon as the running total passes the limit. Either way the connection is closed after the
  answer (`Connection: close`), so the rest of the body is not read either;
- the credential check of a protected prefix (`Check`: request head → claims, or a
  `ProblemError`) runs when the app first asks for the body, so a caller without a valid token
  (or, for the gateway's `/admin`, without the admin scope) is refused 401/403 before a byte of
  the body is taken. The route's own dependency (`lgsp_kit.auth.authorise`, the gateway's
  `require_admin`) calls the same check through `once`, which answers from the result kept on
  the request: one check, one verification per request.

A route that reads no body (a GET) meets its check in its dependency, as before; a path that
matches no route is still 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lgsp_kit.errors import ProblemError, problem_response
from lgsp_kit.scope import header

Check = Callable[[Request], Awaitable[Any]]
_RESULTS = "lgsp.checks"
CLOSE = {"Connection": "close"}


async def once(request: Request, check: Check) -> Any:
    """The result of `check` for this request: computed the first time, then kept."""
    state = request.scope.setdefault("state", {})
    results: dict[Check, Any] = state.setdefault(_RESULTS, {})
    if check in results:
        return results[check]
    result = await check(request)
    results[check] = result
    return result


class EdgeRefusal(ProblemError, StarletteHTTPException):  # type: ignore[misc]
    """A refusal raised while the app reads the body. It is an `HTTPException` too because
    FastAPI turns any other exception met while reading the body into 400 ("error parsing the
    body"); the problem+json handler of `ProblemError` still writes it (first in the MRO)."""

    def __init__(self, problem: ProblemError) -> None:
        ProblemError.__init__(
            self,
            problem.detail,
            status=problem.status,
            code=problem.code,
            title=problem.title,
            headers={**problem.headers, **CLOSE},
            extra=problem.extra,
        )
        self.status_code = problem.status


def too_large(limit: int) -> ProblemError:
    return ProblemError(
        f"request body over {limit} bytes", status=413, code="body_too_large", headers=CLOSE
    )


def _covers(prefix: str, path: str) -> bool:
    """`/admin` covers `/admin` and `/admin/...`, not `/administrator`; `/` covers all."""
    if prefix.endswith("/"):
        return path.startswith(prefix)
    return path == prefix or path.startswith(prefix + "/")


def _longest(rules: Mapping[str, Any], path: str) -> Any:
    best: str | None = None
    for prefix in rules:
        if _covers(prefix, path) and (best is None or len(prefix) > len(best)):
            best = prefix
    return None if best is None else rules[best]


class EdgeGuard:
    """Body limits and early credential checks by path prefix (see the module's docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        default_limit: int,
        limits: Mapping[str, int] | None = None,
        checks: Mapping[str, Check] | None = None,
    ) -> None:
        self.app = app
        self.default_limit = default_limit
        self.limits = dict(limits or {})
        self.checks = dict(checks or {})

    def limit_for(self, path: str) -> int:
        limit = _longest(self.limits, path)
        return self.default_limit if limit is None else int(limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.limit_for(path)
        check: Check | None = _longest(self.checks, path)
        declared: int | None = None
        length = header(scope, b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = None
        if declared is not None and declared > limit:
            problem = too_large(limit)
            response = problem_response(
                problem.status,
                problem.code,
                problem.detail,
                instance=path,
                headers=problem.headers,
            )
            await response(scope, receive, send)
            return
        received = 0
        first = True

        async def guarded_receive() -> Message:
            nonlocal received, first
            if first:
                first = False
                if check is not None:
                    await self._check_early(scope, check)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise EdgeRefusal(too_large(limit))
            return message

        await self.app(scope, guarded_receive, send)

    async def _check_early(self, scope: Scope, check: Check) -> None:
        """The route's credential check, before its body is read: a refusal ends the request;
        any other failure (a database restarting) is left to the route's own dependency."""
        try:
            await once(Request(scope), check)
        except ProblemError as exc:
            raise EdgeRefusal(exc) from exc
        except Exception:  # the dependency runs the check again and reports the failure
            return

"""The request's unit of work: `ReadSession` and `WriteSession`, FastAPI dependencies, and the
route class that runs them (`UnitRoute`, used by the kit's `APIRouter`).

An endpoint is a plain `def` that takes one of them and calls one service function with the
session. The route runs the whole unit in one pool thread: take SQLite's write lock (a write),
run the endpoint, commit (or roll back when it raised), close, release. A write session commits
once, after the endpoint returns, before the answer is sent, so a failed commit is the answer
and a client that got its 2xx reads what it wrote. A read session is a snapshot on the reader
engine that never takes the write lock and commits nothing.

One thread for the whole unit is what makes writes fast: the write lock is held only while the
unit's own statements run, never across a trip back to the event loop, and a thread waiting
for it is woken by the one releasing it, not by the loop. The holder needs no second thread,
so threads waiting for the lock can never starve it.

A read on SQLite runs in the event loop's own thread instead: its statements read a local file
that is in the page cache, which costs less than the trip to a pool thread and back (a one-row
list: about 15 µs of SQLite against some 250 µs of CPU for the hop under 32 connections, the
two threads trading the GIL). So that one long read (a report, a filter that scans) cannot hold
up the loop, SQLite's progress handler stops the read's statements once the read has run
`LOOP_READ_BUDGET` seconds, and the whole read runs again in a pool thread, as every read did
before; a read has no effect to undo. An endpoint whose own work is long after its reads (an
export) is marked `off_loop` and always runs in a pool thread. On PostgreSQL a read waits on
the network, so it keeps its pool thread.
"""

from __future__ import annotations

import functools
import inspect
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter as _FastAPIRouter
from fastapi import Depends, FastAPI, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session
from starlette.routing import BaseRoute

from lgsp_kit.db import Database
from lgsp_kit.reads import LOOP_DRIVER

# A check run in the unit's thread before the endpoint: an answer (an idempotent replay) skips
# the endpoint; `None` lets it run. Also run after an integrity conflict, the unit rolled back.
Guard = Callable[[Session], Response | None]

# How long a read may run in the event loop's thread before it moves to a pool thread, and how
# many SQLite virtual-machine steps apart the clock is looked at (some 10–50 µs of work).
LOOP_READ_BUDGET = 0.005
_STEPS_PER_LOOK = 1000

_UNITS = "lgsp.units"
_UNIT = "lgsp.unit"
_REQUEST_PARAM = "lgsp_unit_request_"


@dataclass(eq=False)
class Unit:
    """One session of one request, and what the route does with it."""

    db: Database
    session: Session
    write: bool
    guards: list[Guard] = field(default_factory=list)
    on_conflict: list[Guard] = field(default_factory=list)
    effects: list[Callable[[], object]] = field(default_factory=list)
    ran: bool = False


def unit_of(session: Session) -> Unit:
    """The unit of work a request's session belongs to."""
    unit: Unit = session.info[_UNIT]
    return unit


def after_commit(session: Session, effect: Callable[[], object]) -> None:
    """Run `effect` once the request's unit of work has committed, not before and not if it
    rolls back: an in-process change (a cache to drop, keys to reload) that must follow what
    was stored."""
    unit_of(session).effects.append(effect)


def _open(request: Request, db: Database, *, write: bool) -> Unit:
    # Building a session does no I/O: the transaction begins at its first statement, in the
    # unit's thread.
    engine = db.engine if write else db.reader
    session = Session(engine, expire_on_commit=False)
    unit = Unit(db, session, write)
    session.info[_UNIT] = unit
    request.scope.setdefault(_UNITS, []).append(unit)
    return unit


def _database(request: Request) -> Database:
    db: Database = request.app.state.runtime.db
    return db


async def _write_session(request: Request) -> AsyncIterator[Session]:
    unit = _open(request, _database(request), write=True)
    yield unit.session
    _check_ran(unit)


async def _read_session(request: Request) -> Session:
    # A plain coroutine, not a generator as `_write_session`: FastAPI's exit stack around a
    # generator cost a twentieth of a one-row read. Nothing is left to do after the endpoint:
    # the route closes the session, and a session whose endpoint never ran never took a
    # connection; `check_routes` refuses, at startup, a route that would not run it.
    return _open(request, _database(request), write=False).session


def _check_ran(unit: Unit) -> None:
    if unit.ran or not unit.session.in_transaction():
        return  # run by the route, or the endpoint never ran (a later dependency refused)
    unit.session.close()
    raise RuntimeError(
        "a ReadSession or WriteSession used outside a UnitRoute: declare the router with "
        "lgsp_kit.sessions.APIRouter"
    )


WriteSession = Annotated[Session, Depends(_write_session, scope="function")]
ReadSession = Annotated[Session, Depends(_read_session)]


def _finish(units: Sequence[Unit], run: Callable[[], Any]) -> Any:
    """Run the endpoint and its units' ends, in this (pool) thread."""
    with ExitStack() as held:
        for lock in {id(u.db): u.db.write_lock for u in units if u.write}.values():
            if lock is not None:
                held.enter_context(lock)
        try:
            result = _run_once_more_if_cut(units, run)
        except IntegrityError as conflict:
            result = _after_conflict(units, conflict)
        except BaseException:
            _roll_back(units)
            raise
        finally:
            for unit in units:
                unit.ran = True
                # A session that never began and holds nothing (its reads were prepared ones,
                # `lgsp_kit.reads`) has nothing to close, yet closing costs a thirtieth of a
                # one-row read.
                if unit.session.in_transaction() or len(unit.session.identity_map):
                    unit.session.close()
    for unit in units:
        for effect in unit.effects:
            effect()
        if unit.write:
            unit.db.committed()
    return result


def _run_once_more_if_cut(units: Sequence[Unit], run: Callable[[], Any]) -> Any:
    """Run the guards, the endpoint and the commits; once more, on fresh connections, when the
    database connection was found dead before any commit was sent (a server restart, a network
    cut: pooled connections are not pinged before each use, `lgsp_kit.db`). The server rolled
    the cut transaction back, so running the unit again cannot apply it twice. A cut during a
    commit is not retried: whether it committed is unknown (503; an Idempotency-Key replays)."""
    for attempt in (1, 2):
        committing = False
        try:
            result = _guarded(units)
            if result is None:
                result = run()
            committing = True
            for unit in units:
                if unit.write:
                    unit.session.commit()
            return result
        except DBAPIError as exc:
            if attempt == 2 or committing or not exc.connection_invalidated:
                raise
            _roll_back(units)
    raise AssertionError("unreachable")


def _guarded(units: Sequence[Unit]) -> Response | None:
    for unit in units:
        for guard in unit.guards:
            answer = guard(unit.session)
            if answer is not None:
                return answer
    return None


def _after_conflict(units: Sequence[Unit], conflict: IntegrityError) -> Response:
    """An integrity conflict (a concurrent request with the same key committed first): the
    answer a conflict guard finds, or the conflict itself."""
    _roll_back(units)
    for unit in units:
        for guard in unit.on_conflict:
            answer = guard(unit.session)
            if answer is not None:
                unit.effects.clear()
                return answer
    raise conflict


def _roll_back(units: Sequence[Unit]) -> None:
    for unit in units:
        unit.effects.clear()
        unit.session.rollback()


class LoopReader:
    """The one reader connection of the event loop's thread, for the reads it runs itself (one
    at a time: such a read never awaits), kept out of the pool so that a read takes no
    connection from it and gives none back (a fifth of a one-row read went there). SQLite's
    progress handler on it stops a read past its deadline."""

    def __init__(self, db: Database) -> None:
        self.thread = threading.get_ident()
        self.connection = db.reader.connect()
        self.deadline = float("inf")
        self.stopped = False
        self.driver: sqlite3.Connection = self.connection.connection.driver_connection  # type: ignore[assignment]
        self.driver.set_progress_handler(self._out_of_time, _STEPS_PER_LOOK)

    def _out_of_time(self) -> bool:
        if time.perf_counter() <= self.deadline:
            return False
        # Once: the rollback that follows must run to its end, or the connection would stay
        # in its transaction.
        self.stopped = True
        self.deadline = float("inf")
        return True

    @property
    def usable(self) -> bool:
        if self.connection.closed or self.connection.invalidated:
            return False
        return not self.driver.in_transaction

    def end(self) -> None:
        """End the snapshot a prepared read (`lgsp_kit.reads`) began on the driver, when the
        session, which never knew of it, has not ended it already."""
        if self.driver.in_transaction:
            self.driver.rollback()

    def close(self) -> None:
        self.connection.close()


def _loop_reader(db: Database) -> LoopReader | None:
    """The loop reader of `db` for this thread, made on first use; None on PostgreSQL (a read
    waits on the network there), or in another thread than the first to ask."""
    if not db.is_sqlite:
        return None
    reader: LoopReader | None = db.loop_reader
    if reader is None or not reader.usable:
        if reader is not None:
            reader.close()
        # Taking a first connection must not wait for the pool.
        if db.reader.pool.checkedin() == 0:  # type: ignore[attr-defined]
            return None
        reader = db.loop_reader = LoopReader(db)
    return reader if reader.thread == threading.get_ident() else None


def _read_in_loop(units: Sequence[Unit], run: Callable[[], Any]) -> tuple[bool, Any]:
    """Run a unit of reads on SQLite here, in the event loop's thread, within
    `LOOP_READ_BUDGET`: (True, its result; or its exception, raised), or (False, None) when it
    ran out of time and was stopped, or cannot run here (writes; PostgreSQL)."""
    if len(units) != 1 or units[0].write:
        return False, None
    unit = units[0]
    reader = _loop_reader(unit.db)
    if reader is None:
        return False, None
    reader.deadline = time.perf_counter() + LOOP_READ_BUDGET
    reader.stopped = False
    unit.session.bind = reader.connection
    unit.session.info[LOOP_DRIVER] = (reader.driver, reader.connection.dialect)
    try:
        result = _finish(units, run)
    except Exception:
        if not reader.stopped:
            raise
    finally:
        reader.deadline = float("inf")
        del unit.session.info[LOOP_DRIVER]
        reader.end()
    if not reader.stopped:
        return True, result
    # A fresh start, in a pool thread (a closed session begins again).
    unit.session.bind = unit.db.reader
    unit.ran = False
    return False, None


def off_loop(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a read endpoint whose own Python work may be long (writing a spreadsheet, a page, a
    package): it runs in a pool thread, never in the event loop's, however short its reads.
    The progress handler can stop a long read, not the work done after it."""
    endpoint.__lgsp_off_loop__ = True  # type: ignore[attr-defined]
    return endpoint


def in_one_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """A plain `def` endpoint as a coroutine that runs it, with its units of work, in one pool
    thread (FastAPI would also validate the answer in a second one)."""
    if inspect.iscoroutinefunction(endpoint):
        return endpoint
    in_loop = not getattr(endpoint, "__lgsp_off_loop__", False)
    signature = inspect.signature(endpoint, eval_str=True)
    hidden = inspect.Parameter(_REQUEST_PARAM, inspect.Parameter.KEYWORD_ONLY, annotation=Request)

    async def run(**values: Any) -> Any:
        request: Request = values.pop(_REQUEST_PARAM)
        call = functools.partial(endpoint, **values)
        units: list[Unit] = request.scope.get(_UNITS, [])
        if units:
            if in_loop:
                done, result = _read_in_loop(units, call)
                if done:
                    return result
            call = functools.partial(_finish, units, call)
        return await anyio.to_thread.run_sync(call)

    for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(run, attr, getattr(endpoint, attr))
    run.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), hidden]
    )
    return run


class UnitRoute(APIRoute):
    """A route whose plain `def` endpoint runs with its units of work in one thread."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, in_one_thread(endpoint), **kwargs)


class APIRouter(_FastAPIRouter):
    """FastAPI's router with `UnitRoute` as its routes' class."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", UnitRoute)
        super().__init__(**kwargs)


def _uses_unit(dependant: Dependant) -> bool:
    return dependant.call in (_write_session, _read_session) or any(
        _uses_unit(d) for d in dependant.dependencies
    )


def _routes(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    for route in routes:
        yield route
        included = getattr(route, "original_router", None)  # a router included in another
        if included is not None:
            yield from _routes(included.routes)


def check_routes(app: FastAPI) -> None:
    """Refuse, when the app starts, a route that takes a session without running it."""
    for route in _routes(app.routes):
        if (
            isinstance(route, APIRoute)
            and not isinstance(route, UnitRoute)
            and _uses_unit(route.dependant)
        ):
            raise RuntimeError(
                f"{route.path}: a route taking a ReadSession or WriteSession must be a "
                "UnitRoute (declare its router with lgsp_kit.sessions.APIRouter)"
            )


__all__ = [
    "APIRouter",
    "ReadSession",
    "UnitRoute",
    "WriteSession",
    "after_commit",
    "check_routes",
    "unit_of",
]

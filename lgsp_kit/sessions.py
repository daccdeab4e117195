"""The request's unit of work: `ReadSession` and `WriteSession`, FastAPI dependencies.

An endpoint is a plain `def` (FastAPI runs it in its thread pool) that takes one of them and
calls one service function with the session. A write session commits once, after the endpoint
returns, and rolls back when it raised; a read session is a snapshot on the reader engine that
never takes SQLite's write lock and commits nothing.

On SQLite, a process has one writer at a time (`Database.write_lock`). A request waits for its
turn on the event loop (an asyncio lock per database) rather than in a pool thread: a pool full
of threads waiting for the lock would leave none for the request that holds it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any
from weakref import WeakKeyDictionary

import anyio
from fastapi import Depends
from sqlmodel import Session

from lgsp_kit.app import RuntimeDep
from lgsp_kit.db import Database

# One request writer at a time per database, queued on the event loop (SQLite only).
_gates: WeakKeyDictionary[Database, asyncio.Lock] = WeakKeyDictionary()


def _gate(db: Database) -> asyncio.Lock:
    gate = _gates.get(db)
    if gate is None:
        gate = _gates[db] = asyncio.Lock()
    return gate


async def _off_loop(call: Callable[[], Any]) -> Any:
    """Run blocking database work in a thread, even when the request was cancelled, and
    without waiting for a free slot of the shared pool (as FastAPI runs a dependency's exit)."""
    with anyio.CancelScope(shield=True):
        return await anyio.to_thread.run_sync(call, limiter=anyio.CapacityLimiter(1))


async def _take(lock: threading.Lock) -> None:
    if not lock.acquire(blocking=False):
        # Held by a writer outside the request path (the outbox relay, a consumer's batch).
        await _off_loop(lock.acquire)


async def _write_session(runtime: RuntimeDep) -> AsyncIterator[Session]:
    db = runtime.db
    lock = db.write_lock
    if lock is None:
        async with _unit_of_work(db) as session:
            yield session
        return
    async with _gate(db):
        await _take(lock)
        try:
            async with _unit_of_work(db) as session:
                yield session
        finally:
            lock.release()


_EFFECTS = "lgsp_after_commit"


def after_commit(session: Session, effect: Callable[[], object]) -> None:
    """Run `effect` once the request's unit of work has committed, not before and not if it
    rolls back: an in-process change (a cache to drop, keys to reload) that must follow what
    was stored."""
    session.info.setdefault(_EFFECTS, []).append(effect)


def _commit(session: Session) -> None:
    try:
        session.commit()
        for effect in session.info.pop(_EFFECTS, ()):
            effect()
    finally:
        session.close()


def _roll_back(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


@asynccontextmanager
async def _unit_of_work(db: Database) -> AsyncIterator[Session]:
    # Building a session does no I/O: the transaction begins at its first statement, in the
    # endpoint's thread. Ending it is one more trip to a thread: commit (or roll back) and close.
    session = Session(db.engine, expire_on_commit=False)
    try:
        yield session
    except BaseException:
        await _off_loop(lambda: _roll_back(session))
        raise
    await _off_loop(lambda: _commit(session))
    db.committed()


async def _read_session(runtime: RuntimeDep) -> AsyncIterator[Session]:
    session = Session(runtime.db.reader)
    try:
        yield session
    finally:
        # Closing rolls back: a write made here is not kept.
        await _off_loop(session.close)


# `scope="function"`: the unit of work ends when the endpoint returns, before the answer is sent,
# so a failed commit is the answer and a client that got its 2xx reads what it wrote.
WriteSession = Annotated[Session, Depends(_write_session, scope="function")]
ReadSession = Annotated[Session, Depends(_read_session, scope="function")]

__all__ = ["ReadSession", "WriteSession", "after_commit"]

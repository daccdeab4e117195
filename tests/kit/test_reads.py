"""Prepared list reads (`lgsp_kit.reads`): the rows a session would read, in the unit of work."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    bindparam,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from lgsp_kit.db import UTCDateTime, make_engine
from lgsp_kit.reads import LOOP_DRIVER, Prepared, one_of, rows, shapes, spread
from lgsp_kit.sessions import APIRouter, ReadSession
from tests.conftest import serve
from tests.kit.apps import table_app

pytestmark = pytest.mark.anyio

metadata = MetaData()
thing = Table(
    "kit_thing",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("open", Boolean, nullable=False),
    Column("at", UTCDateTime, nullable=False),
)
AT = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)
THINGS = [
    {"id": i, "name": f"thing {i}", "kind": "ab"[i % 2], "open": i % 3 == 0, "at": AT}
    for i in range(1, 8)
]
# The threads each read ran in.
THREADS: list[int] = []


@shapes
def page(kinds: int | None, is_open: bool) -> Select[Any]:
    stmt = select(thing).where(thing.c.id > bindparam("after"))
    if kinds is not None:
        stmt = stmt.where(one_of(thing.c.kind, "kind", kinds))
    if is_open:
        stmt = stmt.where(thing.c.open == bindparam("open"))
    return stmt.order_by(thing.c.id).limit(bindparam("limit"))


def as_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "open": row.open, "at": row.at.isoformat()}


router = APIRouter(prefix="/v1")


@router.get("/things")
def list_things(
    session: ReadSession, after: int = 0, kinds: str | None = None, is_open: bool | None = None
) -> list[dict[str, Any]]:
    THREADS.append(threading.get_ident())
    values: dict[str, Any] = {"after": after, "limit": 3, "open": is_open}
    chosen = None if kinds is None else sorted(set(kinds))
    if chosen is not None:
        values.update(spread("kind", chosen))
    statement = page(None if chosen is None else len(chosen), is_open is not None)
    return [as_json(r) for r in rows(session, statement, values)]


@router.get("/things/mixed")
def mixed(session: ReadSession) -> dict[str, int]:
    """A prepared read, then a statement through the session, in one snapshot."""
    first = rows(session, page(None, False), {"after": 0, "limit": 100})
    counted = session.execute(select(func.count()).select_from(thing)).scalar_one()
    return {"prepared": len(first), "session": counted}


def _counting(upto: int) -> Select[Any]:
    n = select(literal(1).label("i")).cte("n", recursive=True)
    n = n.union_all(select(n.c.i + 1).where(n.c.i < bindparam("upto")))
    return select(func.count().label("count")).select_from(n)


LONG = Prepared(_counting(0))


@router.get("/things/long")
def long_read(session: ReadSession) -> dict[str, int]:
    THREADS.append(threading.get_ident())
    (found,) = rows(session, LONG, {"upto": 3_000_000})
    return {"count": found.count}


@asynccontextmanager
async def running(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[FastAPI, Any]]:
    app = table_app(
        tmp_path, database_url, [router], metadata, lambda s: s.execute(insert(thing), THINGS)
    )
    async with serve(app) as client:
        yield app, client


async def get(client: httpx.AsyncClient, path: str) -> Any:
    resp = await client.get(path)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_a_prepared_read_gives_the_rows_of_each_shape(
    tmp_path: Path, database_url: str
) -> None:
    at = "2024-03-01T02:00:00+00:00"
    async with running(tmp_path, database_url) as (app, client):
        for _ in range(2):  # the first may find no pooled connection and run in a pool thread
            first = await get(client, "/v1/things")
        assert first == [{"id": i, "open": i % 3 == 0, "at": at} for i in (1, 2, 3)]
        assert [r["id"] for r in await get(client, "/v1/things?after=3")] == [4, 5, 6]
        assert [r["id"] for r in await get(client, "/v1/things?kinds=a")] == [2, 4, 6]
        assert [r["id"] for r in await get(client, "/v1/things?kinds=ab&after=5")] == [6, 7]
        assert await get(client, "/v1/things?kinds=") == []  # no kind: no row
        assert [r["id"] for r in await get(client, "/v1/things?is_open=true")] == [3, 6]
        if app.state.runtime.db.is_sqlite:
            assert THREADS[-1] == threading.get_ident()  # the event loop's own read
            # The unit ended the snapshot the prepared read began.
            assert not app.state.runtime.db.loop_reader.driver.in_transaction


async def test_a_session_statement_joins_the_prepared_reads_snapshot(
    tmp_path: Path, database_url: str
) -> None:
    async with running(tmp_path, database_url) as (app, client):
        for _ in range(2):
            assert await get(client, "/v1/things/mixed") == {"prepared": 7, "session": 7}
        if app.state.runtime.db.is_sqlite:
            assert not app.state.runtime.db.loop_reader.driver.in_transaction


async def test_a_long_prepared_read_moves_to_a_pool_thread(tmp_path: Path) -> None:
    THREADS.clear()
    async with running(tmp_path, "") as (_app, client):
        await get(client, "/v1/things")  # a pooled connection for the loop to take
        assert await get(client, "/v1/things/long") == {"count": 3_000_000}
        loop_thread = threading.get_ident()
        first, second = THREADS[-2:]
        assert first == loop_thread and second != loop_thread
        await get(client, "/v1/things")
        assert THREADS[-1] == loop_thread


def test_a_driver_error_is_sqlalchemys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}", immediate=False)
    driver = sqlite3.connect(tmp_path / "empty.db")
    with Session(engine) as session:
        session.info[LOOP_DRIVER] = (driver, engine.dialect)
        with pytest.raises(OperationalError, match="no such table"):
            rows(session, page(None, False), {"after": 0, "limit": 1})
    driver.close()
    engine.dispose()

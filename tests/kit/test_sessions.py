"""The request's unit of work (`ReadSession`, `WriteSession`, `Idempotent`) and `LocalTime`."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import anyio
import httpx
import pytest
from fastapi import FastAPI, Response
from pydantic import BaseModel
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, text

from lgsp_kit.errors import Conflict
from lgsp_kit.fields import LocalTime
from lgsp_kit.idempotency import Idempotency, define_idempotency, idempotent
from lgsp_kit.sessions import APIRouter, ReadSession, WriteSession, off_loop
from tests.conftest import serve
from tests.kit.apps import table_app

pytestmark = pytest.mark.anyio

metadata = MetaData()
item = Table(
    "kit_item",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False, unique=True),
)
keys = define_idempotency(metadata)
Idempotent = Annotated[Idempotency, idempotent(keys)]
MOMENT = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)


class ItemIn(BaseModel):
    name: str


class ItemOut(BaseModel):
    id: int
    name: str
    at: LocalTime


class Count(BaseModel):
    count: int


router = APIRouter(prefix="/v1")


@router.post("/items", status_code=201, response_model=ItemOut)
def add_item(body: ItemIn, session: WriteSession, idem: Idempotent) -> Response:
    new_id = session.execute(insert(item).values(name=body.name).returning(item.c.id)).scalar_one()
    return idem.answer(ItemOut(id=new_id, name=body.name, at=MOMENT), status_code=201)


@router.post("/items:refused", status_code=201)
def add_item_then_refuse(body: ItemIn, session: WriteSession) -> None:
    session.execute(insert(item).values(name=body.name))
    raise Conflict("refused after writing", code="refused")


@router.get("/items/count", response_model=Count)
def count_items(session: ReadSession) -> Count:
    return Count(count=session.execute(select(func.count()).select_from(item)).scalar_one())


# The threads each read ran in, by route (a read moved to a pool thread runs twice).
READ_THREADS: dict[str, list[int]] = {"quick": [], "long": [], "export": []}
# Counts to ten million in SQLite: far more than LOOP_READ_BUDGET of work.
LONG_QUERY = text(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000000) "
    "SELECT count(*) FROM n"
)


@router.get("/reads/quick", response_model=Count)
def quick_read(session: ReadSession) -> Count:
    READ_THREADS["quick"].append(threading.get_ident())
    return Count(count=session.execute(select(func.count()).select_from(item)).scalar_one())


@router.get("/reads/long", response_model=Count)
def long_read(session: ReadSession) -> Count:
    READ_THREADS["long"].append(threading.get_ident())
    return Count(count=session.execute(LONG_QUERY).scalar_one())


@router.get("/reads/export", response_model=Count)
@off_loop
def export_read(session: ReadSession) -> Count:
    """A quick read, then long Python work (as a spreadsheet written from it would be)."""
    READ_THREADS["export"].append(threading.get_ident())
    n = session.execute(select(func.count()).select_from(item)).scalar_one()
    time.sleep(0.05)
    return Count(count=n)


@router.get("/moment", response_model=ItemOut)
def moment() -> ItemOut:
    return ItemOut(id=0, name="moment", at=MOMENT)


def make_app(tmp_path: Path, database_url: str) -> FastAPI:
    return table_app(tmp_path, database_url, [router], metadata)


@asynccontextmanager
async def running(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[FastAPI, Any]]:
    app = make_app(tmp_path, database_url)
    async with serve(app) as client:
        yield app, client


async def count(client: httpx.AsyncClient) -> int:
    resp = await client.get("/v1/items/count")
    assert resp.status_code == 200
    n: int = resp.json()["count"]
    return n


async def test_a_write_commits_once_the_endpoint_returns_and_rolls_back_when_it_raises(
    tmp_path: Path, database_url: str
) -> None:
    async with running(tmp_path, database_url) as (_app, client):
        added = await client.post("/v1/items", json={"name": "a"})
        assert added.status_code == 201
        assert await count(client) == 1
        refused = await client.post("/v1/items:refused", json={"name": "b"})
        assert refused.status_code == 409
        assert refused.json()["code"] == "refused"
        assert await count(client) == 1


async def test_idempotent_replays_the_first_answer_and_refuses_another_body(
    tmp_path: Path, database_url: str
) -> None:
    async with running(tmp_path, database_url) as (_app, client):
        first = await client.post("/v1/items", json={"name": "a"}, headers={"Idempotency-Key": "k"})
        again = await client.post("/v1/items", json={"name": "a"}, headers={"Idempotency-Key": "k"})
        assert first.status_code == again.status_code == 201
        assert again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        other = await client.post("/v1/items", json={"name": "b"}, headers={"Idempotency-Key": "k"})
        assert other.status_code == 422
        assert other.json()["code"] == "idempotency_key_reused"
        assert other.json()["errors"] == [
            {"field": "Idempotency-Key", "message": "used for another body"}
        ]
        assert await count(client) == 1


async def test_concurrent_requests_with_one_key_do_the_work_once(
    tmp_path: Path, database_url: str
) -> None:
    async with running(tmp_path, database_url) as (_app, client):
        answers: list[httpx.Response] = []

        async def add() -> None:
            answers.append(
                await client.post("/v1/items", json={"name": "a"}, headers={"Idempotency-Key": "c"})
            )

        async with anyio.create_task_group() as tg:
            for _ in range(8):
                tg.start_soon(add)
        assert {a.status_code for a in answers} == {201}
        assert len({a.content for a in answers}) == 1
        assert await count(client) == 1


async def test_a_read_never_waits_for_the_write_lock(tmp_path: Path, database_url: str) -> None:
    async with running(tmp_path, database_url) as (app, client):
        lock = app.state.runtime.db.write_lock
        if lock is None:
            pytest.skip("only SQLite has a process write lock")
        lock.acquire()
        try:
            started = time.monotonic()
            with anyio.fail_after(5):
                assert await count(client) == 0
            assert time.monotonic() - started < 1
        finally:
            lock.release()


async def test_many_writers_at_once_all_commit(tmp_path: Path, database_url: str) -> None:
    # More concurrent writers than the thread pool has threads (40): waiting for the write lock
    # must not take the threads the writer holding it needs.
    async with running(tmp_path, database_url) as (_app, client):
        statuses: list[int] = []

        async def add(n: int) -> None:
            resp = await client.post("/v1/items", json={"name": f"item-{n}"})
            statuses.append(resp.status_code)

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for n in range(100):
                    tg.start_soon(add, n)
        assert statuses == [201] * 100
        assert await count(client) == 100


async def test_times_render_in_the_configured_zone(tmp_path: Path, database_url: str) -> None:
    async with running(tmp_path, database_url) as (_app, client):
        assert (await client.get("/v1/moment")).json()["at"] == "2024-03-01T09:00:00+07:00"
        added = await client.post("/v1/items", json={"name": "a"})
        assert added.json()["at"] == "2024-03-01T09:00:00+07:00"
    # Outside a request a time keeps its own offset.
    assert ItemOut(id=1, name="x", at=MOMENT).model_dump(mode="json")["at"] == (
        "2024-03-01T02:00:00Z"
    )


async def test_a_quick_read_on_sqlite_runs_in_the_event_loop_thread(
    tmp_path: Path, database_url: str
) -> None:
    READ_THREADS["quick"].clear()
    async with running(tmp_path, database_url) as (app, client):
        for _ in range(3):  # the first may find no pooled connection yet
            assert (await client.get("/v1/reads/quick")).json() == {"count": 0}
        loop_thread = threading.get_ident()
        if app.state.runtime.db.is_sqlite:
            assert READ_THREADS["quick"][-1] == loop_thread
        else:  # PostgreSQL: a read waits on the network, in a pool thread
            assert loop_thread not in READ_THREADS["quick"]


async def while_ticking(call: Awaitable[httpx.Response]) -> tuple[httpx.Response, int]:
    """The answer to `call`, and how many times the event loop turned a 1 ms timer meanwhile."""
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await anyio.sleep(0.001)
            ticks += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(tick)
        resp = await call
        tg.cancel_scope.cancel()
    return resp, ticks


async def test_a_long_read_moves_to_a_pool_thread_and_answers_in_full(
    tmp_path: Path, database_url: str
) -> None:
    READ_THREADS["long"].clear()
    async with running(tmp_path, database_url) as (app, client):
        await client.get("/v1/reads/quick")  # a pooled connection to take
        resp, ticks = await while_ticking(client.get("/v1/reads/long"))
        assert resp.status_code == 200
        assert resp.json() == {"count": 10_000_000}
        loop_thread = threading.get_ident()
        if app.state.runtime.db.is_sqlite:
            # Begun in the loop's thread, stopped there, run again (to the end) in a pool thread.
            first, *rest = READ_THREADS["long"]
            assert first == loop_thread
            assert len(rest) == 1 and rest[0] != loop_thread
        assert loop_thread not in READ_THREADS["long"][-1:]
        # The loop kept turning while the count ran.
        assert ticks > 10
        # The next read runs in the loop's thread again, within a budget of its own.
        assert (await client.get("/v1/reads/quick")).json() == {"count": 0}
        if app.state.runtime.db.is_sqlite:
            assert READ_THREADS["quick"][-1] == loop_thread


async def test_an_export_runs_in_a_pool_thread_however_quick_its_reads(
    tmp_path: Path, database_url: str
) -> None:
    READ_THREADS["export"].clear()
    async with running(tmp_path, database_url) as (_, client):
        await client.get("/v1/reads/quick")  # a pooled connection to take
        resp, ticks = await while_ticking(client.get("/v1/reads/export"))
        assert resp.json() == {"count": 0}
        assert READ_THREADS["export"] != [] and threading.get_ident() not in READ_THREADS["export"]
        assert ticks > 10  # the loop turned while the endpoint worked

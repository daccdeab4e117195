"""The PostgreSQL write path: MaHoSo blocks reserved with the request pool full, a pooled
connection killed under a unit of work, and the worker-process setting's limits."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlmodel import Session

from lgsp_kit.db import Database, upgrade
from services.dossier.dossiers import repository
from services.dossier.main import MIGRATIONS
from services.dossier.settings import Settings
from tests.dossier.conftest import Api

DOSSIER = {
    "procedure_code": "1.001193",
    "organ_code": "000.01.31.H03",
    "channel": 2,
    "applicant": {"type": 1, "name": "Nguyễn Văn An", "identifier": "024090001234"},
}


def test_a_block_of_numbers_is_reserved_while_the_pool_is_full(
    new_database: Callable[[], str],
) -> None:
    url = new_database()
    upgrade(MIGRATIONS, url)
    db = Database(url, pool_size=1)  # one connection and one overflow: two in all
    db.engine.pool._timeout = 2  # type: ignore[attr-defined]  # fail fast if it were to wait
    try:
        with Session(db.engine) as session, db.engine.connect() as other:
            session.execute(text("SELECT 1"))  # the unit's connection
            other.execute(text("SELECT 1"))  # the pool's last one
            first = repository.next_sequence(session, "000.01.31.H03", "261206")
            assert first == 1
            assert repository.next_sequence(session, "000.01.31.H03", "261206") == 2
    finally:
        db.dispose()


@pytest.mark.anyio
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_unit_whose_connection_was_killed_runs_again_on_a_fresh_one(api: Api) -> None:
    assert (await api.post("/v1/dossiers", DOSSIER)).status_code == 201
    db: Database = api.app.state.runtime.db
    # The server ends every other session of the database (as a restart does): the pool's
    # idle connection is dead, and it is not pinged before use (it was used just now).
    with psycopg.connect(db.url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        killed = c.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert killed is not None and killed[0] >= 1
    resp = await api.post("/v1/dossiers", DOSSIER)
    assert resp.status_code == 201, resp.text
    code = resp.json()["code"]
    assert (await api.post(f"/v1/dossiers/{code}/status", {"status": 2})).status_code == 200
    # Stored once, with one event each.
    submitted = [e for e in api.events("lgsp.dossier.submitted") if e.subject == code]
    assert len(submitted) == 1


def test_several_workers_need_postgresql(tmp_path: Path) -> None:
    pg = "postgresql://postgres@127.0.0.1:5432/dossier"
    assert Settings(workers=2, database_url=pg, data_dir=tmp_path).workers == 2
    with pytest.raises(ValueError, match="PostgreSQL"):
        Settings(workers=2, data_dir=tmp_path)
    # The DVCQG sync runs in one of them (tests/national_sync/test_two_workers.py).
    both = Settings(workers=2, database_url=pg, dvcqg_gateway_url="http://gw", data_dir=tmp_path)
    assert both.workers == 2


def test_worker_processes_starting_at_once_upgrade_the_database_one_after_another(
    new_database: Callable[[], str],
) -> None:
    url = new_database()
    errors: list[BaseException] = []

    def start() -> None:
        try:
            upgrade(MIGRATIONS, url)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=start, daemon=True) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert not any(w.is_alive() for w in workers), "an upgrade still waits"
    assert errors == []
    with psycopg.connect(url) as conn:
        version = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    assert len(version) == 1

"""The data dir is the owner's only (finding 7 of issue 15): the dir 0700 and what the platform
writes there (SQLite databases and their -wal/-shm, the NATS store and log) 0600, whatever the
umask of the shell that started it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import nats
import pytest
from sqlalchemy import text

from lgsp.launcher import Launcher
from lgsp_kit.db import Database
from lgsp_kit.natsserver import operator_url
from tests.conftest import modes


def test_a_sqlite_database_and_its_wal_are_owner_only(tmp_path: Path, usual_umask: None) -> None:
    data = tmp_path / "var"
    db = Database(f"sqlite:///{data / 'dossier.db'}")
    try:
        with db.session() as session:
            session.execute(text("CREATE TABLE t (n INTEGER)"))
            session.execute(text("INSERT INTO t VALUES (1)"))
        found = modes(data)
    finally:
        db.dispose()

    assert set(found) == {".", "dossier.db", "dossier.db-wal", "dossier.db-shm"}
    assert found == {**dict.fromkeys(found, 0o600), ".": 0o700}


def test_an_existing_database_is_made_owner_only(tmp_path: Path, usual_umask: None) -> None:
    path = tmp_path / "old.db"
    path.touch(0o644)
    path.chmod(0o644)
    Database(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def _write_an_event(url: str) -> None:
    client = await nats.connect(url)
    try:
        js = client.jetstream()
        await js.add_stream(name="MODES", subjects=["modes.>"])
        await js.publish("modes.one", b"{}")
    finally:
        await client.close()


@pytest.mark.anyio
async def test_lgsp_run_keeps_the_data_dir_and_the_nats_store_owner_only(
    tmp_path: Path, usual_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The launcher writes the apps' settings (NATS URL, each app's NATS user) into its own
    # environment for its children: give it a copy, so later tests do not inherit them.
    environ = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "LGSP_NATS_URL")}
    monkeypatch.setattr(os, "environ", environ)
    data = tmp_path / "var"
    launcher = Launcher(data, [])  # NATS only
    try:
        launcher.start()
        port = int(environ["NATS_URL"].rsplit(":", 1)[1])
        await _write_an_event(operator_url(data, port))  # the embedded server takes users only
    finally:
        launcher.stop()
    found = modes(data)

    assert any(name.startswith("nats/jetstream/") for name in found), found
    assert "nats.log" in found
    wrong = {
        name: oct(mode)
        for name, mode in found.items()
        if mode != (0o700 if (data / name).is_dir() else 0o600)
    }
    assert wrong == {}

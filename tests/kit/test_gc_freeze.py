"""A server process hides what its startup built from the cyclic collector, so a full
collection under load walks only what the requests made, not the whole program.

Each case starts the documents service in a fresh interpreter, as a server process is: in the
test process, `gc.collect()` at startup would also finalise whatever hundreds of earlier tests
left behind, which says nothing about a server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from lgsp_kit.app import GC_FREEZE_ENV
from lgsp_kit.natsserver import free_port

ROOT = Path(__file__).resolve().parents[2]
STARTUP = """
import asyncio, gc, json, sys, time
from pathlib import Path

from services.documents.main import create_app
from services.documents.settings import Settings
from tests.conftest import TokenMint, serve, service_settings


async def main(data_dir: str, database_url: str, nats_url: str) -> None:
    mint = TokenMint(Path(data_dir))
    app = create_app(service_settings(Settings, Path(data_dir), database_url, nats_url, mint))
    async with serve(app) as client:
        status = (await client.get("/healthz")).status_code
        frozen = gc.get_freeze_count()
        started = time.process_time()
        gc.collect()
        took = time.process_time() - started
    print(json.dumps({"status": status, "frozen": frozen, "collect_s": took}))


asyncio.run(main(*sys.argv[1:4]))
"""


def start_once(tmp_path: Path, database_url: str, *, freeze: bool) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != GC_FREEZE_ENV}
    if freeze:
        env[GC_FREEZE_ENV] = "1"
    nowhere = f"nats://127.0.0.1:{free_port()}"
    proc = subprocess.run(
        [sys.executable, "-c", STARTUP, str(tmp_path), database_url, nowhere],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    found: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["status"] == 200
    return found


def test_startup_freezes_its_objects_when_the_server_asks(
    tmp_path: Path, database_url: str
) -> None:
    found = start_once(tmp_path, database_url, freeze=True)
    assert found["frozen"] > 50_000
    # Without the freeze this walks every frozen object too (over 100 ms here).
    assert found["collect_s"] < 0.05


def test_tests_and_embedders_keep_the_collector_as_it_was(
    tmp_path: Path, database_url: str
) -> None:
    assert start_once(tmp_path, database_url, freeze=False)["frozen"] == 0

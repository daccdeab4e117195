"""Two processes of the dossier service on one PostgreSQL database, the DVCQG sync on in both:
one of them syncs (the one holding the sync's lock, `lgsp_kit.leader`), so DVCQG gets each
dossier once; when it stops, the other takes over and nothing is left behind."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from lgsp_kit.natsserver import free_port
from services.dossier.main import SYNCS
from services.dossier.main import create_app as create_dossier
from tests.conftest import TokenMint, serve
from tests.national_sync.test_dvcqg_sync import Stack, national_side, syncing_settings

pytestmark = pytest.mark.anyio


async def test_one_of_two_workers_syncs_and_the_other_takes_over(
    tmp_path: Path, mint: TokenMint, new_database: Callable[[], str]
) -> None:
    database_url = new_database()
    async with contextlib.AsyncExitStack() as outer:
        national_url, gateway_url = await outer.enter_async_context(national_side(tmp_path))
        nat = await outer.enter_async_context(httpx.AsyncClient(base_url=national_url))
        nats_url = f"nats://127.0.0.1:{free_port()}"
        apps, stacks, exits = [], [], []
        for name in ("one", "two"):
            (tmp_path / name).mkdir()
            settings = syncing_settings(tmp_path / name, gateway_url, database_url, nats_url, mint)
            app = create_dossier(settings)
            exit_stack = await outer.enter_async_context(contextlib.AsyncExitStack())
            client = await exit_stack.enter_async_context(serve(app))
            apps.append(app)
            exits.append(exit_stack)
            stacks.append(Stack(client, nat, mint, app.state.runtime.db))
        syncs = [SYNCS[id(app.state.runtime)] for app in apps]

        # Dossiers received through both processes.
        codes = []
        for k in range(8):
            code = await stacks[k % 2].submit()
            await stacks[k % 2].move(code, 2)
            codes.append(code)
        await stacks[0].settled(codes)
        leaders = [s.leadership.leader for s in syncs]
        assert leaders.count(True) == 1, leaders
        leader = leaders.index(True)
        assert syncs[leader].sent["records"] >= 8 and syncs[1 - leader].sent["records"] == 0

        # The syncing process stops: the other takes the lock and syncs what comes next.
        await exits[leader].aclose()
        other = stacks[1 - leader]
        more = []
        for _ in range(4):
            code = await other.submit()
            await other.move(code, 2)
            more.append(code)
        await other.move(codes[leader], 4)
        await other.settled([*codes, *more])
        assert syncs[1 - leader].leadership.leader
        assert syncs[1 - leader].sent["records"] >= 4

        listed = (await nat.get("/dvcqg/hoso")).json()["items"]
        held = Counter(item["MaHoSo"] for item in listed)
        assert sorted(held) == sorted([*codes, *more]) and set(held.values()) == {1}

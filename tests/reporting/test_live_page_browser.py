"""The live page in a real browser: headless Chromium (Debian `chromium`) on a running service.

The reporting service runs for real (uvicorn on a free port, its own NATS and SQLite file); the
browser opens `/`, the table is there, and after a new event is published the page refreshes
itself and shows the new figure. Chromium is driven through its DevTools protocol with a small
websocket client, since the change only shows after one of the page's own reloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import uvicorn

from lgsp_kit.natsserver import free_port
from services.reporting.main import create_app
from services.reporting.settings import Settings
from tests.conftest import TokenMint
from tests.reporting import scenario
from tests.reporting.events import received
from tests.reporting.test_rebuild import publish

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(
        shutil.which("chromium") is None,
        reason="the Debian `chromium` package is not installed (apt-get install -y chromium)",
    ),
]

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",  # the chosen port is written to DevToolsActivePort
]

# The text of a row's "Tử số / Mẫu số" cell, or null while the table is not there.
FRACTION = """(() => {{
  const cell = document.querySelector('#phu-luc-ii tr[data-stt="{stt}"] td.num');
  return cell ? cell.textContent.trim() : null;
}})()"""


class Page:
    """One browser tab, reached through the DevTools protocol."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    async def evaluate(self, expression: str) -> Any:
        msg_id = next(self.ids)
        await self.ws.send_json(
            {
                "id": msg_id,
                "method": "Runtime.evaluate",
                "params": {"expression": expression, "returnByValue": True},
            }
        )
        while True:
            reply = await self.ws.receive_json(timeout=10)
            if reply.get("id") == msg_id:
                # During a reload there may be no context to evaluate in: no value yet.
                return reply.get("result", {}).get("result", {}).get("value")

    async def wait_for(self, expression: str, until: Any, within: float) -> Any:
        """Evaluate until `until(value)` holds; returns that value."""
        value = None
        try:
            async with asyncio.timeout(within):
                while True:
                    value = await self.evaluate(expression)
                    if until(value):
                        return value
                    await asyncio.sleep(0.1)
        except TimeoutError:
            raise AssertionError(f"after {within} s the page shows {value!r}") from None


@contextlib.asynccontextmanager
async def running(app: Any, port: int) -> AsyncIterator[str]:
    """The app served by uvicorn on a real socket, in this event loop."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(300):
            if server.started:
                break
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


def devtools_port(profile: Path) -> int | None:
    """The DevTools port Chromium chose, once it has written it into its profile."""
    active = profile / "DevToolsActivePort"
    text = active.read_text() if active.exists() else ""
    return int(text.split()[0]) if text.strip() else None


@contextlib.asynccontextmanager
async def chromium(url: str, profile: Path) -> AsyncIterator[Page]:
    """Headless Chromium showing `url`, with its first tab's DevTools socket."""
    await asyncio.to_thread(profile.mkdir)
    proc = await asyncio.create_subprocess_exec(
        "chromium",
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        url,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        port = None
        for _ in range(300):
            port = await asyncio.to_thread(devtools_port, profile)
            if port is not None:
                break
            await asyncio.sleep(0.05)
        assert port is not None, "Chromium wrote no DevToolsActivePort"
        async with aiohttp.ClientSession() as http:
            page_ws = ""
            for _ in range(100):
                async with http.get(f"http://127.0.0.1:{port}/json/list") as resp:
                    targets = json.loads(await resp.text())
                page_ws = next(
                    (t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page"), ""
                )
                if page_ws:
                    break
                await asyncio.sleep(0.05)
            assert page_ws, "Chromium opened no page"
            async with http.ws_connect(page_ws, max_msg_size=0) as ws:
                yield Page(ws)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def test_the_live_page_in_chromium_shows_the_table_and_a_new_event(
    tmp_path: Path, nats_url: str, mint: TokenMint
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'reporting.db'}",
        nats_url=nats_url,
        jwks_url=mint.jwks_url,
    )
    app = create_app(settings)
    async with running(app, free_port()) as base:
        await app.state.runtime.bus.wait_ready()
        await publish(nats_url, scenario.everything())
        # The page reloads itself every 2 s (its <meta http-equiv="refresh">).
        async with chromium(f"{base}/?period=2023&refresh=2", tmp_path / "chromium") as page:
            heading = await page.wait_for(
                "document.querySelector('h1') && document.querySelector('h1').textContent",
                lambda v: bool(v),
                within=20,
            )
            assert heading.startswith("Phụ lục II")
            rows = await page.evaluate(
                "document.querySelectorAll('#phu-luc-ii tbody tr[data-stt]').length"
            )
            assert rows > 20
            # Every event of the scenario applied: row 6.3 of 2023 is 4 of 6 (scenario.py).
            await page.wait_for(FRACTION.format(stt="6.3"), lambda v: v == "4 / 6", within=20)

            # One more fully online dossier (toàn trình, received online) in November 2023.
            await publish(nats_url, [received("2023-11-20T09:00", mode="full", channel=2)])
            await page.wait_for(FRACTION.format(stt="6.3"), lambda v: v == "5 / 7", within=20)
            value = await page.evaluate(
                """document.querySelector('#phu-luc-ii tr[data-stt="6.3"] td:nth-child(4)')
                   .textContent.trim()"""
            )
            assert value.startswith("71")  # 5 / 7 = 71.4 %

"""`lgsp run` (what `make run` calls): everything comes up, Ctrl-C leaves nothing behind."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from lgsp_kit.natsserver import CREDENTIALS_FILE, free_port
from tests.kit.test_nats_auth import info_line

pytestmark = pytest.mark.e2e


def processes_mentioning(text: str) -> list[int]:
    """Pids whose command line or environment mentions `text` (this test's data dir)."""
    found = []
    needle = text.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in blob:
            found.append(int(entry.name))
    return found


def test_lgsp_run_starts_every_app_and_ctrl_c_stops_them_all(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    apps = ("gateway", "dossier", "documents", "reporting", "national")
    ports = {app: free_port() for app in apps}
    env = {k: v for k, v in os.environ.items() if not k.endswith(("NATS_URL", "_UPSTREAMS"))}
    env.pop("LGSP_JWKS_URL", None)
    env.update({f"{app.upper()}_PORT": str(port) for app, port in ports.items()})
    env["LGSP_DATA_DIR"] = str(data_dir)
    launcher = subprocess.Popen(
        [sys.executable, "-m", "lgsp.cli", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        started = time.monotonic()
        assert launcher.stdout is not None
        for line in launcher.stdout:
            lines.append(line)
            if "all apps ready" in line:
                break
        assert time.monotonic() - started < 60, "".join(lines)
        assert httpx.get(f"http://127.0.0.1:{ports['gateway']}/healthz").status_code == 200
        for app, port in ports.items():
            resp = httpx.get(f"http://127.0.0.1:{port}/readyz")
            assert resp.status_code == 200, (app, resp.text)
            assert f"http://127.0.0.1:{port}" in "".join(lines)
        creds = json.loads((data_dir / "demo-client.json").read_text())
        token = httpx.post(
            f"http://127.0.0.1:{ports['gateway']}/token",
            data={"grant_type": "client_credentials", **creds},
        )
        assert token.status_code == 200, token.text
        # The demo consumer is subscribed to the national contexts the run wires.
        firm = httpx.get(
            f"http://127.0.0.1:{ports['gateway']}/ngsp/apiCSDLDKDN/1.0/chiTietDoanhNghiep",
            params={"msdn": "0100109106"},
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
        assert (firm.status_code, firm.json()["Status"]) == (200, 1), firm.text
        # The embedded NATS takes no anonymous client; the apps connected with their users.
        nats_port = int(
            re.findall(r"NATS \(embedded.*?nats://127\.0\.0\.1:(\d+)", "".join(lines))[0]
        )
        assert info_line(nats_port)["auth_required"] is True
        assert stat.S_IMODE((data_dir / CREDENTIALS_FILE).stat().st_mode) == 0o600
        assert processes_mentioning(str(data_dir))  # the check below can see them
    finally:
        launcher.send_signal(signal.SIGINT)
        try:
            code = launcher.wait(60)
        except subprocess.TimeoutExpired:
            launcher.kill()
            raise
    assert code == 0
    time.sleep(0.5)
    assert processes_mentioning(str(data_dir)) == []

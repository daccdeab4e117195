"""The real platform as separate processes (NATS and the four apps, and the national simulator
when asked), for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from lgsp_kit.natsserver import (
    app_nats_env,
    free_port,
    operator_url,
    start_nats,
    wait_for_port,
)

APPS = ("gateway", "dossier", "documents", "reporting")
NATIONAL = "national"
# With the national side, wired as `lgsp run` wires it (after the gateway: it reads the axis's
# credentials the gateway writes).
WITH_NATIONAL = (*APPS, NATIONAL)


@dataclass
class Platform:
    data_dir: Path
    database_urls: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    nats_port: int = 0
    nats: subprocess.Popen[bytes] | None = None
    apps: tuple[str, ...] = APPS
    # The same as `apps=WITH_NATIONAL`: the national simulator too, the gateway publishing it
    # and the dossier service syncing every dossier to DVCQG through it.
    with_national: bool = False
    # Settings of this platform's apps beyond the wiring (`NATIONAL_AXIS_POLL_SECONDS`, …).
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.with_national:
            self.apps = WITH_NATIONAL
        self.with_national = NATIONAL in self.apps
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.nats_port = free_port()
        self.ports = {app: free_port() for app in self.apps}

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    @property
    def nats_operator_url(self) -> str:
        """The embedded NATS with the operator's credentials (tests and benches inspect it)."""
        return operator_url(self.data_dir, self.nats_port)

    def url(self, app: str) -> str:
        return f"http://127.0.0.1:{self.ports[app]}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "LGSP_DATA_DIR": str(self.data_dir),
                "NATS_URL": f"nats://127.0.0.1:{self.nats_port}",
                "LGSP_JWKS_URL": f"{self.gateway}/.well-known/jwks.json",
                "GATEWAY_UPSTREAMS": json.dumps(
                    {app: self.url(app) for app in APPS if app != "gateway"}
                ),
                "LGSP_LOG_LEVEL": "warning",
            }
        )
        if NATIONAL in self.apps:
            env.update(
                {
                    "GATEWAY_NATIONAL_URL": self.url(NATIONAL),
                    "NATIONAL_PROVINCE_URL": self.gateway,
                    "DOSSIER_DVCQG_GATEWAY_URL": self.gateway,
                }
            )
        env.update(self.extra_env)
        # The embedded NATS requires credentials: each app its own user (var/, reused).
        env.update(app_nats_env(self.data_dir))
        for app in self.apps:
            env[f"{app.upper()}_PORT"] = str(self.ports[app])
            if app in self.database_urls:
                env[f"{app.upper()}_DATABASE_URL"] = self.database_urls[app]
        return env

    def start_nats(self) -> None:
        self.nats = start_nats(self.data_dir, self.nats_port)

    def kill_nats(self) -> None:
        assert self.nats is not None
        self.nats.send_signal(signal.SIGKILL)
        self.nats.wait(10)

    def start(self, app: str) -> None:
        log = (self.data_dir / f"{app}.log").open("ab")
        self.procs[app] = subprocess.Popen(
            [sys.executable, "-m", "lgsp.cli", "run", app],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.ports[app], timeout=60)

    def kill(self, app: str) -> None:
        proc = self.procs.pop(app)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def wait_ready(self, app: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                resp = httpx.get(self.url(app) + "/readyz", timeout=2)
                if resp.status_code == 200:
                    return
                last = resp.text
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.2)
        exited = [
            f"{name} exited with {proc.returncode}:\n{self.log(name)}"
            for name, proc in self.procs.items()
            if proc.poll() is not None and name != app
        ]
        raise TimeoutError("\n".join([f"{app} not ready: {last}\n{self.log(app)}", *exited]))

    def log(self, app: str) -> str:
        path = self.data_dir / f"{app}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def start_all(self) -> None:
        self.start_nats()
        # The gateway first: the services fetch its published keys.
        for app in self.apps:
            self.start(app)
        for app in self.apps:
            self.wait_ready(app)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
        if self.nats is not None and self.nats.poll() is None:
            self.nats.terminate()
            self.nats.wait(10)

    def demo_token(self) -> str:
        creds = json.loads((self.data_dir / "demo-client.json").read_text())
        resp = httpx.post(
            self.gateway + "/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["client_id"], creds["client_secret"]),
        )
        resp.raise_for_status()
        token: str = resp.json()["access_token"]
        return token

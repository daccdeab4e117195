"""The deadline and on-time acceptance cases through the gateway, on the embedded platform.

Expected dates counted by hand: received Friday 17/11/2023 09:00, a 3-day limit ends Monday
20/11 (Sat 18, Sun 19, Mon 20); a 3-working-day limit ends Wednesday 22/11 (Mon 20, Tue 21,
Wed 22).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.e2e.platform import Platform
from tests.e2e.test_organ_scope import client_of

pytestmark = pytest.mark.e2e

PROCEDURE: dict[str, Any] = {
    "name": "Thủ tục thử thời hạn",
    "field": "Hộ tịch",
    "level": "commune",
    "online_mode": "partial",
    "full_online_eligible": False,
    "fee_bearing": False,
    "online_payment": False,
    "processing_days": 3,
}
DOSSIER: dict[str, Any] = {
    "organ_code": "000.01.31.H03",
    "channel": 1,
    "applicant": {"type": 1, "name": "Trần Thị Mai", "identifier": "024190007654"},
    "submitted_at": "2023-11-17T08:30:00+07:00",
}
FRIDAY = "2023-11-17T09:00:00+07:00"


def ok(resp: httpx.Response) -> Any:
    assert resp.status_code in (200, 201), resp.text
    return resp.json()


def received(gw: httpx.Client, procedure: str) -> dict[str, Any]:
    code = ok(gw.post("/dossier/v1/dossiers", json={**DOSSIER, "procedure_code": procedure}))[
        "code"
    ]
    body: dict[str, Any] = ok(
        gw.post(f"/dossier/v1/dossiers/{code}/status", json={"status": 2, "at": FRIDAY})
    )
    return body


def test_deadlines_and_on_time_through_the_gateway(sqlite_platform: Platform) -> None:
    p = sqlite_platform
    gw = client_of(p, json.loads((p.data_dir / "demo-client.json").read_text()))
    day = {**PROCEDURE, "processing_unit": "day"}
    assert ok(gw.put("/dossier/v1/procedures/9.000101", json=day))["processing_unit"] == "day"
    ok(gw.put("/dossier/v1/procedures/9.000102", json=PROCEDURE))

    assert received(gw, "9.000101")["due_at"] == "2023-11-20T09:00:00+07:00"
    d = received(gw, "9.000102")
    assert d["due_at"] == "2023-11-22T09:00:00+07:00"

    # 7 then 8: the withdrawal (Tuesday, before the due date) ends handling on time.
    path = f"/dossier/v1/dossiers/{d['code']}/status"
    withdrawn = ok(gw.post(path, json={"status": 7, "at": "2023-11-21T10:00:00+07:00"}))
    assert withdrawn["on_time"] is True
    stopped = ok(gw.post(path, json={"status": 8, "at": "2023-11-21T11:00:00+07:00"}))
    assert stopped["status"] == 8 and stopped["on_time"] is True

    # Refused at reception: no verdict, in neither list.
    refused = ok(gw.post("/dossier/v1/dossiers", json={**DOSSIER, "procedure_code": "9.000102"}))
    r = ok(gw.post(f"/dossier/v1/dossiers/{refused['code']}/status", json={"status": 3}))
    assert r["on_time"] is None
    for verdict in ("true", "false"):
        listed = ok(gw.get("/dossier/v1/dossiers", params={"on_time": verdict}))["items"]
        assert refused["code"] not in {x["code"] for x in listed}
    on_time = ok(gw.get("/dossier/v1/dossiers", params={"on_time": "true"}))["items"]
    assert d["code"] in {x["code"] for x in on_time}

"""Through the gateway: a fee paid online when the result is handed over counts in TT.1, a
dossier whose fee is exempted does not, and the procedure counts among those paid online."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from contracts import reference
from tests.e2e.platform import Platform

pytestmark = pytest.mark.e2e


def fee_procedure() -> reference.Procedure:
    return next(p for p in reference.procedures() if p.fee_bearing and p.online_payment)


def commune() -> str:
    return next(o.code for o in reference.organs().values() if o.level == "commune")


def rows(client: httpx.Client) -> dict[str, Any]:
    year = str(datetime.now(UTC).year)
    resp = client.get("/reporting/v1/reports/phu-luc-ii", params={"period": year})
    assert resp.status_code == 200, resp.text
    return {r["stt"]: r for r in resp.json()["rows"]}


def dossier(client: httpx.Client, fee: int, steps: list[dict[str, Any]]) -> str:
    body = {
        "procedure_code": fee_procedure().code,
        "organ_code": commune(),
        "channel": 2,
        "applicant": {"type": 1, "name": "Trần Thị Bình", "identifier": "0240"},
        "fees": [{"name": "Lệ phí", "amount": fee}] if fee else [],
    }
    resp = client.post("/dossier/v1/dossiers", json=body)
    assert resp.status_code == 201, resp.text
    code: str = resp.json()["code"]
    for step in steps:
        path = "payments" if "method" in step else "status"
        resp = client.post(f"/dossier/v1/dossiers/{code}/{path}", json=step)
        assert resp.status_code in (200, 201), (step, resp.text)
    return code


def test_a_fee_paid_online_at_hand_over_counts_and_an_exempted_dossier_does_not(
    platform: Platform,
) -> None:
    client = httpx.Client(
        base_url=platform.gateway,
        headers={"Authorization": f"Bearer {platform.demo_token()}"},
        timeout=30,
    )
    before = rows(client)
    tt1 = (before["TT.1"]["numerator"], before["TT.1"]["denominator"])
    # Exempted: resolved and returned without any fee transaction. First, so that its events
    # are applied before those of the next dossier (one stream, in order).
    dossier(client, 0, [{"status": 2}, {"status": 4}, {"status": 9}, {"status": 10}])
    # Resolved (9), then paid online as the result is handed over, then returned (10).
    online = {"amount": 50_000, "method": "online", "online_gateway": 2}
    dossier(client, 50_000, [{"status": 2}, {"status": 4}, {"status": 9}, online, {"status": 10}])
    want = (tt1[0] + 1, tt1[1] + 1)
    deadline = time.monotonic() + 60
    while True:
        now = rows(client)
        got = (now["TT.1"]["numerator"], now["TT.1"]["denominator"])
        if got == want or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert got == want
    assert now["TT.2.1"]["value"] >= 1
    assert now["TT.2"]["numerator"] == now["TT.2.1"]["value"]

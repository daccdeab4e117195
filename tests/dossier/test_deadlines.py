"""Due dates in the procedure's unit and the 766 on-time rules, through the dossier endpoints.

Every expected date and verdict is worked out by hand in the comments beside it.
"""

from __future__ import annotations

from typing import Any

import pytest

from contracts.events import DossierStatusChanged, ProcedurePublished
from tests.dossier.conftest import Api
from tests.dossier.test_dossiers import GOOD, iso, move, submit

pytestmark = pytest.mark.anyio

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


async def procedure(api: Api, code: str, **patch: Any) -> dict[str, Any]:
    resp = await api.client.put(
        f"/v1/procedures/{code}", json={**PROCEDURE, **patch}, headers=api.headers()
    )
    assert resp.status_code in (200, 201), resp.text
    body: dict[str, Any] = resp.json()
    return body


async def received_friday(api: Api, procedure_code: str) -> dict[str, Any]:
    """A dossier received Friday 17/11/2023 at 09:00."""
    d = await submit(
        api, {**GOOD, "procedure_code": procedure_code}, submitted_at=iso(2023, 11, 17, 8)
    )
    resp = await move(api, d["code"], 2, iso(2023, 11, 17, 9))
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def test_the_friday_example_in_days_and_in_working_days(api: Api) -> None:
    days = await procedure(api, "9.000001", processing_unit="day")
    assert days["processing_unit"] == "day"
    working = await procedure(api, "9.000002")  # the unit defaults to working days
    assert working["processing_unit"] == "working_day"
    # 3 calendar days from Friday 17/11: Sat 18, Sun 19, Mon 20.
    assert (await received_friday(api, "9.000001"))["due_at"] == iso(2023, 11, 20, 9)
    # 3 working days from Friday 17/11: Mon 20, Tue 21, Wed 22.
    assert (await received_friday(api, "9.000002"))["due_at"] == iso(2023, 11, 22, 9)


async def test_the_unit_is_fixed_at_submission(api: Api) -> None:
    await procedure(api, "9.000003", processing_unit="day")
    d = await submit(api, {**GOOD, "procedure_code": "9.000003"}, submitted_at=iso(2023, 11, 17, 8))
    # The catalogue changes to working days after the submission: the dossier keeps days.
    await procedure(api, "9.000003", processing_unit="working_day")
    resp = await move(api, d["code"], 2, iso(2023, 11, 17, 9))
    assert resp.json()["due_at"] == iso(2023, 11, 20, 9)


async def test_an_unknown_unit_is_422_and_changes_nothing(api: Api) -> None:
    before = [e for e in api.events() if isinstance(e, ProcedurePublished)]
    resp = await api.client.put(
        "/v1/procedures/9.000004",
        json={**PROCEDURE, "processing_unit": "year"},
        headers=api.headers(),
    )
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    assert (await api.get("/v1/procedures/9.000004")).status_code == 404
    assert [e for e in api.events() if isinstance(e, ProcedurePublished)] == before


async def test_withdrawal_ends_handling_then_the_stop_is_accepted(api: Api) -> None:
    await procedure(api, "9.000005")
    d = await received_friday(api, "9.000005")  # due Wednesday 22/11 09:00
    withdrawn = await move(api, d["code"], 7, iso(2023, 11, 21, 10))
    # Withdrawn Tuesday 21/11 10:00, before the due date: ended on time.
    assert withdrawn.status_code == 200 and withdrawn.json()["on_time"] is True
    stopped = await move(api, d["code"], 8, iso(2023, 11, 23, 8), note="Dừng xử lý")
    assert stopped.status_code == 200, stopped.text
    # The stop (after the due date) changes nothing: the withdrawal ended handling.
    assert stopped.json()["status"] == 8 and stopped.json()["on_time"] is True
    assert [h["status"] for h in stopped.json()["history"]] == [1, 2, 7, 8]
    changes = [e for e in api.dossier_events() if isinstance(e, DossierStatusChanged)]
    assert [(e.data.to_status, e.data.on_time) for e in changes[-3:]] == [
        (2, None),
        (7, True),
        (8, None),
    ]


async def test_refused_at_reception_is_in_neither_count(api: Api) -> None:
    refused = await submit(api)
    r = await move(api, refused["code"], 3)
    assert r.status_code == 200 and r.json()["on_time"] is None and r.json()["due_at"] is None
    # The list's counts by verdict: the refused dossier is neither on time nor late.
    on_time = (await api.get("/v1/dossiers", on_time=True)).json()["items"]
    late = (await api.get("/v1/dossiers", on_time=False)).json()["items"]
    assert refused["code"] not in {d["code"] for d in on_time + late}


async def test_a_second_supplement_request_is_late(api: Api) -> None:
    await procedure(api, "9.000006")
    d = await received_friday(api, "9.000006")  # due Wednesday 22/11 09:00
    code = d["code"]
    first = await move(api, code, 5, iso(2023, 11, 20, 10))
    # Waiting since Monday 20/11 10:00, before the due date: judged on time at the request.
    assert first.json()["on_time"] is True
    # Back on Tuesday 21/11 10:00: one working day waited (21), due Thursday 23/11 09:00.
    back = await move(api, code, 4, iso(2023, 11, 21, 10))
    assert back.json()["due_at"] == iso(2023, 11, 23, 9) and back.json()["on_time"] is None
    second = await move(api, code, 5, iso(2023, 11, 21, 11))
    assert second.json()["on_time"] is False
    await move(api, code, 4, iso(2023, 11, 21, 15))
    # Resolved Tuesday 21/11 16:00, long before the due date, and still late: asked twice.
    done = await move(api, code, 9, iso(2023, 11, 21, 16))
    assert done.json()["on_time"] is False


async def test_waiting_for_a_supplement_is_judged_at_the_request_time(api: Api) -> None:
    await procedure(api, "9.000007")
    early = await received_friday(api, "9.000007")  # due Wednesday 22/11 09:00
    late = await received_friday(api, "9.000007")
    asked_early = await move(api, early["code"], 5, iso(2023, 11, 22, 8, 59))
    asked_late = await move(api, late["code"], 5, iso(2023, 11, 22, 9, 1))
    # Still waiting today (years after the due date), each is judged at its request time.
    assert asked_early.json()["on_time"] is True
    assert asked_late.json()["on_time"] is False
    on_time = {d["code"] for d in (await api.get("/v1/dossiers", on_time=True)).json()["items"]}
    assert early["code"] in on_time and late["code"] not in on_time

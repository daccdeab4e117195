"""Dossier endpoints in-process on both backends: lifecycle, due dates, payments, bad input."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.events import DossierStatusChanged, PaymentRecorded
from tests.dossier.conftest import Api

pytestmark = pytest.mark.anyio

GOOD: dict[str, Any] = {
    "procedure_code": "1.001193",
    "organ_code": "000.01.31.H03",
    "channel": 2,
    "applicant": {"type": 1, "name": "Nguyễn Văn An", "identifier": "024090001234"},
}
# Fee-bearing, online payment integrated, 3 working days.
FEE_ONLINE: dict[str, Any] = {**GOOD, "procedure_code": "1.004873"}
# Fee-bearing without online payment.
FEE_OFFLINE: dict[str, Any] = {**GOOD, "procedure_code": "2.000884"}


def iso(y: int, m: int, d: int, h: int = 9, minute: int = 0) -> str:
    return f"{y:04d}-{m:02d}-{d:02d}T{h:02d}:{minute:02d}:00+07:00"


async def submit(api: Api, body: dict[str, Any] | None = None, **patch: Any) -> dict[str, Any]:
    resp = await api.post("/v1/dossiers", {**(body or GOOD), **patch})
    assert resp.status_code == 201, resp.text
    data: dict[str, Any] = resp.json()
    return data


async def move(api: Api, code: str, status: int, at: str | None = None, **extra: Any) -> Any:
    body: dict[str, Any] = {"status": status, **extra}
    if at is not None:
        body["at"] = at
    return await api.post(f"/v1/dossiers/{code}/status", body)


async def test_submit_assigns_code_history_and_one_event(api: Api) -> None:
    body = await submit(api)
    assert body["status"] == 1
    assert body["code"].startswith("000.01.31.H03-") and body["code"].endswith("-000001")
    assert body["submitted_at"].endswith("+07:00")
    assert [h["status"] for h in body["history"]] == [1]
    assert body["history"][0]["actor"] == "test-client"
    second = await submit(api)
    assert second["code"].endswith("-000002")
    got = await api.get(f"/v1/dossiers/{body['code']}")
    assert got.status_code == 200 and got.json() == body
    submitted = api.events("lgsp.dossier.submitted")
    assert [e.subject for e in submitted] == [body["code"], second["code"]]


async def test_full_lifecycle_due_date_skips_holidays_and_supplement_pause(api: Api) -> None:
    # Received Friday 2023-01-13; 3 working days skip the weekend: due Wednesday 2023-01-18.
    d = await submit(api, FEE_ONLINE, submitted_at=iso(2023, 1, 13, 8))
    code = d["code"]
    resp = await move(api, code, 2, iso(2023, 1, 13, 9), actor="Một cửa xã", note="Đủ hồ sơ")
    assert resp.status_code == 200, resp.text
    assert resp.json()["due_at"] == iso(2023, 1, 18, 9)
    assert resp.json()["received_at"] == iso(2023, 1, 13, 9)
    assert (await move(api, code, 4, iso(2023, 1, 16, 8))).status_code == 200
    # Supplement asked Tuesday 17th, given back Monday 30th. Tết (20–26 January) and weekends
    # are not working days, so 4 working days were waited (18, 19, 27, 30).
    assert (await move(api, code, 5, iso(2023, 1, 17, 10))).status_code == 200
    resumed = await move(api, code, 4, iso(2023, 1, 30, 8))
    assert resumed.status_code == 200
    # The due date moves by those 4 working days: 18th → 19, 27, 30, 31 January, 09:00.
    assert resumed.json()["due_at"] == iso(2023, 1, 31, 9)
    pay = await api.post(
        f"/v1/dossiers/{code}/payments",
        {"amount": 50000, "method": "online", "online_gateway": 2, "at": iso(2023, 1, 30, 9)},
    )
    assert pay.status_code == 201, pay.text
    done = await move(api, code, 9, iso(2023, 1, 31, 8))
    assert done.status_code == 200
    assert done.json()["on_time"] is True and done.json()["paid_online"] is True
    returned = await move(api, code, 10, iso(2023, 2, 1, 8))
    assert returned.json()["status"] == 10
    assert [h["status"] for h in returned.json()["history"]] == [1, 2, 4, 5, 4, 9, 10]
    assert returned.json()["history"][1]["actor"] == "Một cửa xã"
    changes = [e for e in api.dossier_events() if isinstance(e, DossierStatusChanged)]
    assert [(e.data.from_status, e.data.to_status) for e in changes] == [
        (1, 2),
        (2, 4),
        (4, 5),
        (5, 4),
        (4, 9),
        (9, 10),
    ]
    # The supplement request (17th 10:00, before the due 18th 09:00) is judged at its time; the
    # resolution gives the final verdict; handling (4) and the hand-over (10) give none.
    assert [e.data.on_time for e in changes] == [None, None, True, None, True, None]
    assert [e.data.paid_online for e in changes] == [None, None, None, None, True, None]
    assert changes[0].time == datetime(2023, 1, 13, 2, tzinfo=UTC)
    assert all(e.data.due_at is not None for e in changes)
    payments = [e for e in api.dossier_events() if isinstance(e, PaymentRecorded)]
    assert len(payments) == 1 and payments[0].data.online_gateway == 2


async def test_late_resolution_is_not_on_time(api: Api) -> None:
    d = await submit(api, submitted_at=iso(2023, 3, 1, 8))  # 1 working day
    await move(api, d["code"], 2, iso(2023, 3, 1, 9))
    late = await move(api, d["code"], 9, iso(2023, 3, 3, 9))
    assert late.json()["due_at"] == iso(2023, 3, 2, 9)
    assert late.json()["on_time"] is False
    assert late.json()["paid_online"] is False


async def test_illegal_transition_is_409_naming_allowed_statuses(api: Api) -> None:
    d = await submit(api)
    before = len(api.dossier_events())
    resp = await move(api, d["code"], 9)
    assert resp.status_code == 409
    assert resp.headers["content-type"] == "application/problem+json"
    problem = resp.json()
    assert problem["code"] == "illegal_transition"
    assert problem["allowed"] == [2, 3, 7]
    assert "allowed next statuses: 2" in problem["detail"]
    assert len(api.dossier_events()) == before
    # Withdrawal (7) ends handling: only the stop (8) follows it, then nothing.
    withdrawn = await move(api, d["code"], 7)
    assert withdrawn.status_code == 200 and withdrawn.json()["on_time"] is None
    received = await move(api, d["code"], 2)
    assert received.status_code == 409 and received.json()["allowed"] == [8]
    assert (await move(api, d["code"], 8)).status_code == 200
    final = await move(api, d["code"], 2)
    assert final.status_code == 409 and final.json()["allowed"] == []


async def test_refusal_and_stop_end_handling(api: Api) -> None:
    refused = await submit(api)
    r = await move(api, refused["code"], 3)
    assert r.json()["on_time"] is None  # refused at reception: never received, never judged
    stopped = await submit(api)
    await move(api, stopped["code"], 2)
    s = await move(api, stopped["code"], 8, note="Dừng theo đề nghị")
    assert s.json()["status"] == 8 and s.json()["on_time"] is True
    ends = [e for e in api.dossier_events() if isinstance(e, DossierStatusChanged)]
    assert [(e.data.to_status, e.data.on_time) for e in ends] == [(3, None), (2, None), (8, True)]


@pytest.mark.parametrize(
    ("when", "status", "code"),
    [
        # Before the dossier's last change: its state refuses it (409); in the future: the
        # request itself is wrong (422).
        (lambda last: last - timedelta(minutes=1), 409, "time_goes_backwards"),
        (lambda last: datetime.now(UTC) + timedelta(hours=1), 422, "time_in_future"),
    ],
)
async def test_business_time_never_goes_backwards_nor_into_the_future(
    api: Api, when: Any, status: int, code: str
) -> None:
    d = await submit(api, submitted_at=iso(2023, 5, 4, 8))
    last = datetime.fromisoformat(d["submitted_at"])
    before = len(api.dossier_events())
    resp = await move(api, d["code"], 2, when(last).isoformat())
    assert resp.status_code == status
    assert resp.json()["code"] == code
    assert len(api.dossier_events()) == before
    assert (await api.get(f"/v1/dossiers/{d['code']}")).json()["status"] == 1


async def test_submitted_in_the_future_is_refused(api: Api) -> None:
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    resp = await api.post("/v1/dossiers", {**GOOD, "submitted_at": future})
    assert resp.status_code == 422 and resp.json()["code"] == "time_in_future"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"channel": "2"}, "channel"),
        ({"channel": True}, "channel"),
        ({"channel": 4}, "channel"),
        ({"channel": 2.5}, "channel"),
        ({"applicant": {"type": 1, "name": "", "identifier": "1"}}, "applicant.name"),
        ({"applicant": {"type": 1, "name": "A" * 201, "identifier": "1"}}, "applicant.name"),
        ({"applicant": {"type": "1", "name": "A", "identifier": "1"}}, "applicant.type"),
        ({"procedure_code": "1" * 65}, "procedure_code"),
        ({"procedure_code": 1001193}, "procedure_code"),
        ({"submitted_at": "2023-05-04T08:00:00"}, "submitted_at"),
        ({"fees": [{"name": "Lệ phí", "amount": -1}]}, "fees.0.amount"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
async def test_bad_input_is_problem_json_naming_the_field_and_changes_nothing(
    api: Api, patch: dict[str, Any], field: str
) -> None:
    resp = await api.post("/v1/dossiers", {**GOOD, **patch})
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    problem = resp.json()
    assert problem["code"] == "validation_failed"
    assert problem["request_id"] == resp.headers["x-request-id"]
    assert field in [e["field"] for e in problem["errors"]]
    assert api.dossier_events() == []


async def test_unknown_procedure_and_organ_are_refused(api: Api) -> None:
    for patch, code in [
        ({"procedure_code": "9.999999"}, "unknown_procedure"),
        ({"organ_code": "000.99.99.H03"}, "unknown_organ"),
    ]:
        resp = await api.post("/v1/dossiers", {**GOOD, **patch})
        assert resp.status_code == 422
        assert resp.json()["code"] == code
    assert api.dossier_events() == []


async def test_vietnamese_text_round_trips_in_nfc(api: Api) -> None:
    name = "Trần Thị Hương Giang"
    decomposed = unicodedata.normalize("NFD", name)
    assert decomposed != name
    d = await submit(api, applicant={"type": 1, "name": decomposed, "identifier": "024090009999"})
    assert d["applicant"]["name"] == name
    exact = await submit(
        api, applicant={"type": 2, "name": "Hợp tác xã Nông nghiệp Lục Ngạn", "identifier": "x"}
    )
    got = (await api.get(f"/v1/dossiers/{exact['code']}")).json()
    assert got["applicant"]["name"] == "Hợp tác xã Nông nghiệp Lục Ngạn"
    note = await move(api, d["code"], 2, note=unicodedata.normalize("NFD", "Đã tiếp nhận"))
    assert note.json()["history"][-1]["note"] == "Đã tiếp nhận"


async def test_payment_rules(api: Api) -> None:
    free = await submit(api)
    resp = await api.post(
        f"/v1/dossiers/{free['code']}/payments", {"amount": 1000, "method": "offline"}
    )
    assert resp.status_code == 409 and resp.json()["code"] == "procedure_not_fee_bearing"
    offline_only = await submit(api, FEE_OFFLINE)
    url = f"/v1/dossiers/{offline_only['code']}/payments"
    online = {"amount": 1000, "method": "online", "online_gateway": 1}
    resp = await api.post(url, online)
    assert resp.status_code == 409 and resp.json()["code"] == "online_payment_unavailable"
    for bad in (
        {"amount": 1000, "method": "online"},
        {"amount": 1000, "method": "offline", "online_gateway": 1},
        {"amount": "1000", "method": "offline"},
        {"amount": 1000, "method": "cash"},
        {"amount": 1000, "method": "online", "online_gateway": 3},
    ):
        assert (await api.post(url, bad)).status_code == 422, bad
    ok = await api.post(url, {"amount": 25000, "method": "offline"})
    assert ok.status_code == 201
    assert ok.json()["payments"] == [
        {
            "amount": 25000,
            "method": "offline",
            "online_gateway": None,
            "paid_at": ok.json()["payments"][0]["paid_at"],
        }
    ]
    await move(api, offline_only["code"], 7)
    closed = await api.post(url, {"amount": 1000, "method": "offline"})
    assert closed.status_code == 409 and closed.json()["code"] == "dossier_closed"
    assert len([e for e in api.dossier_events() if isinstance(e, PaymentRecorded)]) == 1
    assert (
        await api.post("/v1/dossiers/nope/payments", {"amount": 1, "method": "offline"})
    ).status_code == 404


async def test_list_filters_and_cursor_pagination(api: Api) -> None:
    codes = []
    for i in range(5):
        d = await submit(api, channel=1 + i % 2, submitted_at=iso(2023, 6, 1 + i, 8))
        codes.append(d["code"])
        await move(api, d["code"], 2, iso(2023, 6, 1 + i, 9))
    await submit(api, organ_code="000.02.31.H03", channel=1)
    page = await api.get("/v1/dossiers", limit=2)
    assert page.status_code == 200
    seen = [d["code"] for d in page.json()["items"]]
    while page.json()["next_cursor"]:
        page = await api.get("/v1/dossiers", limit=2, cursor=page.json()["next_cursor"])
        seen += [d["code"] for d in page.json()["items"]]
    assert len(seen) == 6 and len(set(seen)) == 6
    online = (await api.get("/v1/dossiers", channel=2)).json()["items"]
    assert [d["code"] for d in online] == codes[1::2]
    received = await api.get(
        "/v1/dossiers", status=2, received_from=iso(2023, 6, 2, 0), received_to=iso(2023, 6, 4, 0)
    )
    assert [d["code"] for d in received.json()["items"]] == codes[1:3]
    other = (await api.get("/v1/dossiers", organ_code="000.02.31.H03")).json()["items"]
    assert len(other) == 1 and other[0]["status"] == 1
    assert (await api.get("/v1/dossiers", cursor="%%%")).status_code == 422
    assert (await api.get("/v1/dossiers", status=11)).status_code == 422
    assert (await api.get("/v1/dossiers/unknown-code")).status_code == 404


async def test_a_call_without_a_valid_token_is_refused(api: Api) -> None:
    client, mint = api.client, api.mint
    assert (await client.post("/v1/dossiers", json=GOOD)).status_code == 401
    read_only = mint.headers(["dossier:read"])
    resp = await client.post("/v1/dossiers", json=GOOD, headers=read_only)
    assert resp.status_code == 403
    assert resp.json()["code"] == "insufficient_scope"
    forged = {"Authorization": "Bearer " + mint.token(["dossier:write"])[:-4] + "AAAA"}
    assert (await client.post("/v1/dossiers", json=GOOD, headers=forged)).status_code == 401

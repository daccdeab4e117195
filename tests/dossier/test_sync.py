"""Batch sync (DongBoHoSoMC): per-record results, the same events as live, idempotent."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from contracts.events import Envelope
from tests.dossier.conftest import Api

RECORD: dict[str, Any] = {
    "code": "000.01.31.H03-230113-900001",
    "procedure_code": "1.004873",
    "organ_code": "000.01.31.H03",
    "channel": 2,
    "applicant": {"type": 1, "name": "Lê Thị Thu", "identifier": "024190004321"},
    "fees": [{"name": "Lệ phí", "amount": 8000}],
    "submitted_at": "2023-01-13T08:00:00+07:00",
    "history": [
        {"status": 2, "at": "2023-01-13T09:00:00+07:00"},
        {"status": 4, "at": "2023-01-16T08:00:00+07:00"},
        {"status": 5, "at": "2023-01-17T10:00:00+07:00"},
        {"status": 4, "at": "2023-01-30T08:00:00+07:00"},
        {"status": 9, "at": "2023-01-31T08:00:00+07:00"},
        {"status": 10, "at": "2023-02-01T08:00:00+07:00"},
    ],
    "payments": [
        {"amount": 8000, "method": "online", "online_gateway": 1, "at": "2023-01-30T09:00:00+07:00"}
    ],
}


def record(code: str, **patch: Any) -> dict[str, Any]:
    return {**copy.deepcopy(RECORD), "code": code, **patch}


def essence(events: list[Envelope]) -> list[tuple[str, Any, dict[str, Any]]]:
    out = []
    for e in events:
        data = e.data.model_dump()
        data.pop("code")
        out.append((e.type, e.time, data))
    return out


@pytest.mark.anyio
async def sync(api: Api, records: list[Any], **headers: str) -> Any:
    resp = await api.post("/v1/dossiers:sync", {"records": records}, **headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.mark.anyio
async def test_sync_emits_exactly_what_the_live_history_emits(api: Api) -> None:
    result = await sync(api, [RECORD])
    assert result["results"] == [{"code": RECORD["code"], "ok": True, "error": None, "note": None}]
    synced = api.dossier_events()
    stored = (await api.get(f"/v1/dossiers/{RECORD['code']}")).json()
    assert stored["status"] == 10 and stored["on_time"] is True and stored["paid_online"] is True
    assert stored["due_at"] == "2023-01-31T09:00:00+07:00"
    # The same history, interactively.
    live = await api.post(
        "/v1/dossiers",
        {
            k: RECORD[k]
            for k in (
                "procedure_code",
                "organ_code",
                "channel",
                "applicant",
                "fees",
                "submitted_at",
            )
        },
    )
    code = live.json()["code"]
    steps: list[tuple[str, dict[str, Any]]] = [
        ("status", {"status": h["status"], "at": h["at"]}) for h in RECORD["history"][:4]
    ]
    steps.append(("payments", RECORD["payments"][0]))
    steps += [("status", {"status": h["status"], "at": h["at"]}) for h in RECORD["history"][4:]]
    for kind, body in steps:
        assert (await api.post(f"/v1/dossiers/{code}/{kind}", body)).status_code in (200, 201)
    interactive = api.dossier_events()[len(synced) :]
    assert essence(interactive) == essence(synced)
    assert len(synced) == 1 + 6 + 1


@pytest.mark.anyio
async def test_sync_is_idempotent_on_code_and_refuses_a_different_record(api: Api) -> None:
    await sync(api, [RECORD])
    before = len(api.dossier_events())
    again = await sync(api, [RECORD])
    assert again["results"][0]["ok"] is True
    assert again["results"][0]["note"] == "already present, unchanged"
    assert again["unchanged"] == 1 and again["created"] == 0
    differs = await sync(api, [record(RECORD["code"], channel=1)])
    assert differs["results"][0]["ok"] is False
    assert "already present" in differs["results"][0]["error"]
    assert len(api.dossier_events()) == before


@pytest.mark.anyio
async def test_each_record_is_validated_on_its_own(api: Api) -> None:
    bad_history = record("X-2", history=[{"status": 9, "at": "2023-01-13T09:00:00+07:00"}])
    backwards = record("X-3", history=[{"status": 2, "at": "2023-01-12T09:00:00+07:00"}])
    records: list[Any] = [
        record("X-1"),
        record("X-1"),  # repeated MaHoSo in the batch
        record("X-4", channel="2"),
        record("X-5", channel=True),
        bad_history,
        backwards,
        record("X-6", procedure_code="9.999999"),
        record("X-7", organ_code="000.99.99.H03"),
        record("X-8", applicant={"type": 1, "name": "A" * 201, "identifier": "1"}),
        record("X-9", submitted_at="2999-01-01T00:00:00+07:00", history=[], payments=[]),
        "not a record",
        record("X-10", procedure_code="1.001193", history=[], payments=RECORD["payments"]),
        record("X-11"),
    ]
    result = await sync(api, records)
    oks = [r["ok"] for r in result["results"]]
    assert oks == [
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        True,
    ]
    errors = [r["error"] for r in result["results"]]
    assert "repeated" in errors[1]
    assert "channel" in errors[2] and "channel" in errors[3]
    assert "allowed next statuses" in errors[4]
    assert "before" in errors[5]
    assert "unknown procedure" in errors[6] and "unknown organ" in errors[7]
    assert "applicant.name" in errors[8]
    assert "future" in errors[9]
    assert result["results"][10]["code"] is None
    assert "bears no fee" in errors[11]
    assert result["created"] == 2 and result["failed"] == 11
    assert {e.subject for e in api.dossier_events()} == {"X-1", "X-11"}


@pytest.mark.anyio
async def test_a_batch_over_1000_records_is_refused_whole(api: Api) -> None:
    resp = await api.post("/v1/dossiers:sync", {"records": [RECORD] * 1001})
    assert resp.status_code == 422
    assert api.dossier_events() == []


@pytest.mark.anyio
async def test_a_generated_code_skips_one_a_sync_already_holds(api: Api) -> None:
    live = await api.post(
        "/v1/dossiers",
        {
            **{k: RECORD[k] for k in ("procedure_code", "organ_code", "channel", "applicant")},
            "submitted_at": "2023-01-13T08:00:00+07:00",
        },
    )
    assert live.json()["code"] == "000.01.31.H03-230113-000001"
    await sync(api, [record("000.01.31.H03-230113-000002", history=[], payments=[])])
    second = await api.post(
        "/v1/dossiers",
        {
            **{k: RECORD[k] for k in ("procedure_code", "organ_code", "channel", "applicant")},
            "submitted_at": "2023-01-13T10:00:00+07:00",
        },
    )
    assert second.json()["code"] == "000.01.31.H03-230113-000003"


def test_sqlite_times_are_written_as_the_column_type_writes_them() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from sqlalchemy.dialects import sqlite

    from lgsp_kit.db import UTCDateTime
    from services.dossier.dossiers.sync import sqlite_time

    bind = UTCDateTime().dialect_impl(sqlite.dialect()).bind_processor(sqlite.dialect())
    assert bind is not None
    hanoi = timezone(timedelta(hours=7))
    for value in (
        datetime(2023, 1, 13, 9, 0, tzinfo=hanoi),
        datetime(2023, 12, 31, 23, 59, 59, 123456, tzinfo=hanoi),
        datetime(2024, 2, 29, 0, 0, 0, 1, tzinfo=UTC),
    ):
        assert sqlite_time(value) == bind(value)
    assert sqlite_time(None) is None


@pytest.mark.anyio
async def test_synced_dossiers_are_found_by_the_list_filters(api: Api) -> None:
    await sync(api, [record("F-1"), record("F-2", channel=1, history=[], payments=[])])
    received = await api.get(
        "/v1/dossiers",
        received_from="2023-01-13T09:00:00+07:00",
        received_to="2023-01-13T09:00:01+07:00",
    )
    assert [d["code"] for d in received.json()["items"]] == ["F-1"]
    assert [d["code"] for d in (await api.get("/v1/dossiers", status=1)).json()["items"]] == ["F-2"]
    got = (await api.get("/v1/dossiers/F-1")).json()
    assert got["fees"] == [{"name": "Lệ phí", "amount": 8000}]
    assert got["applicant"]["name"] == "Lê Thị Thu"
    assert [h["status"] for h in got["history"]] == [1, 2, 4, 5, 4, 9, 10]
    assert got["payments"][0]["paid_at"] == "2023-01-30T09:00:00+07:00"

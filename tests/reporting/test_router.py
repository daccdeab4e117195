"""The reporting API in-process on both backends, a real NATS, and the scenario's events."""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from openpyxl import load_workbook
from prometheus_client.parser import text_string_to_metric_families

from services.reporting.main import create_app
from services.reporting.settings import Settings
from tests.conftest import TokenMint, serve, service_settings
from tests.reporting import scenario
from tests.reporting.events import VN, raw, received

pytestmark = pytest.mark.anyio

READ = ["reporting:read"]
WRITE = ["reporting:read", "reporting:write"]
DECLARE = [*WRITE, "reporting:declare"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, nats_url: str, mint: TokenMint) -> Settings:
    s: Settings = service_settings(Settings, tmp_path, database_url, nats_url, mint)
    return s


def feed(app: Any) -> None:
    app.state.runtime.consumer.apply(raw(scenario.everything()))


async def test_report_json_has_every_row_with_its_parts(
    settings: Settings, mint: TokenMint
) -> None:
    app = create_app(settings)
    async with serve(app) as client:
        feed(app)
        resp = await client.get(
            "/v1/reports/phu-luc-ii", params={"period": "2023"}, headers=mint.headers(READ)
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["period"] == "2023" and body["first_day"] == "2023-01-01"
        rows = {r["stt"]: r for r in body["rows"]}
        for stt, (n, d) in scenario.EXPECTED_2023.items():
            assert (rows[stt]["numerator"], rows[stt]["denominator"]) == (n, d)
            assert set(rows[stt]) >= {"name", "unit", "value", "source"}
        assert rows["6.3"]["name"] == "Tỷ lệ hồ sơ trực tuyến toàn trình"
        assert rows["TT.1"]["in_annex"] is False
        organ = await client.get(
            "/v1/reports/phu-luc-ii",
            params={"period": "2023", "organ": "D1", "level": "district"},
            headers=mint.headers(READ),
        )
        assert {r["stt"]: r for r in organ.json()["rows"]}["6.3"]["numerator"] == 4


async def test_csv_xlsx_and_html_formats(settings: Settings, mint: TokenMint) -> None:
    app = create_app(settings)
    async with serve(app) as client:
        feed(app)
        url, h = "/v1/reports/phu-luc-ii", mint.headers(READ)
        got = await client.get(url, params={"period": "2023", "format": "csv"}, headers=h)
        assert got.headers["content-type"].startswith("text/csv")
        rows = {r["stt"]: r for r in csv.DictReader(io.StringIO(got.text))}
        assert (rows["6.4"]["numerator"], rows["6.4"]["denominator"]) == ("2", "5")
        assert rows["6.4"]["value"] == "40.0"
        # The Accept header chooses the format when `format` is absent.
        got = await client.get(url, params={"period": "2023"}, headers={**h, "Accept": XLSX})
        assert got.headers["content-type"] == XLSX
        sheet = load_workbook(io.BytesIO(got.content)).active
        assert sheet is not None
        values = list(sheet.iter_rows(values_only=True))
        assert values[0][0] == "PHỤ LỤC II"
        header = values.index(next(v for v in values if v[0] == "STT"))
        by_stt = {v[0]: v for v in values[header + 1 :]}
        assert by_stt["6.3"][3] == 66.67 and by_stt["6.3"][4:6] == (4, 6)
        assert by_stt["6.3.1"][3] == 6
        assert by_stt["5.1.3"][4:6] == (2, 3)
        got = await client.get(
            url, params={"period": "2023-Q1"}, headers={**h, "Accept": "text/html"}
        )
        assert got.headers["content-type"].startswith("text/html")
        assert 'data-stt="6.3"' in got.text and "http-equiv" not in got.text


async def test_bad_queries_are_problem_json(settings: Settings, mint: TokenMint) -> None:
    app = create_app(settings)
    async with serve(app) as client:
        h = mint.headers(READ)
        for params, status, field in [
            ({"period": "2023-13"}, 422, "period"),
            ({"period": "2023-Q5"}, 422, "period"),
            ({}, 422, "period"),
            ({"period": "2023", "level": "ward"}, 422, "level"),
            ({"period": "2023", "format": "pdf"}, 422, "format"),
        ]:
            resp = await client.get("/v1/reports/phu-luc-ii", params=params, headers=h)
            assert resp.status_code == status, params
            assert resp.headers["content-type"] == "application/problem+json"
            assert field in [e["field"] for e in resp.json()["errors"]]
        resp = await client.get(
            "/v1/reports/phu-luc-ii", params={"period": "2023", "organ": "X"}, headers=h
        )
        assert resp.status_code == 404 and resp.json()["code"] == "organ_not_found"
        assert (await client.get("/v1/reports/phu-luc-ii?period=2023")).status_code == 401


async def test_declared_rows_through_the_api(settings: Settings, mint: TokenMint) -> None:
    app = create_app(settings)
    async with serve(app) as client:
        h = mint.headers(DECLARE, client_id="so-tttt-bac-giang")
        resp = await client.put("/v1/indicators/4/declared", json={"value": 2}, headers=h)
        assert resp.status_code == 200, resp.text
        assert resp.json()["declared_by"] == "so-tttt-bac-giang"
        resp = await client.put(
            "/v1/indicators/4/declared",
            json={"value": 1, "period": "2022", "note": "đang làm"},
            headers=h,
        )
        assert resp.status_code == 200
        history = await client.get("/v1/indicators/4/declared", headers=h)
        assert [i["value"] for i in history.json()["items"]] == [1, 2]
        report = await client.get("/v1/reports/phu-luc-ii?period=2023", headers=h)
        row4 = {r["stt"]: r for r in report.json()["rows"]}["4"]
        assert (row4["value"], row4["source"]) == (2, "declared")
        for stt, body, status, code in [
            ("6.3", {"value": 50}, 409, "indicator_computed"),
            ("7", {"value": 1}, 404, "indicator_not_found"),
            ("1", {"value": 5}, 422, "invalid_declared_value"),
            ("1", {"value": "1"}, 422, "validation_failed"),
            ("1", {"value": True}, 422, "validation_failed"),
            ("1", {"value": 1, "period": "2023-Q9"}, 422, "validation_failed"),
            ("1", {"value": 1, "who": "x"}, 422, "validation_failed"),
        ]:
            resp = await client.put(f"/v1/indicators/{stt}/declared", json=body, headers=h)
            assert resp.status_code == status, (stt, body, resp.text)
            assert resp.json()["code"] == code
        read_only = mint.headers(READ)
        resp = await client.put("/v1/indicators/1/declared", json={"value": 1}, headers=read_only)
        assert resp.status_code == 403


async def test_declaring_a_row_needs_reporting_declare(settings: Settings, mint: TokenMint) -> None:
    """The declared rows are the province's: `reporting:write` alone does not change them."""
    app = create_app(settings)
    async with serve(app) as client:
        keeper = mint.headers(DECLARE, client_id="so-tttt-bac-giang")
        assert (
            await client.put("/v1/indicators/4/declared", json={"value": 2}, headers=keeper)
        ).status_code == 200
        for organ in ("000.00.31.H03", "000.00.00.H03"):
            writer = mint.headers(WRITE, client_id=f"app-{organ}", organ=organ)
            resp = await client.put("/v1/indicators/4/declared", json={"value": 0}, headers=writer)
            assert resp.status_code == 403, resp.text
            assert resp.json()["code"] == "insufficient_scope"
            assert "reporting:declare" in resp.json()["detail"]
        history = await client.get("/v1/indicators/4/declared", headers=keeper)
        assert [i["value"] for i in history.json()["items"]] == [2]


async def test_indicators_and_status(settings: Settings, mint: TokenMint) -> None:
    app = create_app(settings)
    async with serve(app) as client:
        feed(app)
        h = mint.headers(READ)
        items = (await client.get("/v1/indicators", headers=h)).json()["items"]
        by_stt = {i["stt"]: i for i in items}
        assert by_stt["6.3"]["formula"] == "6.3.2 ÷ 6.3.1" and by_stt["6.3"]["unit"] == "%"
        assert by_stt["2"]["source"] == "declared" and by_stt["2"]["allowed_values"] == [0, 1, 2]
        status = (await client.get("/v1/status", headers=h)).json()
        assert status["events_consumed"]["lgsp.dossier.status_changed"] == 15 + 6
        assert status["events_consumed_total"] == len(scenario.everything())
        # The latest business time of all: the resolution of 2024-01-02.
        assert status["last_event_time"] == "2024-01-02T10:00:00+07:00"


def check_exposition(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Parse with prometheus_client (always) and lint with promtool (when installed)."""
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    promtool = shutil.which("promtool")
    if promtool:
        out = subprocess.run(
            [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
        )
        assert out.stdout + out.stderr == "", out.stdout + out.stderr
    return found


async def test_metrics_are_exact_bounded_and_lint_clean(
    settings: Settings, mint: TokenMint
) -> None:
    app = create_app(settings)
    async with serve(app) as client:
        feed(app)
        text = (await client.get("/metrics")).text
    m = check_exposition(text)
    received_ = m["lgsp_dossiers_received_total"]
    # All time: the 2023 dossiers plus the one of 2024.
    assert received_[(("channel", "online"), ("service_mode", "full"))] == 5
    assert received_[(("channel", "direct"), ("service_mode", "partial"))] == 3
    # R1, R3, R4 and R5 of the scenario paid online (R5 in 2024).
    assert m["lgsp_dossier_payments_total"][(("method", "online"),)] == 4
    assert (
        m["lgsp_documents_sent_total"][(("electronic", "true"), ("sender_level", "province_organ"))]
        == 3
    )
    assert m["lgsp_organs_connected"][(("level", "commune"), ("system", "qlvb"))] == 3
    assert m["lgsp_events_consumed_total"][(("type", "lgsp.documents.document_sent"),)] == 9
    assert "lgsp_projection_lag_seconds" in m
    labels = {k for series in m.values() for key in series for k, _ in key}
    assert "organ_code" not in labels and "code" in labels
    assert all(v not in {"D1", "S1"} for s in m.values() for key in s for _, v in key)


async def test_live_page_needs_no_token_and_the_gateway_route_does(
    settings: Settings, mint: TokenMint
) -> None:
    app = create_app(settings)
    async with serve(app) as client:
        feed(app)
        page = await client.get("/", params={"period": "2023", "refresh": 5})
        assert page.status_code == 200
        assert '<meta http-equiv="refresh" content="5">' in page.text
        assert 'id="chart"' in page.text and 'data-code="6.3"' in page.text
        assert "66.67" in page.text
        assert (await client.get("/v1/dashboard")).status_code == 401
        guarded = await client.get("/v1/dashboard?period=2023", headers=mint.headers(READ))
        assert guarded.status_code == 200 and "66.67" in guarded.text
        xlsx = await client.get("/phu-luc-ii.xlsx", params={"period": "2023"})
        assert xlsx.headers["content-type"] == XLSX
        assert (await client.get("/?period=2023-13")).status_code == 422
    closed = create_app(settings.model_copy(update={"public_page": False}))
    async with serve(closed) as client:
        assert (await client.get("/")).status_code == 404


async def test_the_public_page_and_workbook_hide_who_declared_and_hold_no_formula(
    settings: Settings, mint: TokenMint
) -> None:
    app = create_app(settings)
    async with serve(app) as client:
        h = mint.headers(DECLARE, client_id="so-tttt-bac-giang")
        note = '=HYPERLINK("http://x","y")'
        resp = await client.put("/v1/indicators/4/declared", json={"value": 2}, headers=h)
        assert resp.status_code == 200, resp.text
        body = {"value": 1, "period": "2023", "note": note}
        resp = await client.put("/v1/indicators/3/declared", json=body, headers=h)
        assert resp.status_code == 200, resp.text
        page = await client.get("/", params={"period": "2023"})
        assert page.status_code == 200 and "so-tttt-bac-giang" not in page.text
        xlsx = await client.get("/phu-luc-ii.xlsx", params={"period": "2023"})
        assert xlsx.status_code == 200 and b"so-tttt-bac-giang" not in xlsx.content
        sheet = load_workbook(io.BytesIO(xlsx.content)).active
        assert sheet is not None
        cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
        assert "so-tttt-bac-giang" not in {c.value for c in cells}
        assert not [c for c in cells if c.data_type == "f"]
        assert [c.value for c in cells if c.data_type == "s" and c.value == note] == [note]


async def eventually(client: httpx.AsyncClient, headers: dict[str, str], total: int) -> None:
    for _ in range(150):
        status = (await client.get("/v1/status", headers=headers)).json()
        if status["events_consumed_total"] >= total:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"only {status['events_consumed_total']} of {total} events applied")


async def test_events_published_to_jetstream_reach_the_report(
    settings: Settings, mint: TokenMint, nats_url: str
) -> None:
    app = create_app(settings)
    events = scenario.everything()
    async with serve(app) as client:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            await app.state.runtime.bus.wait_ready()
            for e in [*events, *events[:5]]:  # redelivered duplicates are deduplicated
                await js.publish(
                    e.nats_subject, e.model_dump_json().encode(), headers={"Nats-Msg-Id": e.id}
                )
            h = mint.headers(READ)
            await eventually(client, h, len(events))
            rows = {
                r["stt"]: r
                for r in (await client.get("/v1/reports/phu-luc-ii?period=2023", headers=h)).json()[
                    "rows"
                ]
            }
            for stt, (n, d) in scenario.EXPECTED_2023.items():
                assert (rows[stt]["numerator"], rows[stt]["denominator"]) == (n, d), stt
            # A dossier received now: the current year's ratio moves within the batch's commit.
            now = datetime.now(VN)
            late = received(now, procedure_code="P1", organ_code="D1", channel=2)
            await js.publish(late.nats_subject, late.model_dump_json().encode())
            await eventually(client, h, len(events) + 1)
            m = check_exposition((await client.get("/metrics")).text)
            online_full = (("channel", "online"), ("service_mode", "full"))
            assert m["lgsp_dossiers_received_total"][online_full] == 6
            assert m["lgsp_indicator_ratio"][(("code", "6.3"),)] == 1.0
        finally:
            await nc.close()

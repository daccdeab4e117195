"""The suite fails on a deployment that breaks its published contract (a fixture API, and
events that do not match their schema)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
import uvicorn
from typer.testing import CliRunner

from lgsp.cli import cli
from lgsp_kit.contract._events import Seen, check_seen, load_schemas
from lgsp_kit.natsserver import free_port
from tests.contracts.broken_api import create_app


@pytest.fixture
def broken_api() -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_a_response_that_breaks_the_schema_and_an_ignored_auth_fail_the_run(
    broken_api: str, tmp_path: Path
) -> None:
    junit = tmp_path / "report.xml"
    args = ["contract-test", "--base-url", broken_api, "--client-id", "x", "--client-secret",
            "y", "--junit", str(junit), "--max-examples", "5", "--seed", "7"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert "FAILED api: GET /things/{thing_id}" in result.output
    assert "response_schema_conformance" in result.output
    assert "ignored_auth" in result.output
    assert "reproduce: curl" in result.output
    root = ElementTree.parse(junit).getroot()
    failures = {
        (case.get("name") or "", failure.get("type"))
        for case in root.iter("testcase")
        for failure in case.iter("failure")
    }
    assert any(n.startswith("GET /things/{thing_id}") and t == "response_schema_conformance"
               for n, t in failures), failures  # fmt: skip
    assert any(n.startswith("GET /secret") and t == "ignored_auth" for n, t in failures)
    suite = root.find("testsuite")
    assert suite is not None and int(suite.get("failures", "0")) >= 2


def test_an_unreachable_deployment_is_a_failure_not_a_pass(tmp_path: Path) -> None:
    args = ["contract-test", "--base-url", f"http://127.0.0.1:{free_port()}", "--client-id",
            "x", "--client-secret", "y", "--junit", str(tmp_path / "r.xml")]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "FATAL: no access token" in result.output
    assert 'failures="1"' in (tmp_path / "r.xml").read_text()


def _event(**changes: object) -> bytes:
    event: dict[str, object] = {
        "specversion": "1.0", "id": "e1", "source": "/services/dossier",
        "type": "lgsp.dossier.submitted", "subject": "x", "time": "2023-11-20T08:30:00+07:00",
        "datacontenttype": "application/json",
        "data": {
            "code": "x", "procedure_code": "1.001193", "service_mode": "full",
            "fee_bearing": False, "organ_code": "000.01.31.H03", "organ_level": "commune",
            "channel": 2, "submitted_at": "2023-11-20T08:30:00+07:00",
        },
    }  # fmt: skip
    event.update(changes)
    return json.dumps(event).encode()


def test_events_that_break_their_schema_are_reported() -> None:
    validators = load_schemas()
    good = Seen("lgsp.dossier.submitted", _event(), "e1")
    assert not check_seen([good], validators).failed
    bad_channel = _event(data={**json.loads(_event())["data"], "channel": "2"})
    found = check_seen(
        [
            good,
            Seen("lgsp.dossier.submitted", bad_channel, "e1"),
            Seen("lgsp.dossier.other", _event(type="lgsp.dossier.other"), "e1"),
            Seen("lgsp.dossier.status_changed", _event(), "e1"),
            Seen("lgsp.dossier.submitted", _event(), "not-the-id"),
        ],
        validators,
    )
    titles = {f.check + ": " + f.title for f in found.findings}
    assert "event_schema: lgsp.dossier.submitted does not match its schema" in titles
    assert "event_schema: no published schema" in titles
    assert "event_subject: subject is not the type" in titles
    assert "event_msg_id: Nats-Msg-Id is not the event id" in titles
    assert check_seen([], validators).failed

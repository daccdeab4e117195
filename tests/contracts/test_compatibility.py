"""The changelog rule, checked: a breaking change to an endpoint or an event is found (it needs
`/v2` or a new event type), a compatible one is not; and nothing broke since the last release."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from lgsp.contracts.artefacts import EVENT_SCHEMA_DIR, OPENAPI_DIR
from lgsp.contracts.compat import (
    changes_since,
    event_changes,
    latest_release_tag,
    openapi_changes,
)

SUBMIT = "POST /dossier/v1/dossiers"


def _platform() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((OPENAPI_DIR / "platform.json").read_text(encoding="utf-8"))
    return doc


def _events() -> dict[str, Any]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in EVENT_SCHEMA_DIR.glob("*")}


def test_the_same_contracts_have_no_breaking_change() -> None:
    assert openapi_changes(_platform(), _platform()) == []
    assert event_changes(_events(), _events()) == []


def test_breaking_endpoint_changes_are_found() -> None:
    old = _platform()
    new = copy.deepcopy(old)
    del new["paths"]["/dossier/v1/dossiers/{code}/payments"]
    body = new["components"]["schemas"]["dossier.DossierCreate"]
    body["required"].append("note")
    body["properties"].pop("submitted_at")
    body["properties"]["channel"]["enum"] = [1, 2]
    found = openapi_changes(old, new)
    assert "POST /dossier/v1/dossiers/{code}/payments: removed" in found
    assert f"{SUBMIT}: body field note is now required" in found
    assert f"{SUBMIT}: body field submitted_at no longer accepted" in found
    assert f"{SUBMIT}: body field channel takes fewer values" in found


def test_compatible_endpoint_changes_pass() -> None:
    old = _platform()
    new = copy.deepcopy(old)
    body = new["components"]["schemas"]["dossier.DossierCreate"]
    body["properties"]["new_optional"] = {"type": "string"}
    body["description"] = "reworded"
    new["paths"]["/dossier/v2/dossiers"] = old["paths"]["/dossier/v1/dossiers"]
    assert openapi_changes(old, new) == []


def test_any_change_to_an_event_schema_but_its_words_is_breaking() -> None:
    old = _events()
    worded = copy.deepcopy(old)
    worded["lgsp.dossier.submitted"]["description"] = "reworded"
    assert event_changes(old, worded) == []
    added = copy.deepcopy(old)
    data = added["lgsp.dossier.submitted"]["$defs"]["DossierSubmittedData"]
    data["properties"]["extra"] = {"type": "string"}
    assert event_changes(old, added) == [
        "event lgsp.dossier.submitted: its schema changed (publish a new event type)"
    ]
    removed = {k: v for k, v in old.items() if k != "lgsp.documents.document_sent"}
    assert event_changes(old, removed) == ["event lgsp.documents.document_sent: removed"]


def test_nothing_broke_since_the_last_release() -> None:
    tag = latest_release_tag()
    if tag is None:
        pytest.skip("no release tag (v*) yet; `python -m lgsp.contracts.compat REF` compares")
    assert changes_since(tag) == []

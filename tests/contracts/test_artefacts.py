"""The committed contract artefacts equal the code, are valid, and say enough to code against."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from contracts.events import EVENT_TYPES
from lgsp.contracts.artefacts import (
    ASYNCAPI_DIR,
    EVENT_SCHEMA_DIR,
    OPENAPI_DIR,
    REGENERATE,
    artefacts,
    drift,
)

DOCUMENTS = ("gateway", "dossier", "documents", "reporting", "platform")
PROBLEM = "application/problem+json"
NATIONAL_CONTEXTS = ("/ngsp/", "/dvcqg/")
METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})
# Operations without any input nor a guard: nothing a caller sends can make them fail.
NO_CLIENT_ERRORS = {
    "/healthz",
    "/metrics",
    "/.well-known/jwks.json",
    "/.well-known/oauth-authorization-server",
    "/apis",
}


def _load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def test_the_committed_artefacts_equal_the_code() -> None:
    generated = artefacts()
    again = artefacts()
    assert [a.text for a in generated] == [a.text for a in again], "generation is not stable"
    problems = drift(generated)
    assert not problems, (
        "the committed contracts differ from the code:\n  "
        + "\n  ".join(problems)
        + f"\nregenerate them with: {REGENERATE}"
    )


@pytest.mark.parametrize("name", DOCUMENTS)
def test_each_openapi_document_is_valid(name: str) -> None:
    spec = _load(OPENAPI_DIR / f"{name}.json")
    assert spec["openapi"].startswith("3.1")
    validate(spec)
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(spec)))
    assert refs <= set(spec["components"]["schemas"]), refs - set(spec["components"]["schemas"])


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_operation_has_a_summary_examples_and_its_errors(name: str) -> None:
    spec = _load(OPENAPI_DIR / f"{name}.json")
    schemas = spec["components"]["schemas"]
    gaps = []
    for method, path, op in _operations(spec):
        where = f"{method.upper()} {path}"
        if not op.get("summary") or not op.get("description"):
            gaps.append(f"{where}: summary and one-line description")
        codes = set(op["responses"])
        if not any(c.startswith(("4", "5")) for c in codes) and path not in NO_CLIENT_ERRORS:
            gaps.append(f"{where}: no error response declared")
        # The national contexts answer invalid input HTTP 200 in the national service's own
        # shape (`error_code` "-1", `Status` 0), never 422 (services/national/README.md).
        portal = path.startswith(NATIONAL_CONTEXTS)
        if (op.get("parameters") or op.get("requestBody")) and "422" not in codes and not portal:
            gaps.append(f"{where}: takes input but declares no 422")
        if op.get("security") and not {"401", "403"} <= codes:
            gaps.append(f"{where}: guarded but 401/403 not declared")
        for code, answer in op["responses"].items():
            content = answer.get("content", {})
            if code.startswith(("4", "5")) and content and PROBLEM not in content:
                gaps.append(f"{where}: {code} is not problem+json")
        body = op.get("requestBody")
        if body:
            for media_type, media in body["content"].items():
                schema = media.get("schema", {})
                ref = schema.get("$ref", "").rsplit("/", 1)[-1]
                if not (
                    media.get("example")
                    or media.get("examples")
                    or schema.get("examples")
                    or schemas.get(ref, {}).get("examples")
                ):
                    gaps.append(f"{where}: no example of the {media_type} body")
    assert not gaps, "\n".join(gaps)


def test_operation_ids_are_unique_and_named_after_the_endpoint() -> None:
    spec = _load(OPENAPI_DIR / "platform.json")
    ids = [op["operationId"] for _, _, op in _operations(spec)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in ids), ids
    published = [op for _, path, op in _operations(spec) if re.match(r"^/\w+/v1/", path)]
    assert published and all(
        op["operationId"].startswith(op["tags"][0].split(":")[0] + "_") for op in published
    )


def test_the_platform_document_is_every_published_operation_through_the_gateway() -> None:
    platform = _load(OPENAPI_DIR / "platform.json")
    for service in ("dossier", "documents", "reporting"):
        own = _load(OPENAPI_DIR / f"{service}.json")
        for method, path, op in _operations(own):
            if not path.startswith("/v1/"):
                continue
            merged = platform["paths"][f"/{service}{path}"][method]
            assert merged["operationId"] == f"{service}_{op['operationId']}"
            assert merged["security"][0] == {
                "oauth2": [f"{service}:{'read' if method in ('get', 'head') else 'write'}"]
            }
    assert platform["x-lgsp-unavailable"] == []


def _sample_events() -> dict[str, dict[str, Any]]:
    facts = {
        "code": "H06.22-231101-0001",
        "procedure_code": "1.001234",
        "service_mode": "full",
        "fee_bearing": True,
        "organ_code": "H06.22",
        "organ_level": "province_organ",
        "channel": 2,
    }
    at = "2023-11-01T08:30:00+07:00"
    data = {
        "lgsp.dossier.procedure_published": {
            "code": "1.001234", "name": "Cấp giấy phép", "field": "Xây dựng",
            "level": "province", "online_mode": "full", "full_online_eligible": True,
            "fee_bearing": True, "online_payment": True, "processing_days": 15,
            "changed_at": at,
        },
        "lgsp.dossier.submitted": {**facts, "submitted_at": at},
        "lgsp.dossier.status_changed": {
            **facts, "from_status": 1, "to_status": 2, "at": at, "due_at": at,
        },
        "lgsp.dossier.payment_recorded": {
            **facts, "amount": 50000, "method": "online", "online_gateway": 1, "paid_at": at,
        },
        "lgsp.documents.organ_registered": {
            "code": "H06.22", "name": "Sở Xây dựng", "level": "province_organ",
            "parent_code": "H03", "registered_at": at,
        },
        "lgsp.documents.organ_connection_changed": {
            "code": "H06.22", "level": "province_organ", "system": "qlvb", "connected": True,
            "at": at,
        },
        "lgsp.documents.document_sent": {
            "id": "0b5c", "from_organ": "H06.22", "sender_level": "province_organ",
            "to_organs": ["H06.23"], "document_type": "CV", "electronic": True, "sent_at": at,
        },
        "lgsp.documents.recipient_status_changed": {
            "id": "0b5c", "organ_code": "H06.23", "from_status": "01", "to_status": "03",
            "at": at,
        },
        "lgsp.dossier.dvcqg_accepted": {
            "accepted_at": at,
            "dossiers": [
                {"code": "H06.23-230101-0001", "organ_code": "H06.23",
                 "organ_level": "district", "received_at": at},
                {"code": "H06.23-230101-0002", "organ_code": "H06.23",
                 "organ_level": "district", "received_at": None},
            ],
        },
        "lgsp.dossier.dvcqg_backlog": {
            "at": at, "pending": 3, "refused": 1, "oldest_change_at": at,
        },
    }  # fmt: skip
    return {
        t: {
            "specversion": "1.0",
            "id": f"id-{t}",
            "source": "/services/test",
            "type": t,
            "subject": None,
            "time": at,
            "datacontenttype": "application/json",
            "data": d,
        }
        for t, d in data.items()
    }


def test_every_event_type_has_a_schema_that_agrees_with_its_model() -> None:
    samples = _sample_events()
    assert set(samples) == set(EVENT_TYPES)
    for event_type, event in samples.items():
        schema = _load(EVENT_SCHEMA_DIR / f"{event_type}.json")
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )
        EVENT_TYPES[event_type].model_validate(event)  # the model takes it
        assert not list(validator.iter_errors(event)), event_type
        # What the model refuses, the schema refuses too.
        wrong_type = {**event, "type": "lgsp.dossier.other"}
        extra_field = {**event, "data": {**event["data"], "unexpected": 1}}
        naive_time = {**event, "time": "2023-11-01 08:30"}
        no_data = {k: v for k, v in event.items() if k != "data"}
        for bad in (wrong_type, extra_field, naive_time, no_data):
            assert list(validator.iter_errors(bad)), (event_type, bad)


def test_the_asyncapi_document_names_every_subject_and_resolves() -> None:
    doc = _load(ASYNCAPI_DIR / "lgsp-events.json")
    assert doc["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in doc["channels"].values()}
    assert addresses == set(EVENT_TYPES)
    assert all(a.startswith(("lgsp.dossier.", "lgsp.documents.")) for a in addresses)
    for ref in re.findall(r'"\$ref": "#/([^"]+)"', json.dumps(doc)):
        node: Any = doc
        for part in ref.split("/"):
            node = node[part]
    for op in doc["operations"].values():
        assert op["action"] == "send"
    # The message payloads validate real events (the same shapes as the JSON Schema files).
    registry: Registry[Any] = Registry().with_resource(
        "urn:asyncapi", Resource.from_contents(doc, default_specification=DRAFT202012)
    )
    for event_type, event in _sample_events().items():
        name = EVENT_TYPES[event_type].__name__
        validator = jsonschema.Draft202012Validator(
            {"$ref": f"urn:asyncapi#/components/schemas/{name}"}, registry=registry
        )
        assert not list(validator.iter_errors(event)), event_type
        assert list(validator.iter_errors({**event, "data": {}})), event_type

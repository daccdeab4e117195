"""Status packages out of and into the documents service, with the real samples of
../shared/edxml-samples (organ ids and DocumentId rewritten in a copy to name a test document)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts import edxml as codec
from tests.conftest import TokenMint
from tests.documents.conftest import (
    DISTRICT,
    DISTRICT_2,
    PROVINCE,
    WRITE,
    connect,
    document,
    send,
    set_status,
)

pytestmark = pytest.mark.anyio

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "edxml-samples"
# What every status sample names (read from the files, see test_samples_name_one_document).
SAMPLE_DOCUMENT_ID = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
SAMPLE_SENDER = "000.00.00.G22"
SAMPLE_RECIPIENT = "000.00.00.H41"
XML = {"content-type": "application/xml"}
# Sent the morning of the samples' timestamps (2015/09/20 11:08:36).
SENT_AT = "2015-09-20T08:00:00+07:00"
EDXML_ID = "000.00.00.H03,2015/09/20,123/UBND-KGVX"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def rewritten(name: str, *, sender: str = PROVINCE, recipient: str = DISTRICT) -> bytes:
    """The sample with its document and organs replaced by the test's."""
    text = sample(name).decode()
    text = text.replace(SAMPLE_DOCUMENT_ID, EDXML_ID)
    text = text.replace(SAMPLE_SENDER, sender).replace(SAMPLE_RECIPIENT, recipient)
    return text.encode()


async def sent(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    await connect(client, headers, PROVINCE, DISTRICT, DISTRICT_2)
    body = document(
        PROVINCE,
        [DISTRICT, DISTRICT_2],
        sent_at=SENT_AT,
        promulgation={"place": "Bắc Giang", "date": "2015-09-20"},
    )
    return await send(client, headers, body)


async def receive(
    client: httpx.AsyncClient, headers: dict[str, str], raw: bytes, expect: int
) -> dict[str, Any]:
    resp = await client.post("/v1/status-packages", content=raw, headers={**headers, **XML})
    assert resp.status_code == expect, resp.text
    result: dict[str, Any] = resp.json()
    return result


async def test_samples_name_one_document() -> None:
    """The rewriting above relies on this: each status sample answers 7816/VPCP-TTĐT of G22,
    the 13 coming From the sender and the others From the recipient H41."""
    for path in sorted(SAMPLES.glob("resources_status*.edxml")):
        package = codec.read(path.read_bytes())
        assert isinstance(package, codec.StatusPackage)
        assert package.response_for.document_id == SAMPLE_DOCUMENT_ID
        if package.status_code == "13":
            assert (package.from_.organ_id, package.response_for.organ_id) == (
                SAMPLE_SENDER,
                SAMPLE_RECIPIENT,
            )
        else:
            assert (package.from_.organ_id, package.response_for.organ_id) == (
                SAMPLE_RECIPIENT,
                SAMPLE_SENDER,
            )


async def test_export_reads_back_equal(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    doc = await sent(client, headers)
    await set_status(client, headers, doc["id"], DISTRICT, "03", at="2015-09-20T09:15:00+07:00")

    resp = await client.get(
        f"/v1/documents/{doc['id']}/recipients/{DISTRICT}/status/edxml", headers=headers
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/xml")
    package = codec.read(resp.content)
    assert isinstance(package, codec.StatusPackage)
    assert package.from_.organ_id == DISTRICT
    assert package.from_.organ_name == "Ủy ban nhân dân Thành phố Bắc Giang"
    assert package.response_for == codec.ResponseFor(
        organ_id=PROVINCE,
        code="123/UBND-KGVX",
        promulgation_date=date(2015, 9, 20),
        document_id=EDXML_ID,
    )
    assert package.status_code == "03"
    assert package.timestamp == datetime(2015, 9, 20, 9, 15, tzinfo=timezone(timedelta(hours=7)))
    assert package.description == "Đã tiếp nhận (vào sổ)"
    assert b"<edXML:Timestamp>2015/09/20 09:15:00</edXML:Timestamp>" in resp.content
    assert codec.write(package) == resp.content

    # Applied back here it asks for 03 again, which the transition table refuses.
    answer = await receive(client, headers, resp.content, 409)
    assert answer["code"] == "illegal_transition"


async def test_recall_is_exported_from_the_sender(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    doc = await sent(client, headers)
    await set_status(client, headers, doc["id"], DISTRICT, "13", at="2015-09-20T10:00:00+07:00")
    resp = await client.get(
        f"/v1/documents/{doc['id']}/recipients/{DISTRICT}/status/edxml", headers=headers
    )
    assert resp.status_code == 200, resp.text
    package = codec.read(resp.content)
    assert isinstance(package, codec.StatusPackage)
    assert (package.status_code, package.from_.organ_id, package.response_for.organ_id) == (
        "13",
        PROVINCE,
        DISTRICT,
    )


async def test_samples_apply_in_order(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    doc = await sent(client, headers)
    steps = [
        "resources_status_acceptance_03.edxml",
        "resources_status_assignment_04.edxml",
        "resources_status_processing_05.edxml",
        "resources_status_finish_06.edxml",
        "resources_status_cancellation_13.edxml",
        "resources_status_change-rejection_16.edxml",
    ]
    for name in steps:
        expected = codec.read(sample(name))
        assert isinstance(expected, codec.StatusPackage)
        answer = await receive(client, headers, rewritten(name), 200)
        assert answer["document_id"] == doc["id"]
        assert answer["organ_code"] == DISTRICT
        assert answer["status"] == expected.status_code
        assert datetime.fromisoformat(answer["changed_at"]) == expected.timestamp

    resp = await client.get(f"/v1/documents/{doc['id']}", headers=headers)
    body = resp.json()
    statuses = {r["organ_code"]: r["status"] for r in body["recipients"]}
    assert statuses == {DISTRICT: "16", DISTRICT_2: "01"}
    rejection = codec.read(sample("resources_status_change-rejection_16.edxml"))
    assert isinstance(rejection, codec.StatusPackage)
    last = [t for t in body["trace"] if t["to_status"] == "16"]
    assert [t["note"] for t in last] == [rejection.description]
    recall = [t for t in body["trace"] if t["to_status"] == "13"]
    assert [t["organ_code"] for t in recall] == [PROVINCE]

    # 01 again after 16: not in the transition table.
    answer = await receive(client, headers, rewritten("resources_status_inbox_01.edxml"), 409)
    assert answer["code"] == "illegal_transition"
    assert answer["current_status"] == "16"


async def test_rejection_and_change_acceptance(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    doc = await sent(client, headers)
    answer = await receive(
        client,
        headers,
        rewritten("resources_status_rejection_02.edxml", recipient=DISTRICT_2),
        200,
    )
    assert (answer["organ_code"], answer["status"]) == (DISTRICT_2, "02")
    rejection = codec.read(sample("resources_status_rejection_02.edxml"))
    assert isinstance(rejection, codec.StatusPackage)
    assert answer["reason"] == rejection.description

    await receive(client, headers, rewritten("resources_status_cancellation_13.edxml"), 200)
    answer = await receive(
        client, headers, rewritten("resources_status_change-acceptance_15.edxml"), 200
    )
    assert (answer["organ_code"], answer["status"], answer["allowed_next"]) == (DISTRICT, "15", [])
    resp = await client.get(f"/v1/documents/{doc['id']}", headers=headers)
    statuses = {r["organ_code"]: r["status"] for r in resp.json()["recipients"]}
    assert statuses == {DISTRICT: "15", DISTRICT_2: "02"}


async def test_unknown_document_and_not_a_recipient(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await sent(client, headers)
    answer = await receive(client, headers, sample("resources_status_acceptance_03.edxml"), 404)
    assert answer["code"] == "document_not_found"
    assert SAMPLE_DOCUMENT_ID in answer["detail"]

    # A recall From an organ that is not the document's sender.
    raw = rewritten("resources_status_cancellation_13.edxml", sender=DISTRICT_2)
    answer = await receive(client, headers, raw, 422)
    assert answer["code"] == "not_the_sender"

    raw = rewritten("resources_status_acceptance_03.edxml", recipient="000.00.33.H03")
    answer = await receive(client, headers, raw, 404)
    assert answer["code"] == "recipient_not_found"


async def test_from_organ_must_be_in_scope(
    client: httpx.AsyncClient, headers: dict[str, str], mint: TokenMint
) -> None:
    doc = await sent(client, headers)
    other = mint.headers(WRITE, organ=DISTRICT_2)
    answer = await receive(client, other, rewritten("resources_status_acceptance_03.edxml"), 403)
    assert answer["code"] == "organ_out_of_scope"
    own = mint.headers(WRITE, organ=DISTRICT)
    await receive(client, own, rewritten("resources_status_acceptance_03.edxml"), 200)
    resp = await client.get(f"/v1/documents/{doc['id']}", headers=headers)
    statuses = {r["organ_code"]: r["status"] for r in resp.json()["recipients"]}
    assert statuses == {DISTRICT: "03", DISTRICT_2: "01"}


async def test_bad_packages_change_nothing(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    doc = await sent(client, headers)
    answer = await receive(client, headers, sample("resources_edoc.edxml"), 422)
    assert answer["code"] == "edxml_not_well_formed"
    assert answer["line"] == 74
    answer = await receive(
        client, headers, sample("xml_dc0bdef0-c7a3-4aaf-b717-777303442973.edxml"), 422
    )
    assert answer["code"] == "not_a_status_package"
    # A status package is small: a document package's size is refused before it is read.
    answer = await receive(client, headers, sample("resources_edoc_new.edxml"), 413)
    assert answer["code"] == "package_too_large"
    resp = await client.post(
        "/v1/status-packages",
        content=rewritten("resources_status_acceptance_03.edxml"),
        headers={**headers, "content-type": "application/json"},
    )
    assert resp.status_code == 415, resp.text
    resp = await client.get(f"/v1/documents/{doc['id']}", headers=headers)
    statuses = {r["organ_code"]: r["status"] for r in resp.json()["recipients"]}
    assert statuses == {DISTRICT: "01", DISTRICT_2: "01"}

"""Business operations (revoke, update, replace) with the real samples of ../shared/edxml-samples,
their DocumentIds and organs rewritten in a copy to name documents sent in the test."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from contracts import edxml as codec
from lgsp_kit.db import Database
from lgsp_kit.errors import NotFound, ProblemError
from services.documents.documents import business
from services.documents.scope import OrganScope
from tests.documents.conftest import (
    DISTRICT,
    DISTRICT_2,
    PROVINCE,
    connect,
    document,
    send,
    set_status,
)

pytestmark = pytest.mark.anyio

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "edxml-samples"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# The DocumentIds and organs the three samples carry (see test_samples_name_what_is_rewritten).
PACKAGE_ID = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
UPDATED_ID = "000.00.00.G22,2014/02/30,7806/VPCP-TTĐT"
REPLACED_ID = "000.00.00.G22,2014/01/30,7806/VPCP-TTĐT"
OLD_ID = "000.00.00.H03,2023/11/20,100/UBND-KGVX"
NEW_ID = "000.00.00.H03,2023/11/20,123/UBND-KGVX"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def rewritten(name: str, ids: dict[str, str], sender: str = PROVINCE) -> codec.DocumentPackage:
    text = sample(name).decode()
    for old, new in ids.items():
        text = text.replace(old, new)
    text = text.replace("000.00.00.G22", sender)
    text = text.replace("000.00.00.H41", DISTRICT).replace("000.00.00.H14", DISTRICT_2)
    package = codec.read(text.encode())
    assert isinstance(package, codec.DocumentPackage)
    return package


def reason_of(name: str) -> str:
    package = codec.read(sample(name))
    assert isinstance(package, codec.DocumentPackage) and package.business is not None
    assert package.business.reason is not None
    return package.business.reason


def database(client: httpx.AsyncClient) -> Database:
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    db: Database = transport.app.state.runtime.db  # type: ignore[attr-defined]
    return db


async def two_documents(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    await connect(client, headers, PROVINCE, DISTRICT, DISTRICT_2)
    old = await send(client, headers, document(PROVINCE, [DISTRICT, DISTRICT_2], code_number="100"))
    new = await send(client, headers, document(PROVINCE, [DISTRICT, DISTRICT_2]))
    assert (old["edxml_document_id"], new["edxml_document_id"]) == (OLD_ID, NEW_ID)
    return old, new


async def read_back(
    client: httpx.AsyncClient, headers: dict[str, str], document_id: str
) -> dict[str, Any]:
    resp = await client.get(f"/v1/documents/{document_id}", headers=headers)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def statuses(body: dict[str, Any]) -> dict[str, str]:
    return {r["organ_code"]: r["status"] for r in body["recipients"]}


def run(
    client: httpx.AsyncClient, package: codec.DocumentPackage, scope: str | None = PROVINCE
) -> business.BusinessResult | None:
    with database(client).session() as session:
        return business.apply(session, package, scope=OrganScope(scope))


async def test_samples_name_what_is_rewritten() -> None:
    expected = {
        "resources_edoc_revocation.edxml": (codec.BusinessDocType.REVOKE, None, ()),
        "resources_edoc_update.edxml": (codec.BusinessDocType.UPDATE, UPDATED_ID, ()),
        "resources_edoc_replacement.edxml": (
            codec.BusinessDocType.REPLACE,
            None,
            (REPLACED_ID, REPLACED_ID),
        ),
    }
    for name, (doc_type, named, replaced) in expected.items():
        package = codec.read(sample(name))
        assert isinstance(package, codec.DocumentPackage) and package.business is not None
        assert package.document_id == PACKAGE_ID
        assert package.from_.organ_id == "000.00.00.G22"
        assert package.business.doc_type == doc_type
        assert package.business.document_id == named
        assert tuple(r.document_id for r in package.business.replacement_info) == replaced


async def test_revocation_asks_each_recipient_back(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    old, new = await two_documents(client, headers)
    await set_status(client, headers, old["id"], DISTRICT_2, "02", at="2023-11-20T09:00:00+07:00")

    package = rewritten("resources_edoc_revocation.edxml", {PACKAGE_ID: OLD_ID})
    result = run(client, package)
    assert result is not None
    assert result.operation == "revoked"
    assert result.documents == (old["id"],)
    assert result.new_document is None
    assert result.recalled == ((old["id"], DISTRICT),)
    assert result.skipped == ((old["id"], DISTRICT_2, "02"),)

    body = await read_back(client, headers, old["id"])
    assert body["business_state"] == "revoked"
    assert statuses(body) == {DISTRICT: "13", DISTRICT_2: "02"}
    recall = [t for t in body["trace"] if t["to_status"] == "13"]
    assert [(t["organ_code"], t["note"]) for t in recall] == [
        (PROVINCE, reason_of("resources_edoc_revocation.edxml"))
    ]
    assert statuses(await read_back(client, headers, new["id"])) == {
        DISTRICT: "01",
        DISTRICT_2: "01",
    }

    # The same package again: nobody left to ask.
    again = run(client, package)
    assert again is not None and again.recalled == ()
    assert again.skipped == ((old["id"], DISTRICT, "13"), (old["id"], DISTRICT_2, "02"))


async def test_update_links_and_then_status_samples_answer(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    old, new = await two_documents(client, headers)
    package = rewritten("resources_edoc_update.edxml", {PACKAGE_ID: NEW_ID, UPDATED_ID: OLD_ID})
    result = run(client, package)
    assert result is not None
    assert (result.operation, result.documents, result.new_document) == (
        "updated",
        (old["id"],),
        new["id"],
    )
    assert result.recalled == ((old["id"], DISTRICT), (old["id"], DISTRICT_2))

    body = await read_back(client, headers, old["id"])
    assert (body["business_state"], body["superseded_by"]) == ("updated", new["id"])
    assert statuses(body) == {DISTRICT: "13", DISTRICT_2: "13"}
    assert {t["note"] for t in body["trace"] if t["to_status"] == "13"} == {
        reason_of("resources_edoc_update.edxml")
    }
    fresh = await read_back(client, headers, new["id"])
    assert (fresh["business_state"], fresh["supersedes"]) == (None, old["id"])
    assert statuses(fresh) == {DISTRICT: "01", DISTRICT_2: "01"}

    # The recipients answer with the status samples: 15 agrees, 16 refuses.
    for name, organ in (
        ("resources_status_change-acceptance_15.edxml", DISTRICT),
        ("resources_status_change-rejection_16.edxml", DISTRICT_2),
    ):
        text = sample(name).decode().replace(PACKAGE_ID, OLD_ID)
        text = text.replace("000.00.00.G22", PROVINCE).replace("000.00.00.H41", organ)
        # The samples' timestamp (2015) precedes the test's request: answer now instead.
        text = text.replace("2015/09/20 11:08:36", "2030/01/01 08:00:00")
        resp = await client.post(
            "/v1/status-packages",
            content=text.encode(),
            headers={**headers, "content-type": "application/xml"},
        )
        assert resp.status_code == 200, resp.text
    assert statuses(await read_back(client, headers, old["id"])) == {
        DISTRICT: "15",
        DISTRICT_2: "16",
    }


async def test_replacement_names_each_document_once(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    old, new = await two_documents(client, headers)
    package = rewritten(
        "resources_edoc_replacement.edxml", {PACKAGE_ID: NEW_ID, REPLACED_ID: OLD_ID}
    )
    result = run(client, package)
    assert result is not None
    assert (result.operation, result.documents, result.new_document) == (
        "replaced",
        (old["id"],),
        new["id"],
    )
    assert result.recalled == ((old["id"], DISTRICT), (old["id"], DISTRICT_2))
    body = await read_back(client, headers, old["id"])
    assert (body["business_state"], body["superseded_by"]) == ("replaced", new["id"])
    assert {t["note"] for t in body["trace"] if t["to_status"] == "13"} == {
        reason_of("resources_edoc_replacement.edxml")
    }


async def test_a_new_document_is_no_operation(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    package = codec.read(sample("resources_edoc_new.edxml"))
    assert isinstance(package, codec.DocumentPackage)
    assert run(client, package) is None


async def test_refusals_change_nothing(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    old, new = await two_documents(client, headers)
    # Unknown: the sample's own DocumentId, never sent here.
    unknown = rewritten("resources_edoc_revocation.edxml", {})
    with pytest.raises(NotFound) as missing:
        run(client, unknown)
    assert missing.value.code == "document_not_found"

    # Not the sender: DISTRICT_2 revoking the province's document.
    foreign = rewritten("resources_edoc_revocation.edxml", {PACKAGE_ID: OLD_ID}, DISTRICT_2)
    with pytest.raises(ProblemError) as wrong:
        run(client, foreign)
    assert (wrong.value.status, wrong.value.code) == (422, "not_the_sender")

    # A caller acting for DISTRICT cannot revoke on the province's behalf.
    package = rewritten("resources_edoc_revocation.edxml", {PACKAGE_ID: OLD_ID})
    with pytest.raises(ProblemError) as scope:
        run(client, package, scope=DISTRICT)
    assert (scope.value.status, scope.value.code) == (403, "organ_out_of_scope")

    # An update whose old document is unknown: nothing is linked, nobody asked.
    update = rewritten("resources_edoc_update.edxml", {PACKAGE_ID: NEW_ID})
    with pytest.raises(NotFound):
        run(client, update)

    for doc in (old, new):
        body = await read_back(client, headers, doc["id"])
        assert (body["business_state"], body["supersedes"], body["superseded_by"]) == (
            None,
            None,
            None,
        )
        assert statuses(body) == {DISTRICT: "01", DISTRICT_2: "01"}

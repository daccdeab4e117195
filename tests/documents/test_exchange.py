"""Sending documents and moving each recipient through the exchange statuses."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from contracts.events import (
    DocumentSent,
    OrganConnectionChanged,
    OrganRegistered,
    RecipientStatusChanged,
)
from services.documents.models import Attachment, Document, Recipient, outbox
from services.documents.settings import Settings
from tests.conftest import TokenMint
from tests.documents.conftest import (
    COMMUNE,
    DISTRICT,
    DISTRICT_2,
    PROVINCE,
    SO_TTTT,
    WRITE,
    attachment,
    connect,
    document,
    of_type,
    published,
    send,
    set_status,
)

pytestmark = pytest.mark.anyio

CONNECTED = OrganConnectionChanged.event_type


async def test_three_levels_and_back_through_every_status(
    client: httpx.AsyncClient, headers: dict[str, str], settings: Settings
) -> None:
    await connect(client, headers, PROVINCE, DISTRICT, DISTRICT_2, COMMUNE)

    # Province → two districts: delivered and verified on arrival (01).
    down = await send(client, headers, document(PROVINCE, [DISTRICT, DISTRICT_2], priority=2))
    assert down["electronic"] is True and down["verified"] is True
    assert down["signature"]["algorithm"] == "RSASSA-PKCS1-v1_5-SHA256"
    assert down["sent_at"] == "2023-11-20T08:00:00+07:00"
    assert [r["status"] for r in down["recipients"]] == ["01", "01"]
    assert down["recipients"][0]["allowed_next"] == ["02", "03", "13"]
    assert down["attachments"][0]["sha256"] == down["attachments"][0]["sha256"].lower()
    assert down["edxml_document_id"] == f"{PROVINCE},2023/11/20,123/UBND-KGVX"

    # The district registers, assigns, handles and finishes it; the other refuses it.
    for status, at in [("03", "09:00"), ("04", "09:30"), ("05", "10:00"), ("06", "16:00")]:
        moved = await set_status(
            client, headers, down["id"], DISTRICT, status, at=f"2023-11-20T{at}:00+07:00"
        )
        assert moved["status"] == status
    refused = await set_status(
        client,
        headers,
        down["id"],
        DISTRICT_2,
        "02",
        at="2023-11-20T09:00:00+07:00",
        note="Không thuộc thẩm quyền",
    )
    assert refused["reason"] == "Không thuộc thẩm quyền"
    assert refused["allowed_next"] == []

    # District → commune, then the commune answers the district, the district the province.
    middle = await send(
        client,
        headers,
        document(
            DISTRICT,
            [COMMUNE],
            code_number="45",
            code_notation="UBND-VP",
            sent_at="2023-11-21T08:00:00+07:00",
        ),
    )
    await set_status(client, headers, middle["id"], COMMUNE, "03", at="2023-11-21T08:30:00+07:00")
    reply = await send(
        client,
        headers,
        document(
            COMMUNE,
            [DISTRICT],
            code_number="7",
            code_notation="UBND",
            document_type="BC",
            response_for=middle["id"],
            sent_at="2023-11-22T08:00:00+07:00",
        ),
    )
    assert reply["response_for"] == middle["id"]
    await set_status(client, headers, middle["id"], COMMUNE, "06", at="2023-11-22T08:05:00+07:00")
    up = await send(
        client,
        headers,
        document(
            DISTRICT,
            [PROVINCE],
            code_number="46",
            code_notation="BC-UBND",
            document_type="BC",
            response_for=down["id"],
            sent_at="2023-11-23T08:00:00+07:00",
        ),
    )
    await set_status(client, headers, up["id"], PROVINCE, "03", at="2023-11-23T09:00:00+07:00")

    got = (await client.get(f"/v1/documents/{down['id']}", headers=headers)).json()
    statuses = {r["organ_code"]: r["status"] for r in got["recipients"]}
    assert statuses == {DISTRICT: "06", DISTRICT_2: "02"}
    hops = [(t["organ_code"], t["action"], t["to_status"]) for t in got["trace"]]
    assert hops[0] == (PROVINCE, "sent", None)
    assert (DISTRICT, "delivered", "01") in hops
    assert [h[2] for h in hops if h[0] == DISTRICT] == ["01", "03", "04", "05", "06"]
    assert all(t["at"].endswith("+07:00") for t in got["trace"])

    inbox = (await client.get(f"/v1/organs/{DISTRICT}/inbox", headers=headers)).json()
    assert [i["id"] for i in inbox["items"]] == [reply["id"], down["id"]]  # newest first
    assert [i["status"] for i in inbox["items"]] == ["01", "06"]

    events = await published(
        settings.nats_url, lambda es: len(of_type(es, RecipientStatusChanged.event_type)) >= 13
    )
    assert len(of_type(events, RecipientStatusChanged.event_type)) == 13
    sent = of_type(events, DocumentSent.event_type)
    assert [(e.data.from_organ, e.data.sender_level, len(e.data.to_organs)) for e in sent] == [
        (PROVINCE, "province", 2),
        (DISTRICT, "district", 1),
        (COMMUNE, "commune", 1),
        (DISTRICT, "district", 1),
    ]
    assert all(e.data.electronic for e in sent)
    changes = [
        (e.data.organ_code, e.data.from_status, e.data.to_status)
        for e in of_type(events, RecipientStatusChanged.event_type)
        if e.data.id == down["id"]
    ]
    assert changes == [
        (DISTRICT, None, "01"),
        (DISTRICT_2, None, "01"),
        (DISTRICT, "01", "03"),
        (DISTRICT, "03", "04"),
        (DISTRICT, "04", "05"),
        (DISTRICT, "05", "06"),
        (DISTRICT_2, "01", "02"),
    ]


async def test_recall_accepted_and_refused_and_illegal_moves(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await connect(client, headers, SO_TTTT, DISTRICT, DISTRICT_2)
    doc = await send(client, headers, document(SO_TTTT, [DISTRICT, DISTRICT_2]))
    url_at = "2023-11-20T{}:00+07:00".format

    await set_status(client, headers, doc["id"], DISTRICT, "03", at=url_at("09:00"))
    await set_status(client, headers, doc["id"], DISTRICT, "13", at=url_at("10:00"))
    accepted = await set_status(client, headers, doc["id"], DISTRICT, "15", at=url_at("11:00"))
    assert accepted["status_name"] == "Đồng ý lấy lại"
    assert accepted["allowed_next"] == []

    await set_status(client, headers, doc["id"], DISTRICT_2, "13", at=url_at("10:00"))
    kept = await set_status(
        client, headers, doc["id"], DISTRICT_2, "16", at=url_at("11:00"), note="Đã ban hành"
    )
    assert kept["allowed_next"] == ["04", "05", "06"]
    await set_status(client, headers, doc["id"], DISTRICT_2, "05", at=url_at("12:00"))

    illegal = await set_status(
        client, headers, doc["id"], DISTRICT, "05", at=url_at("12:00"), expect=409
    )
    assert illegal["code"] == "illegal_transition"
    assert illegal["allowed"] == []
    backwards = await set_status(
        client, headers, doc["id"], DISTRICT_2, "03", at=url_at("13:00"), expect=409
    )
    assert backwards["current_status"] == "05"
    assert backwards["allowed"] == ["06", "13"]
    assert "06, 13" in backwards["detail"]
    early = await set_status(
        client, headers, doc["id"], DISTRICT_2, "06", at=url_at("11:30"), expect=409
    )
    assert early["code"] == "out_of_order"
    unknown_code = await set_status(
        client, headers, doc["id"], DISTRICT_2, "07", at=url_at("13:00"), expect=422
    )
    assert unknown_code["code"] == "validation_failed"
    not_recipient = await set_status(
        client, headers, doc["id"], COMMUNE, "03", at=url_at("13:00"), expect=404
    )
    assert not_recipient["code"] == "recipient_not_found"
    missing = await set_status(
        client, headers, "no-such-document", DISTRICT, "03", at=url_at("13:00"), expect=404
    )
    assert missing["code"] == "document_not_found"


async def test_who_may_move_a_recipient(
    client: httpx.AsyncClient, headers: dict[str, str], mint: TokenMint
) -> None:
    await connect(client, headers, SO_TTTT, DISTRICT)
    doc = await send(client, headers, document(SO_TTTT, [DISTRICT]))
    district_app = mint.headers(WRITE, organ=DISTRICT)
    sender_app = mint.headers(WRITE, organ=SO_TTTT)
    at = "2023-11-20T09:00:00+07:00"
    # Only the sender asks for a recall; only the recipient registers the document.
    assert (await set_status(client, district_app, doc["id"], DISTRICT, "13", at=at, expect=403))[
        "code"
    ] == "organ_out_of_scope"
    await set_status(client, sender_app, doc["id"], DISTRICT, "03", at=at, expect=403)
    await set_status(client, district_app, doc["id"], DISTRICT, "03", at=at)
    await set_status(client, sender_app, doc["id"], DISTRICT, "13", at=at)
    # A commune sees neither the document nor the district's inbox.
    commune_app = mint.headers(WRITE, organ=COMMUNE)
    assert (await client.get(f"/v1/documents/{doc['id']}", headers=commune_app)).status_code == 403
    inbox = await client.get(f"/v1/organs/{DISTRICT}/inbox", headers=commune_app)
    assert inbox.status_code == 403


async def test_a_recipient_that_is_not_connected_cannot_receive(
    client: httpx.AsyncClient, headers: dict[str, str], settings: Settings
) -> None:
    await connect(client, headers, PROVINCE, DISTRICT)
    resp = await client.post(
        "/v1/documents", json=document(PROVINCE, [DISTRICT, DISTRICT_2]), headers=headers
    )
    assert resp.status_code == 409
    assert resp.json()["code"] == "recipient_not_connected"
    assert resp.json()["not_connected"] == [DISTRICT_2]
    unconnected_sender = await client.post(
        "/v1/documents", json=document(SO_TTTT, [DISTRICT]), headers=headers
    )
    assert unconnected_sender.status_code == 409
    assert unconnected_sender.json()["code"] == "sender_not_connected"
    # A paper document is not exchanged electronically: it is registered all the same.
    paper = await send(
        client, headers, document(PROVINCE, [DISTRICT_2], electronic=False, attachments=[])
    )
    assert paper["signature"] is None
    assert [r["status"] for r in paper["recipients"]] == ["01"]
    export = await client.get(f"/v1/documents/{paper['id']}/edxml", headers=headers)
    assert export.status_code == 409
    assert export.json()["code"] == "not_electronic"
    with settings_db(client).connect() as conn:
        assert conn.execute(select(func.count()).select_from(Document)).scalar_one() == 1

    events = await published(
        settings.nats_url, lambda es: bool(of_type(es, DocumentSent.event_type))
    )
    [sent] = of_type(events, DocumentSent.event_type)
    assert sent.data.electronic is False
    assert sent.data.to_organs == [DISTRICT_2]


def settings_db(client: httpx.AsyncClient) -> Any:
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    return transport.app.state.runtime.db.engine  # type: ignore[attr-defined]


BAD_INPUT: list[tuple[dict[str, Any], int, str]] = [
    ({"to_organs": ["000.99.99.H03"]}, 422, "unknown_organ"),
    ({"from_organ": "000.99.98.H03"}, 422, "unknown_organ"),
    ({"to_organs": ["31.H03"]}, 422, "validation_failed"),
    ({"from_organ": "000.00.31"}, 422, "validation_failed"),
    ({"to_organs": []}, 422, "validation_failed"),
    ({"to_organs": [DISTRICT, DISTRICT]}, 422, "validation_failed"),
    ({"to_organs": [PROVINCE]}, 422, "self_recipient"),
    ({"electronic": "true"}, 422, "validation_failed"),
    ({"priority": "1"}, 422, "validation_failed"),
    ({"priority": 7}, 422, "validation_failed"),
    ({"document_type": "Công văn"}, 422, "validation_failed"),
    ({"code_number": 123}, 422, "validation_failed"),
    ({"sent_at": "2023-11-20T08:00:00"}, 422, "validation_failed"),
    ({"response_for": "no-such-document"}, 404, "unknown_document"),
    ({"attachments": [attachment(content_base64="not base64!")]}, 422, "invalid_base64"),
    ({"attachments": [attachment(b"x" * 4097)]}, 413, "attachment_too_large"),
    (
        {"attachments": [attachment(content_type="application/x-msdownload")]},
        415,
        "unsupported_content_type",
    ),
    ({"attachments": [attachment(name="../etc/passwd")]}, 422, "validation_failed"),
]


async def test_bad_input_is_refused_and_records_nothing(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await connect(client, headers, PROVINCE, DISTRICT)
    for patch, status, code in BAD_INPUT:
        resp = await client.post(
            "/v1/documents", json={**document(PROVINCE, [DISTRICT]), **patch}, headers=headers
        )
        assert resp.status_code == status, (patch, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.json()["code"] == code, patch
        assert resp.json()["request_id"] == resp.headers["x-request-id"]
    with settings_db(client).connect() as conn:
        for table in (Document, Recipient, Attachment):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0
        # Only what set the test up may wait in the outbox (the directory's seed, one
        # OrganRegistered per organ, goes out at the relay's pace): no document event.
        setup = (CONNECTED, OrganRegistered.event_type)
        staged = select(func.count()).select_from(outbox).where(outbox.c.subject.not_in(setup))
        assert conn.execute(staged).scalar_one() == 0


async def test_a_sender_outside_the_consumers_scope_is_forbidden(
    client: httpx.AsyncClient, headers: dict[str, str], mint: TokenMint
) -> None:
    await connect(client, headers, PROVINCE, DISTRICT, DISTRICT_2, COMMUNE)
    district_app = mint.headers(WRITE, organ=DISTRICT)
    # Its own organ and the organs under it: allowed.
    await send(client, district_app, document(DISTRICT, [PROVINCE]))
    await send(client, district_app, document(COMMUNE, [DISTRICT]))
    for sender in (PROVINCE, DISTRICT_2):
        resp = await client.post(
            "/v1/documents", json=document(sender, [COMMUNE]), headers=district_app
        )
        assert resp.status_code == 403
        assert resp.json()["code"] == "organ_out_of_scope"
    read_only = mint.headers(["documents:read"])
    resp = await client.post(
        "/v1/documents", json=document(PROVINCE, [DISTRICT]), headers=read_only
    )
    assert resp.status_code == 403
    assert resp.json()["code"] == "insufficient_scope"


async def test_inbox_filters_and_cursor_paging(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await connect(client, headers, PROVINCE, SO_TTTT, DISTRICT)
    ids = []
    for i in range(5):
        sender = PROVINCE if i % 2 == 0 else SO_TTTT
        body = document(
            sender,
            [DISTRICT],
            code_number=str(100 + i),
            document_type="QD" if i == 4 else "CV",
            electronic=i != 3,
            attachments=[] if i == 3 else [attachment()],
            sent_at=f"2023-11-{10 + i}T08:00:00+07:00",
        )
        ids.append((await send(client, headers, body))["id"])
    await set_status(client, headers, ids[0], DISTRICT, "03", at="2023-11-20T08:00:00+07:00")

    url = f"/v1/organs/{DISTRICT}/inbox"
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(url, params=params, headers=headers)).json()
        assert len(page["items"]) <= 2
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))

    async def ids_for(**params: Any) -> list[str]:
        resp = await client.get(url, params=params, headers=headers)
        assert resp.status_code == 200, resp.text
        return [i["id"] for i in resp.json()["items"]]

    assert await ids_for(status="03") == [ids[0]]
    assert await ids_for(from_organ=SO_TTTT) == [ids[3], ids[1]]
    assert await ids_for(document_type="QD") == [ids[4]]
    assert await ids_for(electronic="false") == [ids[3]]
    assert await ids_for(
        sent_after="2023-11-11T00:00:00+07:00", sent_before="2023-11-13T00:00:00+07:00"
    ) == [ids[2], ids[1]]
    for bad in ({"cursor": "abc"}, {"status": "9"}, {"sent_after": "2023-11-11"}, {"limit": 0}):
        assert (await client.get(url, params=bad, headers=headers)).status_code == 422
    assert (await client.get("/v1/organs/000.99.99.H03/inbox", headers=headers)).status_code == 404


async def test_attachment_bytes_round_trip_through_the_edxml_export(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await connect(client, headers, PROVINCE, DISTRICT)
    content = bytes(range(256)) * 8
    doc = await send(
        client, headers, document(PROVINCE, [DISTRICT], attachments=[attachment(content)])
    )
    export = await client.get(f"/v1/documents/{doc['id']}/edxml", headers=headers)
    assert export.headers["content-type"].startswith("application/xml")
    assert base64.b64encode(content) in export.content

"""Sending documents: the answer is built from what was written (no read after the write), so it
must be what a read gives; a batch send gives each document the same rules and answer."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from contracts.events.documents import DocumentSent, RecipientStatusChanged
from tests.conftest import TokenMint
from tests.documents.conftest import (
    COMMUNE,
    DISTRICT,
    DISTRICT_2,
    PROVINCE,
    WRITE,
    attachment,
    connect,
    document,
    of_type,
    published,
    send,
)

pytestmark = pytest.mark.anyio


async def test_the_answer_to_a_send_is_what_a_read_gives(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await connect(client, headers, PROVINCE, DISTRICT, DISTRICT_2)
    body = document(
        DISTRICT,
        [PROVINCE, DISTRICT_2],
        attachments=[attachment(), attachment(name="phu-luc.pdf")],
        due_date="2023-12-01",
        priority=2,
    )
    sent = await send(client, headers, body)
    read = await client.get(f"/v1/documents/{sent['id']}", headers=headers)
    assert read.status_code == 200
    assert sent == read.json()
    assert [r["status"] for r in sent["recipients"]] == ["01", "01"]
    assert [t["action"] for t in sent["trace"]] == ["sent", "delivered", "delivered"]
    assert len(sent["attachments"]) == 2 and sent["signature"] is not None


async def test_a_paper_document_answers_as_it_reads(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    body = document(COMMUNE, [DISTRICT], electronic=False, attachments=[])
    sent = await send(client, headers, body)
    read = await client.get(f"/v1/documents/{sent['id']}", headers=headers)
    assert sent == read.json()
    assert sent["signature"] is None and sent["electronic"] is False


async def batch(
    client: httpx.AsyncClient, headers: dict[str, str], items: list[dict[str, Any]]
) -> dict[str, Any]:
    resp = await client.post("/v1/documents:batch", json={"items": items}, headers=headers)
    assert resp.status_code == 200, resp.text
    answer: dict[str, Any] = resp.json()
    return answer


async def count(client: httpx.AsyncClient, headers: dict[str, str], organ: str) -> int:
    resp = await client.get(f"/v1/organs/{organ}/inbox", headers=headers)
    assert resp.status_code == 200
    return len(resp.json()["items"])


async def test_a_batch_sends_each_document_as_a_single_send_would(
    client: httpx.AsyncClient, headers: dict[str, str], nats_url: str
) -> None:
    await connect(client, headers, PROVINCE, DISTRICT, DISTRICT_2)
    good = document(DISTRICT, [PROVINCE, DISTRICT_2], code_number="1")
    items = [
        {"key": "b-1", "document": good},
        {"key": "b-2", "document": document(DISTRICT, [COMMUNE], code_number="2")},
        {"key": "b-3", "document": {**good, "to_organs": []}},
        {"key": "b-4", "document": document(DISTRICT, ["000.99.99.H03"], code_number="4")},
        {"key": "b-1", "document": document(DISTRICT, [PROVINCE], code_number="5")},
        {"key": "b-6", "document": document(DISTRICT_2, [DISTRICT], code_number="6")},
    ]
    answer = await batch(client, headers, items)
    assert (answer["created"], answer["replayed"], answer["failed"]) == (2, 0, 4)
    by_index = answer["results"]
    assert [r["status"] for r in by_index] == [201, 409, 422, 422, 422, 201]
    assert [r["code"] for r in by_index] == [
        None,
        "recipient_not_connected",
        "invalid_document",
        "unknown_organ",
        "duplicate_key",
        None,
    ]
    assert by_index[2]["errors"][0]["field"] == "document.to_organs"
    # What was stored is what a single send stores, and reads back the same.
    read = await client.get(f"/v1/documents/{by_index[0]['id']}", headers=headers)
    assert read.status_code == 200
    assert read.json()["signature"] is not None
    assert [r["status"] for r in read.json()["recipients"]] == ["01", "01"]
    assert await count(client, headers, COMMUNE) == 0
    assert await count(client, headers, DISTRICT_2) == 1
    # Its events are those of single sends: DocumentSent and one status change a recipient.
    sent, changed = DocumentSent.event_type, RecipientStatusChanged.event_type
    seen = await published(
        nats_url, lambda es: len(of_type(es, sent)) >= 2 and len(of_type(es, changed)) >= 3
    )
    assert (len(of_type(seen, sent)), len(of_type(seen, changed))) == (2, 3)


async def test_a_batch_again_replays_and_shares_keys_with_single_sends(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await connect(client, headers, PROVINCE, DISTRICT)
    body = document(DISTRICT, [PROVINCE])
    items = [{"key": "k-1", "document": body}]
    first = await batch(client, headers, items)
    again = await batch(client, headers, items)
    assert again["results"][0] | {"status": 201, "replayed": False} == first["results"][0]
    assert (again["created"], again["replayed"]) == (0, 1)
    # The single send with the same key and document replays the batch's answer …
    resp = await client.post(
        "/v1/documents", json=body, headers={**headers, "Idempotency-Key": "k-1"}
    )
    assert resp.status_code == 201 and resp.headers["Idempotent-Replayed"] == "true"
    assert resp.json()["id"] == first["results"][0]["id"]
    # … and another document under that key is refused, in a batch as alone.
    other = document(DISTRICT, [PROVINCE], code_number="999")
    refused = await batch(client, headers, [{"key": "k-1", "document": other}])
    assert refused["results"][0]["code"] == "idempotency_key_reused"
    assert await count(client, headers, PROVINCE) == 1


async def test_a_batch_outside_the_callers_scope_or_too_large_stores_nothing(
    client: httpx.AsyncClient, mint: TokenMint, headers: dict[str, str]
) -> None:
    await connect(client, headers, PROVINCE, DISTRICT, DISTRICT_2)
    commune_only = mint.headers(WRITE, organ=COMMUNE)
    items = [{"key": "s-1", "document": document(DISTRICT, [PROVINCE])}]
    answer = await batch(client, commune_only, items)
    assert answer["results"][0]["status"] == 403
    assert answer["results"][0]["code"] == "organ_out_of_scope"
    resp = await client.post("/v1/documents:batch", json={"items": []}, headers=headers)
    assert resp.status_code == 422
    assert await count(client, headers, PROVINCE) == 0


async def test_first_signatures_of_a_batch_each_get_the_senders_own_key(
    client: httpx.AsyncClient, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The keys of a batch's first-time senders (organs connected before keys were made on
    connection, or whose key could not be made then) are made side by side (keys.make_keys):
    each sender still signs with a key of its own, whose certificate verifies its documents."""
    import threading

    from services.documents.signing import canonical, keys

    made_in: list[str] = []
    new_private_key = keys.new_private_key

    def recording() -> Any:
        made_in.append(threading.current_thread().name)
        return new_private_key()

    monkeypatch.setattr(keys, "make_key_apart", lambda *_: None)
    monkeypatch.setattr(keys, "new_private_key", recording)

    await connect(client, headers, PROVINCE, DISTRICT, DISTRICT_2, COMMUNE)
    senders = [DISTRICT, DISTRICT_2, COMMUNE]
    items = [
        {"key": f"first-{n}", "document": document(organ, [PROVINCE], code_number=str(n))}
        for n, organ in enumerate(senders * 2)
    ]
    answer = await batch(client, headers, items)
    assert answer["created"] == 6
    fingerprints = set()
    for organ in senders:
        resp = await client.get(f"/v1/organs/{organ}/certificate", headers=headers)
        assert resp.status_code == 200, resp.text
        fingerprints.add(resp.json()["fingerprint_sha256"])
        public = canonical.public_key_of(resp.json()["certificate_pem"])
        assert public.key_size == 3072  # type: ignore[union-attr]
    assert len(fingerprints) == 3
    assert len(made_in) == 3 and all(name.startswith("signing") for name in made_in), made_in
    inbox = await client.get(f"/v1/organs/{PROVINCE}/inbox", headers=headers)
    assert {i["status"] for i in inbox.json()["items"]} == {
        "01"
    }  # arrived: each signature verified
    assert len(inbox.json()["items"]) == 6


async def test_an_organ_connected_to_qlvb_gets_its_key_then_and_sends_without_making_one(
    client: httpx.AsyncClient, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key is made when the organ is connected (off the write lock), not at its first send;
    a disconnection and a new connection keep it."""
    from services.documents.signing import keys

    made = 0
    new_private_key = keys.new_private_key

    def counting() -> Any:
        nonlocal made
        made += 1
        return new_private_key()

    monkeypatch.setattr(keys, "new_private_key", counting)
    url = f"/v1/organs/{DISTRICT}/certificate"
    assert (await client.get(url, headers=headers)).status_code == 404
    await connect(client, headers, DISTRICT, PROVINCE)
    assert made == 2
    certificate = await client.get(url, headers=headers)
    assert certificate.status_code == 200, certificate.text
    assert certificate.json()["managed_here"] is True

    sent = await client.post("/v1/documents", json=document(DISTRICT, [PROVINCE]), headers=headers)
    assert sent.status_code == 201, sent.text
    assert made == 2
    assert (
        sent.json()["signature"]["certificate_fingerprint"]
        == (certificate.json()["fingerprint_sha256"])
    )

    off = {"system": "qlvb", "connected": False, "at": "2023-06-01T08:00:00+07:00"}
    on = {**off, "connected": True, "at": "2023-07-01T08:00:00+07:00"}
    for change in (off, on):
        resp = await client.post(f"/v1/organs/{DISTRICT}/connections", json=change, headers=headers)
        assert resp.json()["changed"] is True
    assert made == 2
    assert (await client.get(url, headers=headers)).json() == certificate.json()

"""`Idempotency-Key` on sends and status changes: a retry gets the first answer, once."""

from __future__ import annotations

import httpx
import pytest

from contracts.events import DocumentSent
from services.documents.settings import Settings
from tests.documents.conftest import connect, document, of_type, published

pytestmark = pytest.mark.anyio

SENDER = "000.00.01.H03"
RECIPIENT = "000.00.31.H03"


async def test_a_retried_send_is_answered_once_and_sent_once(
    client: httpx.AsyncClient, headers: dict[str, str], settings: Settings
) -> None:
    await connect(client, headers, SENDER, RECIPIENT)
    keyed = {**headers, "Idempotency-Key": "van-ban-123"}
    body = document(SENDER, [RECIPIENT])
    first = await client.post("/v1/documents", json=body, headers=keyed)
    again = await client.post("/v1/documents", json=body, headers=keyed)
    assert first.status_code == again.status_code == 201, first.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"

    other = await client.post(
        "/v1/documents", json={**body, "subject": "Một văn bản khác"}, headers=keyed
    )
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"

    inbox = await client.get(f"/v1/organs/{RECIPIENT}/inbox", headers=headers)
    assert [d["id"] for d in inbox.json()["items"]] == [first.json()["id"]]
    events = await published(
        settings.nats_url, lambda es: len(of_type(es, DocumentSent.event_type)) >= 1
    )
    assert len(of_type(events, DocumentSent.event_type)) == 1


async def test_a_retried_status_change_is_not_refused_as_illegal(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await connect(client, headers, SENDER, RECIPIENT)
    sent = await client.post("/v1/documents", json=document(SENDER, [RECIPIENT]), headers=headers)
    url = f"/v1/documents/{sent.json()['id']}/recipients/{RECIPIENT}/status"
    keyed = {**headers, "Idempotency-Key": "tiep-nhan-1"}
    body = {"status": "03", "at": "2023-11-20T09:00:00+07:00"}
    first = await client.post(url, json=body, headers=keyed)
    assert first.status_code == 200, first.text
    again = await client.post(url, json=body, headers=keyed)
    assert again.status_code == 200
    assert again.json() == first.json()
    unkeyed = await client.post(url, json=body, headers=headers)
    assert unkeyed.status_code == 409  # without a key, 03 → 03 is an illegal move

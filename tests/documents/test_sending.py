"""Sending documents: the answer is built from what was written (no read after the write), so it
must be what a read gives; a batch send gives each document the same rules and answer."""

from __future__ import annotations

import httpx
import pytest

from tests.documents.conftest import (
    COMMUNE,
    DISTRICT,
    DISTRICT_2,
    PROVINCE,
    attachment,
    connect,
    document,
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

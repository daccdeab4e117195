"""Verification on receipt of a document sent here: the stored bytes and header must still
carry the sender's signature, or the recipient refuses it (02) with the reason."""

from __future__ import annotations

import httpx
import pytest

from services.documents.documents import repository, service
from services.documents.models import Document
from tests.documents.conftest import DISTRICT, PROVINCE, connect, document, send

pytestmark = pytest.mark.anyio


async def test_receipt_checks_bytes_header_and_key(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await connect(client, headers, PROVINCE, DISTRICT)
    doc = await send(client, headers, document(PROVINCE, [DISTRICT]))
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    db = transport.app.state.runtime.db  # type: ignore[attr-defined]
    with db.session() as session:
        stored = session.get(Document, doc["id"])
        assert stored is not None
        files = repository.attachments(session, stored.id)
        assert service.verify_on_receipt(session, stored, [DISTRICT], files) is None

        files[0].content = files[0].content[:-1] + b"!"
        reason = service.verify_on_receipt(session, stored, [DISTRICT], files)
        assert reason is not None and "SHA-256" in reason
        session.expire_all()

        stored = session.get(Document, doc["id"])
        assert stored is not None
        files = repository.attachments(session, stored.id)
        stored.subject = "Về việc khác"
        reason = service.verify_on_receipt(session, stored, [DISTRICT], files)
        assert reason is not None and "signature does not match" in reason
        stored.subject = doc["subject"]
        assert service.verify_on_receipt(session, stored, [DISTRICT, PROVINCE], files)
        stored.key_fingerprint = "0" * 64
        reason = service.verify_on_receipt(session, stored, [DISTRICT], files)
        assert reason is not None and "certificate" in reason
        session.rollback()

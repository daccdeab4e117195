"""A dossier change marks the dossier pending for DVCQG in its own transaction (the triggers of
migration 0004), on SQLite and PostgreSQL, whoever writes it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from services.dossier.models import DvcqgSync
from tests.dossier.conftest import Api

pytestmark = pytest.mark.anyio
BODY: dict[str, Any] = {
    "procedure_code": "1.004873",
    "organ_code": "000.01.31.H03",
    "channel": 2,
    "applicant": {"type": 1, "name": "Nguyễn Văn An", "identifier": "024090001234"},
}


def marks(api: Api) -> list[tuple[int, bool]]:
    db = api.app.state.runtime.db
    t = DvcqgSync.__table__  # type: ignore[attr-defined]
    with db.reader.connect() as conn:
        rows = conn.execute(select(t.c.changes, t.c.pending_since).order_by(t.c.dossier_id))
        return [(r.changes, r.pending_since is not None) for r in rows]


async def test_each_change_and_payment_marks_its_dossier(api: Api) -> None:
    created = await api.post("/v1/dossiers", BODY)
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    assert marks(api) == [(1, True)]
    assert (await api.post(f"/v1/dossiers/{code}/status", {"status": 2})).status_code == 200
    paid = await api.post(f"/v1/dossiers/{code}/payments", {"amount": 50000, "method": "offline"})
    assert paid.status_code == 201, paid.text
    assert marks(api) == [(3, True)]
    refused = await api.post(f"/v1/dossiers/{code}/status", {"status": 1})
    assert refused.status_code == 409  # a refused change marks nothing
    assert marks(api) == [(3, True)]

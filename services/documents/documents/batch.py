"""Batch send (`POST /v1/documents:batch`): many documents in one call and one transaction.

Each item is a document with the idempotency key it would carry sent alone, and goes through
exactly what `POST /v1/documents` does (`service.prepare`: checks, signature, verification on
receipt), on its own: an item refused (invalid, unknown organ, not connected, out of scope,
its key reused for another document…) is reported with the status and problem code the single
send would have answered and stores nothing; the others are stored. An item whose key was
already used for the same document (in a batch or alone) is not sent again: its first answer
stands (`replayed`). The keys are those of the single send (same client, same table, same
fingerprint), so either way of sending replays the other.

The accepted documents are signed and checked on arrival side by side, on every core
(`service.sign_all`), each as it would be alone; then written together, one multi-row insert
per table (`service.write`), and each one's answer is remembered under its key in the same
transaction. Documents of one batch cannot answer (`response_for`) one another: the document
answered must be stored first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import Table, insert, select
from sqlmodel import Session

from lgsp_kit.errors import ProblemError, problem_response
from lgsp_kit.idempotency import fingerprint
from lgsp_kit.sessions import unit_of
from services.documents.documents import service
from services.documents.documents.schemas import BatchItemIn, BatchResponse, BatchResult
from services.documents.models import Organ
from services.documents.scope import OrganScope
from services.documents.settings import Settings
from services.documents.signing import keys

# The single send whose answers a batch item shares (its key, its fingerprint).
SEND_METHOD, SEND_PATH = "POST", "/v1/documents"


def _refused(index: int, key: str | None, problem: ProblemError) -> BatchResult:
    errors = problem.extra.get("errors")
    return BatchResult(
        index=index,
        key=key,
        ok=False,
        status=problem.status,
        code=problem.code,
        detail=problem.detail,
        errors=errors,
    )


def _invalid(index: int, key: str | None, exc: ValidationError) -> BatchResult:
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
    ]
    return BatchResult(
        index=index,
        key=key,
        ok=False,
        status=422,
        code="invalid_document",
        detail=f"item {index} is not a valid document",
        errors=errors,
    )


def send_batch(
    session: Session,
    raw_items: Sequence[dict[str, Any]],
    *,
    table: Table,
    caller: str,
    scope: OrganScope,
    settings: Settings,
) -> BatchResponse:
    if len(raw_items) > settings.max_batch_documents:
        raise ProblemError(
            f"at most {settings.max_batch_documents} documents a batch",
            status=422,
            code="batch_too_large",
        )
    # Two batches storing the same key at once: the second one's commit fails on the key's
    # uniqueness and nothing of it is stored; sent again, it replays what the first stored.
    unit_of(session).on_conflict.append(
        lambda _session: problem_response(
            409,
            "concurrent_batch",
            "a concurrent request stored one of these keys first; nothing of this batch was "
            "stored: send it again (what is stored now is replayed)",
        )
    )
    results: list[BatchResult | None] = [None] * len(raw_items)
    valid: list[tuple[int, BatchItemIn, str]] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_items):
        key = raw.get("key") if isinstance(raw.get("key"), str) else None
        try:
            item = BatchItemIn.model_validate(raw)
        except ValidationError as exc:
            results[index] = _invalid(index, key, exc)
            continue
        if item.key in seen:
            results[index] = _refused(
                index,
                item.key,
                ProblemError(
                    f"the key {item.key!r} is used by an earlier item of this batch",
                    status=422,
                    code="duplicate_key",
                ),
            )
            continue
        seen.add(item.key)
        printed = fingerprint(SEND_METHOD, SEND_PATH, orjson.dumps(raw["document"]))
        valid.append((index, item, printed))

    stored = {
        row.key: row
        for row in session.execute(
            select(table.c.key, table.c.fingerprint, table.c.body).where(
                table.c.client_id == caller, table.c.key.in_([i.key for _, i, _ in valid])
            )
        )
    }
    service.load_organs(
        session,
        {c for _, i, _ in valid for c in (i.document.from_organ, *i.document.to_organs)},
    )
    # The first signatures of the batch's senders (those this caller may send for), side by side.
    senders = {i.document.from_organ for _, i, _ in valid if i.document.electronic}
    keys.make_keys(
        session,
        [
            organ
            for code in sorted(senders)
            if (organ := session.get(Organ, code)) is not None and scope.covers(session, code)
        ],
    )
    accepted: list[tuple[int, str, str, service.Prepared]] = []
    for index, item, printed in valid:
        first = stored.get(item.key)
        if first is not None:
            if first.fingerprint != printed:
                results[index] = _refused(
                    index,
                    item.key,
                    ProblemError(
                        "this key was already used with another document",
                        status=422,
                        code="idempotency_key_reused",
                    ),
                )
            else:
                results[index] = BatchResult(
                    index=index,
                    key=item.key,
                    ok=True,
                    status=200,
                    id=orjson.loads(first.body).get("id"),
                    replayed=True,
                )
            continue
        try:
            prepared = service.prepare(
                session, item.document, scope=scope, settings=settings, sign=False
            )
        except ProblemError as problem:
            results[index] = _refused(index, item.key, problem)
            continue
        accepted.append((index, item.key, printed, prepared))
        results[index] = BatchResult(
            index=index, key=item.key, ok=True, status=201, id=prepared.document.id
        )

    service.sign_all([p for _, _, _, p in accepted])
    service.write(session, [p for _, _, _, p in accepted])
    if accepted:
        now = datetime.now(UTC)
        session.execute(
            insert(table),
            [
                {
                    "client_id": caller,
                    "key": key,
                    "fingerprint": printed,
                    "status_code": 201,
                    "body": prepared.out().model_dump_json(),
                    "created_at": now,
                }
                for _, key, printed, prepared in accepted
            ],
        )
    final = [r for r in results if r is not None]
    assert len(final) == len(raw_items)
    return BatchResponse(
        results=final,
        created=len(accepted),
        replayed=sum(1 for r in final if r.replayed),
        failed=sum(1 for r in final if not r.ok),
    )

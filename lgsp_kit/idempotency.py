"""`Idempotency-Key` on POSTs: the same key and body replay the first answer.

Keys are scoped per calling client (the token's subject), so two integrators never collide.
The key is remembered in the same transaction as the work, and only for a successful answer:
a refused request changed nothing, so retrying it simply runs it again. A service keeps its
keys in its own table (`define_idempotency(Base.metadata)`) and makes its dependency once:
`Idempotent = Annotated[Idempotency, idempotent(idempotency_record)]`. An endpoint then
answers with `idem.answer(service.do(session, ...), status_code=201)`; a replay never reaches it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel
from sqlalchemy import Column, Integer, MetaData, String, Table, UniqueConstraint, insert, select
from sqlalchemy.orm import Session

from lgsp_kit.db import UTCDateTime
from lgsp_kit.errors import invalid
from lgsp_kit.sessions import WriteSession, unit_of

REPLAYED_HEADER = "Idempotent-Replayed"


def define_idempotency(metadata: MetaData) -> Table:
    """The first successful answer to a POST carrying an Idempotency-Key, per calling client."""
    return Table(
        "idempotency_record",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("client_id", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("status_code", Integer, nullable=False),
        Column("body", String(), nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        UniqueConstraint("client_id", "key"),
    )


@dataclass(frozen=True)
class IdempotencyKey:
    client_id: str
    key: str
    fingerprint: str


async def caller_id(request: Request) -> str:
    """The calling client (token subject); `anonymous` only when auth is switched off."""
    caller = getattr(request.state, "caller", None)
    return caller.client_id if caller is not None else "anonymous"


CallerId = Annotated[str, Depends(caller_id)]


def fingerprint(method: str, path: str, body: bytes) -> str:
    try:
        canonical = json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
    except ValueError:
        canonical = body.decode("utf-8", "replace")
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


async def idempotency_key(
    request: Request,
    client: CallerId,
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=200,
            description="a client-chosen unique key: a retry with the same key and body gets "
            "the first answer; the same key with another body is refused (422)",
        ),
    ] = None,
) -> IdempotencyKey | None:
    if key is None:
        return None
    body = await request.body()
    return IdempotencyKey(client, key, fingerprint(request.method, request.url.path, body))


IdempotencyDep = Annotated[IdempotencyKey | None, Depends(idempotency_key)]


def _replay(session: Session, table: Table, idem: IdempotencyKey) -> Response | None:
    found = session.execute(
        select(table.c.fingerprint, table.c.status_code, table.c.body).where(
            table.c.client_id == idem.client_id, table.c.key == idem.key
        )
    ).first()
    if found is None:
        return None
    if found.fingerprint != idem.fingerprint:
        raise invalid(
            "Idempotency-Key",
            "used for another body",
            detail="this Idempotency-Key was already used with another request",
            code="idempotency_key_reused",
        )
    return Response(
        found.body,
        status_code=found.status_code,
        media_type="application/json",
        headers={REPLAYED_HEADER: "true"},
    )


def _remember(session: Session, table: Table, idem: IdempotencyKey, status: int, body: str) -> None:
    session.execute(
        insert(table).values(
            client_id=idem.client_id,
            key=idem.key,
            fingerprint=idem.fingerprint,
            status_code=status,
            body=body,
            created_at=datetime.now(UTC),
        )
    )


@dataclass(frozen=True)
class Idempotency:
    """The request's key (if any) on the request's unit of work (`WriteSession`)."""

    session: Session
    table: Table
    key: IdempotencyKey | None

    def answer(self, result: BaseModel, *, status_code: int) -> Response:
        """The JSON answer, remembered with the work when the request carries a key."""
        body = result.model_dump_json()
        if self.key is not None:
            _remember(self.session, self.table, self.key, status_code, body)
        return Response(body, status_code=status_code, media_type="application/json")


def idempotent(table: Table) -> Any:
    """The dependency of a service whose keys live in `table`, for
    `Idempotent = Annotated[Idempotency, idempotent(table)]`: a request whose key was seen is
    answered as the first one was, in its unit of work before its endpoint runs or, when a
    concurrent request with the same key committed first, instead of its own work."""

    async def dependency(session: WriteSession, key: IdempotencyDep) -> Idempotency:
        if key is not None:
            unit = unit_of(session)
            replay = functools.partial(_replay, table=table, idem=key)
            unit.guards.append(replay)
            unit.on_conflict.append(replay)
        return Idempotency(session, table, key)

    return Depends(dependency)

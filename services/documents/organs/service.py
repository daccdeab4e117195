"""The organ directory (danh mục cơ quan) and each organ's connections to the two systems."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, Select, bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session, func, select

from contracts import reference
from contracts.events.documents import (
    OrganConnectionChanged,
    OrganConnectionChangedData,
    OrganRegistered,
    OrganRegisteredData,
)
from lgsp_kit.db import table_of
from lgsp_kit.errors import Conflict, NotFound, ProblemError
from lgsp_kit.fields import in_display_zone
from lgsp_kit.outbox import add_events
from lgsp_kit.paging import TEXT
from lgsp_kit.reads import rows, shapes
from lgsp_kit.sessions import after_commit, unit_of
from services.documents.models import Organ, OrganKey, outbox
from services.documents.organs.schemas import (
    CertificateOut,
    ConnectionChange,
    ConnectionResult,
    Connections,
    ConnectionTimes,
    OrganOut,
    OrganPage,
)
from services.documents.scope import OrganScope
from services.documents.signing import keys

SOURCE = "/lgsp/documents"
# An organ outside the province, recorded when a package it sent is imported.
EXTERNAL = "external"
NATIONAL = "national"
# Levels of organs outside the province: their copies of a document travel on the national axis.
OUTSIDE = frozenset({EXTERNAL, NATIONAL})


def seed_directory(session: Session) -> int:
    """Load the reference catalogue into an empty directory, one OrganRegistered per organ."""
    if session.exec(select(func.count()).select_from(Organ)).one():
        return 0
    since = reference.directory_since()
    rows = [Organ(**o.model_dump()) for o in reference.organs().values()]
    session.add_all(rows)
    add_events(session, outbox, [registered_event(o, since) for o in rows])
    return len(rows)


def seed_national(session: Session) -> int:
    """Add the national organs (contracts/reference/national_organs.json) the directory does not
    hold yet: level `national`, no parent, connected to document exchange over the axis.

    No OrganRegistered event: they are not the province's organs, and the province's reports
    (connection rates by level) must not count them."""
    since = reference.directory_since()
    present = set(session.exec(select(Organ.code)))
    rows = [
        Organ(
            code=o.code,
            name=o.name,
            level=NATIONAL,
            qlvb_connected=True,
            qlvb_changed_at=since,
        )
        for o in reference.national_organs().values()
        if o.code not in present
    ]
    session.add_all(rows)
    return len(rows)


def registered_event(organ: Organ, at: datetime) -> OrganRegistered:
    return OrganRegistered(
        source=SOURCE,
        subject=organ.code,
        time=at,
        data=OrganRegisteredData(
            code=organ.code,
            name=organ.name,
            level=organ.level,
            parent_code=organ.parent_code,
            registered_at=at,
        ),
    )


def organ_out(organ: Organ | Row[Any]) -> OrganOut:
    return OrganOut(
        code=organ.code,
        name=organ.name,
        level=organ.level,
        parent_code=organ.parent_code,
        connections=Connections(qlvb=organ.qlvb_connected, motcua=organ.motcua_connected),
        connections_changed_at=ConnectionTimes(
            qlvb=organ.qlvb_changed_at, motcua=organ.motcua_changed_at
        ),
    )


def find(session: Session, code: str, *, for_update: bool = False) -> Organ:
    organ = session.get(Organ, code, with_for_update=for_update or None)
    if organ is None:
        raise NotFound(f"no organ with mã định danh {code}", code="organ_not_found")
    return organ


@shapes
def _page_statement(level: bool, after: bool) -> Select[Any]:
    """The list's select, with or without its level filter and its cursor."""
    table = table_of(Organ)
    query = core_select(table)
    if level:
        query = query.where(table.c.level == bindparam("level"))
    if after:
        query = query.where(table.c.code > bindparam("after"))
    return query.order_by(table.c.code).limit(bindparam("limit"))


def list_organs(
    session: Session, *, level: str | None, cursor: str | None, limit: int
) -> OrganPage:
    after = TEXT.key(cursor)
    statement = _page_statement(level is not None, after is not None)
    found = rows(session, statement, {"level": level, "after": after, "limit": limit + 1})
    page, next_cursor = TEXT.page(found, limit, key=lambda o: str(o.code))
    return OrganPage(items=[organ_out(o) for o in page], next_cursor=next_cursor)


def change_connection(
    session: Session,
    code: str,
    change: ConnectionChange,
    *,
    scope: OrganScope,
    passphrase: bytes,
) -> ConnectionResult:
    """Connect or disconnect; a change to the state the organ is already in records nothing
    (so a retried call is harmless) and answers `changed: false`. An organ connected to
    document exchange (qlvb) without a signing key gets one before the answer, made outside
    the transaction (`keys.make_key_apart`)."""
    organ = find(session, code, for_update=True)
    scope.require(session, organ.code, acting_as="the organ whose connection changes")
    if organ.level in (EXTERNAL, NATIONAL):
        raise Conflict(
            f"{code} is outside the province (a national organ, or known from the edXML "
            "packages it sent); its connections are not the province's to change",
            code="external_organ",
        )
    connected: bool = getattr(organ, f"{change.system}_connected")
    if connected == change.connected:
        return ConnectionResult(organ=organ_out(organ), changed=False)
    at = change.at or datetime.now(UTC)
    last: datetime | None = getattr(organ, f"{change.system}_changed_at")
    if last is not None and at < last:
        raise Conflict(
            f"the last {change.system} change of {code} was at "
            f"{in_display_zone(last).isoformat()}; "
            "a change cannot be recorded before it",
            code="out_of_order",
        )
    setattr(organ, f"{change.system}_connected", change.connected)
    setattr(organ, f"{change.system}_changed_at", at)
    session.add(organ)
    event = OrganConnectionChanged(
        source=SOURCE,
        subject=organ.code,
        time=at,
        data=OrganConnectionChangedData(
            code=organ.code,
            level=organ.level,
            system=change.system,
            connected=change.connected,
            at=at,
        ),
    )
    add_events(session, outbox, [event])
    session.flush()
    if change.system == "qlvb" and change.connected and keys.certificate_of(session, code) is None:
        # The organ's signing key, made once this change is stored and its lock let go.
        db = unit_of(session).db
        after_commit(session, lambda: keys.make_key_apart(db, code, passphrase))
    return ConnectionResult(organ=organ_out(organ), changed=True)


def certificate_out(row: OrganKey) -> CertificateOut:
    return CertificateOut(
        organ_code=row.organ_code,
        certificate_pem=row.certificate_pem,
        fingerprint_sha256=row.fingerprint,
        managed_here=row.private_key_pem is not None,
        registered_at=row.created_at,
    )


def get_certificate(session: Session, code: str) -> CertificateOut:
    find(session, code)
    row = keys.certificate_of(session, code)
    if row is None:
        raise NotFound(
            f"{code} has no signing certificate yet (one is made when it is connected to "
            "qlvb, or at its first electronic send)",
            code="certificate_not_found",
        )
    return certificate_out(row)


def register_certificate(
    session: Session, code: str, pem: str, *, scope: OrganScope
) -> CertificateOut:
    organ = find(session, code, for_update=True)
    scope.require(session, organ.code, acting_as="the organ whose certificate is registered")
    existing = keys.certificate_of(session, code)
    if existing is not None and existing.private_key_pem is not None:
        raise Conflict(
            f"{code}'s signing key is managed by this service; its certificate cannot be replaced",
            code="key_managed_here",
        )
    try:
        row = keys.register_certificate(session, organ, pem)
    except keys.CertificateError as exc:
        raise ProblemError(str(exc), status=422, code="invalid_certificate") from exc
    return certificate_out(row)

"""Rules of dossiers: what is accepted, how MaHoSo is made, which events follow."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row
from sqlmodel import Session

from contracts import reference
from contracts.reference import PROCESSING_UNITS, ProcessingUnit
from lgsp_kit.access import OrganScope
from lgsp_kit.errors import Conflict, NotFound, Unprocessable, invalid
from lgsp_kit.outbox import add_events, outbox_rows
from lgsp_kit.paging import OPAQUE_NUMBER
from services.dossier.dossiers import events, repository
from services.dossier.dossiers.lifecycle import (
    SUBMITTED,
    Clock,
    apply_status,
    check_payment,
    check_time,
)
from services.dossier.dossiers.repository import DossierFilter
from services.dossier.dossiers.schemas import (
    Applicant,
    DossierCreate,
    DossierOut,
    DossierPage,
    DossierSummary,
    Fee,
    HistoryEntry,
    PaymentCreate,
    PaymentOut,
    StatusChange,
)
from services.dossier.models import Dossier, DossierHistory, DossierPayment, Procedure, outbox

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def unknown_procedure(code: str, field: str = "procedure_code") -> Unprocessable:
    return invalid(
        field, "unknown procedure", detail=f"unknown procedure {code!r}", code="unknown_procedure"
    )


def unknown_organ(code: str, field: str = "organ_code") -> Unprocessable:
    return invalid(field, "unknown organ", detail=f"unknown organ {code!r}", code="unknown_organ")


def next_code(session: Session, organ_code: str, day: datetime) -> str:
    """The next MaHoSo `<organ code>-<yyMMdd>-<seq>` of an organ's day (not checked: a submit
    stores its dossier only if no synced record holds the code, else it takes the next)."""
    day_key = day.strftime("%y%m%d")
    return f"{organ_code}-{day_key}-{repository.next_sequence(session, organ_code, day_key):06d}"


def clock_of(d: Dossier) -> Clock:
    return Clock(
        status=d.status,
        submitted_at=d.submitted_at,
        last_at=d.last_changed_at or d.submitted_at,
        processing_days=d.processing_days,
        processing_unit=processing_unit(d.processing_unit),
        received_at=d.received_at,
        due_at=d.due_at,
        paused_since=d.paused_since,
        resolved_at=d.resolved_at,
        returned_at=d.returned_at,
        on_time=d.on_time,
        paid_online=d.paid_online,
        supplement_requests=d.supplement_requests,
    )


def processing_unit(value: str) -> ProcessingUnit:
    """A stored unit, checked against the ones the platform counts in."""
    for unit in PROCESSING_UNITS:
        if unit == value:
            return unit
    raise ValueError(f"unknown processing unit {value!r}")


def store_clock(d: Dossier, c: Clock) -> None:
    d.status = c.status
    d.last_changed_at = c.last_at
    d.received_at = c.received_at
    d.due_at = c.due_at
    d.paused_since = c.paused_since
    d.resolved_at = c.resolved_at
    d.returned_at = c.returned_at
    d.on_time = c.on_time
    d.paid_online = c.paid_online
    d.supplement_requests = c.supplement_requests


def new_dossier(
    code: str,
    body: DossierCreate,
    procedure: Procedure,
    organ: reference.Organ,
    submitted_at: datetime,
) -> Dossier:
    return Dossier(
        code=code,
        procedure_code=procedure.code,
        organ_code=organ.code,
        organ_level=organ.level,
        service_mode=procedure.online_mode,
        fee_bearing=procedure.fee_bearing,
        processing_days=procedure.processing_days,
        processing_unit=procedure.processing_unit,
        channel=body.channel,
        applicant_type=body.applicant.type,
        applicant_name=body.applicant.name,
        applicant_identifier=body.applicant.identifier,
        fees=[f.model_dump() for f in body.fees],
        status=SUBMITTED,
        submitted_at=submitted_at,
        last_changed_at=submitted_at,
    )


def submit(
    session: Session, body: DossierCreate, *, tz: ZoneInfo, actor: str, scope: OrganScope
) -> DossierOut:
    now = datetime.now(UTC)
    submitted_at = body.submitted_at or now
    if submitted_at < EPOCH:
        # A new dossier has no last change: a time this early is wrong input, not a conflict.
        raise invalid(
            "submitted_at",
            "before 1970",
            detail=f"submitted_at {submitted_at.isoformat()} is before 1970-01-01",
            code="time_out_of_range",
        )
    check_time(submitted_at, not_before=EPOCH, now=now, field="submitted_at")
    procedure = session.get(Procedure, body.procedure_code)
    if procedure is None:
        raise unknown_procedure(body.procedure_code)
    organ = reference.organs().get(body.organ_code)
    if organ is None:
        raise unknown_organ(body.organ_code)
    scope.require(organ.code, acting_as="the organ the dossier is filed with")
    day = submitted_at.astimezone(tz)
    while True:  # the dossier is stored under the first number no synced record holds
        dossier = new_dossier(
            next_code(session, organ.code, day), body, procedure, organ, submitted_at
        )
        dossier.id = repository.insert_dossier(session, dossier)
        if dossier.id is not None:
            break
    first = DossierHistory(
        dossier_id=dossier.id,
        from_status=None,
        to_status=SUBMITTED,
        at=submitted_at,
        actor=actor,
    )
    event = events.validated(events.submitted(events.facts_of(dossier), submitted_at))
    repository.record_change(
        session, history=first.model_dump(exclude={"id"}), event=outbox_rows([event])[0]
    )
    # A new dossier's history is its submission and it has no payment yet.
    return to_out(session, dossier, history_rows=[first], payment_rows=[])


def _load(session: Session, code: str, *, scope: OrganScope, for_update: bool = False) -> Dossier:
    """The dossier, if the caller's scope covers its organ: one of another organ is not found,
    so that whether it exists does not leak."""
    dossier = repository.by_code(session, code, for_update=for_update)
    if dossier is None or not scope.covers(dossier.organ_code):
        raise NotFound(f"no dossier {code!r}", code="dossier_not_found")
    return dossier


def change_status(
    session: Session,
    code: str,
    body: StatusChange,
    *,
    tz: ZoneInfo,
    actor: str,
    scope: OrganScope,
) -> DossierOut:
    dossier = _load(session, code, scope=scope, for_update=True)
    assert dossier.id is not None
    # Written below in one statement (repository.record_change), not flushed by the ORM.
    session.expunge(dossier)
    now = datetime.now(UTC)
    clock = clock_of(dossier)
    change = apply_status(clock, body.status, body.at or now, now=now, tz=tz)
    store_clock(dossier, clock)
    history = DossierHistory(
        dossier_id=dossier.id,
        from_status=change.from_status,
        to_status=change.to_status,
        at=change.at,
        actor=body.actor or actor,
        note=body.note,
    )
    event = events.validated(events.status_changed(events.facts_of(dossier), change))
    repository.record_change(
        session,
        history=history.model_dump(exclude={"id"}),
        event=outbox_rows([event])[0],
        clock={c: getattr(dossier, c) for c in repository.CLOCK_COLUMNS},
    )
    return to_out(session, dossier)


def check_payment_allowed(
    procedure_code: str, fee_bearing: bool, procedure: Procedure | None, method: str
) -> None:
    """Only a fee-bearing procedure takes fees; online only where online payment is integrated.

    `fee_bearing` is the dossier's (fixed at submission); online payment is the catalogue's now.
    """
    if not fee_bearing:
        raise Conflict(
            f"procedure {procedure_code} bears no fee (không thu phí, lệ phí)",
            code="procedure_not_fee_bearing",
        )
    if method == "online" and (procedure is None or not procedure.online_payment):
        raise Conflict(
            f"procedure {procedure_code} has no online payment integrated",
            code="online_payment_unavailable",
        )


def record_payment(
    session: Session, code: str, body: PaymentCreate, *, scope: OrganScope
) -> DossierOut:
    dossier = _load(session, code, scope=scope, for_update=True)
    assert dossier.id is not None
    now = datetime.now(UTC)
    paid_at = body.at or now
    clock = clock_of(dossier)
    check_payment(clock, paid_at, now=now)
    procedure = session.get(Procedure, dossier.procedure_code)
    check_payment_allowed(dossier.procedure_code, dossier.fee_bearing, procedure, body.method)
    payment = DossierPayment(
        dossier_id=dossier.id,
        amount=body.amount,
        method=body.method,
        online_gateway=body.online_gateway,
        paid_at=paid_at,
    )
    if body.method == "online":
        dossier.paid_online = True
        session.add(dossier)
    session.add(payment)
    event = events.payment_recorded(
        events.facts_of(dossier), body.amount, body.method, body.online_gateway, paid_at
    )
    add_events(session, outbox, [events.validated(event)])
    session.flush()
    return to_out(session, dossier)


def summary(d: Dossier | Row[Any]) -> DossierSummary:
    return DossierSummary(
        code=d.code,
        status=d.status,
        procedure_code=d.procedure_code,
        organ_code=d.organ_code,
        channel=d.channel,
        applicant=Applicant.model_validate(
            {
                "type": d.applicant_type,
                "name": d.applicant_name,
                "identifier": d.applicant_identifier,
            }
        ),
        fees=[Fee.model_validate(f) for f in d.fees],
        submitted_at=d.submitted_at,
        received_at=d.received_at,
        due_at=d.due_at,
        resolved_at=d.resolved_at,
        returned_at=d.returned_at,
        on_time=d.on_time,
        paid_online=d.paid_online,
    )


def to_out(
    session: Session,
    d: Dossier,
    *,
    history_rows: list[DossierHistory] | None = None,
    payment_rows: list[DossierPayment] | None = None,
) -> DossierOut:
    """The dossier with its history and payments (read unless the caller has them at hand)."""
    assert d.id is not None
    if history_rows is None and payment_rows is None:
        history_rows, payment_rows = repository.history_and_payments(session, d.id)
    if history_rows is None:
        history_rows = repository.history_of(session, d.id)
    if payment_rows is None:
        payment_rows = repository.payments_of(session, d.id)
    history = [
        HistoryEntry(
            from_status=h.from_status,
            status=h.to_status,
            at=h.at,
            actor=h.actor,
            note=h.note,
        )
        for h in history_rows
    ]
    payments = [
        PaymentOut(
            amount=p.amount,
            method=p.method,
            online_gateway=p.online_gateway,
            paid_at=p.paid_at,
        )
        for p in payment_rows
    ]
    return DossierOut(**summary(d).model_dump(), history=history, payments=payments)


def get(session: Session, code: str, *, scope: OrganScope) -> DossierOut:
    return to_out(session, _load(session, code, scope=scope))


def search(session: Session, f: DossierFilter, *, cursor: str | None, limit: int) -> DossierPage:
    after = OPAQUE_NUMBER.key(cursor) or 0
    rows = repository.search(session, f, after_id=after, limit=limit + 1)
    page, next_cursor = OPAQUE_NUMBER.page(rows, limit, key=lambda d: int(d.id))
    return DossierPage(items=[summary(d) for d in page], next_cursor=next_cursor)

"""Every query of the reporting service, over the projections (never over events)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, func, select

from lgsp_kit.db import table_of
from services.reporting.models import (
    ALL_ORGANS,
    DocumentSentDay,
    DossierReceptionDay,
    DvcqgBacklog,
    DvcqgDossier,
    EventTypeCount,
    FeeDossier,
    Organ,
    OrganConnection,
    PaymentDay,
    ProcedureHalfMonth,
    ProcedureVersion,
)
from services.reporting.periods import Period

_t = table_of


RECEPTION = _t(DossierReceptionDay)
PROCEDURE_HALF = _t(ProcedureHalfMonth)
FEE_DOSSIER = _t(FeeDossier)
PAYMENT = _t(PaymentDay)
DOCUMENT = _t(DocumentSentDay)
VERSION = _t(ProcedureVersion)
ORGAN = _t(Organ)
CONNECTION = _t(OrganConnection)
EVENT_TYPES = _t(EventTypeCount)
DVCQG_DOSSIER = _t(DvcqgDossier)
DVCQG_BACKLOG = _t(DvcqgBacklog)


@dataclass(frozen=True)
class Scope:
    """What a report covers: one organ level and/or one organ with the units under it."""

    level: str | None = None
    organs: frozenset[str] | None = None


def _where(table: Table, period: Period | None, scope: Scope, level_column: str) -> Any:
    conds: list[ColumnElement[bool]] = []
    if period is not None and "half_start" in table.c:
        # A period is whole half-months: the halves that start inside it.
        conds += [table.c.half_start >= period.first, table.c.half_start <= period.last]
    elif period is not None:
        conds += [table.c.day >= period.first, table.c.day <= period.last]
    if scope.organs is None:
        conds.append(table.c.organ_code == ALL_ORGANS)
    else:
        conds.append(table.c.organ_code.in_(sorted(scope.organs)))
    if scope.level is not None:
        conds.append(table.c[level_column] == scope.level)
    return and_(*conds)


def receptions(conn: Connection, period: Period | None, scope: Scope) -> dict[tuple[str, int], int]:
    """Dossiers received, by (service mode, channel)."""
    t = RECEPTION
    rows = conn.execute(
        select(t.c.service_mode, t.c.channel, func.sum(t.c.received))
        .where(_where(t, period, scope, "organ_level"))
        .group_by(t.c.service_mode, t.c.channel)
    ).all()
    return {(mode, int(ch)): int(n) for mode, ch, n in rows}


def monthly_receptions(
    conn: Connection, period: Period, scope: Scope
) -> dict[str, dict[tuple[str, bool], int]]:
    """Dossiers received per month (YYYY-MM), by (service mode, online)."""
    t = RECEPTION
    month = func.substr(t.c.day, 1, 7)
    rows = conn.execute(
        select(month, t.c.service_mode, t.c.channel, func.sum(t.c.received))
        .where(_where(t, period, scope, "organ_level"))
        .group_by(month, t.c.service_mode, t.c.channel)
    ).all()
    out: dict[str, dict[tuple[str, bool], int]] = defaultdict(lambda: defaultdict(int))
    for m, mode, ch, n in rows:
        out[m][(mode, int(ch) == 2)] += int(n)
    return out


def procedures_with_dossiers(conn: Connection, period: Period, scope: Scope) -> tuple[int, int]:
    """(procedures with any dossier received, procedures with an online one) in the period."""
    t = PROCEDURE_HALF
    per = (
        select(
            t.c.procedure_code,
            func.sum(t.c.received).label("received"),
            func.sum(t.c.online).label("online"),
        )
        .where(_where(t, period, scope, "organ_level"))
        .group_by(t.c.procedure_code)
        .subquery()
    )
    any_, online = conn.execute(
        select(
            func.count().filter(per.c.received > 0), func.count().filter(per.c.online > 0)
        ).select_from(per)
    ).one()
    return int(any_ or 0), int(online or 0)


def procedures_with_online_payment(conn: Connection, period: Period, scope: Scope) -> int:
    """Procedures with at least one online fee payment (amount > 0) made in the period."""
    t = PROCEDURE_HALF
    per = (
        select(t.c.procedure_code)
        .where(_where(t, period, scope, "organ_level"))
        .group_by(t.c.procedure_code)
        .having(func.sum(t.c.online_payments) > 0)
        .subquery()
    )
    return int(conn.execute(select(func.count()).select_from(per)).scalar_one())


def fee_resolutions(conn: Connection, period: Period, scope: Scope) -> tuple[int, int]:
    """(fee-bearing dossiers resolved in the period with a fee transaction, of which one online).

    Per dossier, not a roll-up: the organ filter reads the dossiers' own organs.
    """
    t = FEE_DOSSIER
    conds: list[ColumnElement[bool]] = [
        t.c.resolved_day >= period.first,
        t.c.resolved_day <= period.last,
        t.c.fee_paid.is_(True),
    ]
    if scope.organs is not None:
        conds.append(t.c.organ_code.in_(sorted(scope.organs)))
    if scope.level is not None:
        conds.append(t.c.organ_level == scope.level)
    resolved, online = conn.execute(
        select(func.count(), func.count().filter(t.c.paid_online.is_(True))).where(and_(*conds))
    ).one()
    return int(resolved or 0), int(online or 0)


def documents_by_organ(conn: Connection, period: Period) -> dict[str, tuple[int, int]]:
    """Documents sent in the period per sender organ: (sent, of which fully electronic)."""
    t = DOCUMENT
    rows = conn.execute(
        select(t.c.organ_code, t.c.electronic, func.sum(t.c.sent))
        .where(
            t.c.day >= period.first,
            t.c.day <= period.last,
            t.c.organ_code != ALL_ORGANS,
        )
        .group_by(t.c.organ_code, t.c.electronic)
    ).all()
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for code, electronic, n in rows:
        out[code][0] += int(n)
        if electronic:
            out[code][1] += int(n)
    return {code: (sent, el) for code, (sent, el) in out.items()}


def documents(conn: Connection, period: Period | None, scope: Scope) -> dict[tuple[str, bool], int]:
    """Documents sent, by (sender level, electronic)."""
    t = DOCUMENT
    rows = conn.execute(
        select(t.c.sender_level, t.c.electronic, func.sum(t.c.sent))
        .where(_where(t, period, scope, "sender_level"))
        .group_by(t.c.sender_level, t.c.electronic)
    ).all()
    return {(level, bool(e)): int(n) for level, e, n in rows}


def payments(conn: Connection) -> dict[str, int]:
    """Payments of all time, by method."""
    t = PAYMENT
    rows = conn.execute(
        select(t.c.method, func.sum(t.c.payments))
        .where(t.c.organ_code == ALL_ORGANS)
        .group_by(t.c.method)
    ).all()
    return {m: int(n) for m, n in rows}


@dataclass(frozen=True)
class ProcedureState:
    code: str
    level: str
    online_mode: str
    full_online_eligible: bool
    fee_bearing: bool
    online_payment: bool


def catalogue(conn: Connection, end: datetime) -> list[ProcedureState]:
    """The procedure catalogue as it stood just before `end`."""
    v = VERSION
    latest = (
        select(v.c.code, func.max(v.c.changed_at).label("changed_at"))
        .where(v.c.changed_at < end)
        .group_by(v.c.code)
        .subquery()
    )
    rows = conn.execute(
        select(
            v.c.code,
            v.c.level,
            v.c.online_mode,
            v.c.full_online_eligible,
            v.c.fee_bearing,
            v.c.online_payment,
        ).join(latest, and_(v.c.code == latest.c.code, v.c.changed_at == latest.c.changed_at))
    ).all()
    return [ProcedureState(*r) for r in rows]


@dataclass(frozen=True)
class OrganState:
    code: str
    level: str
    parent_code: str | None
    qlvb: bool
    motcua: bool


def organs(conn: Connection, end: datetime) -> list[OrganState]:
    """Organs registered before `end`, each with its connections as they stood then."""
    registered = conn.execute(
        select(ORGAN.c.code, ORGAN.c.level, ORGAN.c.parent_code).where(ORGAN.c.registered_at < end)
    ).all()
    c = CONNECTION
    changes = conn.execute(
        select(c.c.code, c.c.system, c.c.connected)
        .where(c.c.at < end)
        .order_by(c.c.at, c.c.event_id)
    ).all()
    state: dict[tuple[str, str], bool] = {}
    for code, system, connected in changes:
        state[(code, system)] = bool(connected)
    return [
        OrganState(
            code,
            level,
            parent,
            state.get((code, "qlvb"), False),
            state.get((code, "motcua"), False),
        )
        for code, level, parent in registered
    ]


def organ_tree(conn: Connection) -> dict[str, str | None]:
    """Every registered organ → its parent."""
    return {
        code: parent for code, parent in conn.execute(select(ORGAN.c.code, ORGAN.c.parent_code))
    }


def event_types(conn: Connection) -> list[tuple[str, int, datetime | None]]:
    t = EVENT_TYPES
    rows = conn.execute(select(t.c.type, t.c.consumed, t.c.last_time).order_by(t.c.type)).all()
    return [(type_, int(n), last) for type_, n, last in rows]


def dvcqg_dossiers(conn: Connection, period: Period | None, scope: Scope) -> int:
    """Dossiers received in the period (by NgayTiepNhan) that DVCQG holds."""
    t = DVCQG_DOSSIER
    conds: list[ColumnElement[bool]] = [t.c.received_day.is_not(None)]
    if period is not None:
        conds += [t.c.received_day >= period.first, t.c.received_day <= period.last]
    if scope.organs is not None:
        conds.append(t.c.organ_code.in_(sorted(scope.organs)))
    if scope.level is not None:
        conds.append(t.c.organ_level == scope.level)
    return int(conn.execute(select(func.count()).select_from(t).where(and_(*conds))).scalar_one())


def dvcqg_backlog(conn: Connection) -> Any:
    """The last backlog reading of the DVCQG sync (a row), or None before the first."""
    t = DVCQG_BACKLOG
    return conn.execute(
        select(t.c.at, t.c.pending, t.c.refused, t.c.oldest_change_at).where(t.c.id == 1)
    ).first()

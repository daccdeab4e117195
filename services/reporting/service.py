"""Rules of the reporting service: how each row of Phụ lục II is counted and declared.

Filters (documented in the README of the service too):
- `level` narrows the rows that add up across levels: 5.2 (sender level), 6.2–6.4 and TT.1
  (level of the handling organ), 6.1 and 6.5 (procedure level; `province` and
  `province_organ` both mean provincial procedures). The per-level rows 5.1.x, 5.2.x and 5.3.x
  already name their level and are left as they are.
- `organ` narrows to that organ and every unit under it (by `parent_code`; a district covers
  its communes, the provincial UBND covers everything): organs counted in 5.1.x and 5.3.x,
  senders in 5.2.x, handling organs in 6.2–6.4 and TT.1. The catalogue rows 6.1 and 6.5 are
  province-wide and say so in their note.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session
from sqlmodel import col

from lgsp_kit.errors import Conflict, NotFound, Unprocessable
from services.reporting import repository as repo
from services.reporting.indicators import (
    BY_STT,
    INDICATORS,
    ONLINE_PAYMENT_USED,
    PAID_ONLINE,
    Indicator,
)
from services.reporting.models import DeclaredValue
from services.reporting.periods import BASIS_TEXT, Period
from services.reporting.schemas import (
    BasisNote,
    DeclaredIn,
    DeclaredOut,
    IndicatorOut,
    Report,
    ReportRow,
    Status,
    heading,
)

LEVEL_ROWS = {"province_organ": "1", "district": "2", "commune": "3"}
# Row 5.2.1 counts the provincial UBND itself together with the provincial organs.
SENDER_ROW = {"province": "1", "province_organ": "1", "district": "2", "commune": "3"}
PROCEDURE_LEVEL = {
    "province": "province",
    "province_organ": "province",
    "district": "district",
    "commune": "commune",
}
CATALOGUE_NOTE = "catalogue-wide: the organ filter does not apply"


def ratio(numerator: int, denominator: int) -> float | None:
    """A percentage with two decimals, as in the report body; None without a denominator."""
    if denominator == 0:
        return None
    return round(100.0 * numerator / denominator, 2)


def subtree(conn: Connection, organ: str) -> frozenset[str]:
    """The organ and every unit under it; 404 when the organ is not in the directory."""
    parents = repo.organ_tree(conn)
    if organ not in parents:
        raise NotFound(f"organ {organ} is not in the directory", code="organ_not_found")
    children: dict[str | None, list[str]] = defaultdict(list)
    for code, parent in parents.items():
        children[parent].append(code)
    found, todo = {organ}, [organ]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return frozenset(found)


class _Figures:
    """numerator/denominator per row stt, filled by the computations below."""

    def __init__(self) -> None:
        self.parts: dict[str, tuple[int, int]] = {}
        self.counts: dict[str, int] = {}
        self.notes: dict[str, str] = {}

    def ratio(self, stt: str, numerator: int, denominator: int) -> None:
        self.parts[stt] = (numerator, denominator)
        ind = BY_STT[stt]
        if ind.parts is not None:
            self.counts[ind.parts[0]] = numerator
            self.counts[ind.parts[1]] = denominator


def _organ_rows(fig: _Figures, conn: Connection, end: datetime, scope: repo.Scope) -> None:
    states = [s for s in repo.organs(conn, end) if scope.organs is None or s.code in scope.organs]
    for system, row in (("qlvb", "5.1"), ("motcua", "5.3")):
        for level, suffix in LEVEL_ROWS.items():
            of_level = [s for s in states if s.level == level]
            connected = sum(1 for s in of_level if getattr(s, system))
            fig.ratio(f"{row}.{suffix}", connected, len(of_level))


def _document_rows(fig: _Figures, conn: Connection, period: Period, scope: repo.Scope) -> None:
    per_level = repo.documents(conn, period, repo.Scope(organs=scope.organs))
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (level, electronic), n in per_level.items():
        row = SENDER_ROW.get(level)
        if row is not None:
            sums[row][0] += n * electronic
            sums[row][1] += n
        if scope.level is None or scope.level == level:
            sums[""][0] += n * electronic
            sums[""][1] += n
    fig.ratio("5.2", *sums[""])
    for suffix in ("1", "2", "3"):
        fig.ratio(f"5.2.{suffix}", *sums[suffix])


def _catalogue_rows(fig: _Figures, conn: Connection, end: datetime, scope: repo.Scope) -> None:
    procs = repo.catalogue(conn, end)
    if scope.level is not None:
        procs = [p for p in procs if p.level == PROCEDURE_LEVEL[scope.level]]
    eligible = [p for p in procs if p.full_online_eligible]
    fig.ratio("6.1", sum(1 for p in eligible if p.online_mode == "full"), len(eligible))
    fee = [p for p in procs if p.fee_bearing]
    fig.ratio("6.5", sum(1 for p in fee if p.online_payment), len(fee))
    if scope.organs is not None:
        # TT.2's denominator is the catalogue's 6.5.2: province-wide as well.
        fig.notes[ONLINE_PAYMENT_USED] = CATALOGUE_NOTE
    if scope.organs is not None:
        for stt in ("6.1", "6.1.1", "6.1.2", "6.5", "6.5.1", "6.5.2"):
            fig.notes[stt] = CATALOGUE_NOTE


def _dossier_rows(fig: _Figures, conn: Connection, period: Period, scope: repo.Scope) -> None:
    received = repo.receptions(conn, period, scope)
    for mode, stt in (("full", "6.3"), ("partial", "6.4")):
        total = sum(n for (m, _), n in received.items() if m == mode)
        fig.ratio(stt, received.get((mode, 2), 0), total)
    with_any, with_online = repo.procedures_with_dossiers(conn, period, scope)
    fig.ratio("6.2", with_online, with_any)
    resolved, paid = repo.fee_resolutions(conn, period, scope)
    fig.ratio(PAID_ONLINE, paid, resolved)
    used = repo.procedures_with_online_payment(conn, period, scope)
    fig.ratio(ONLINE_PAYMENT_USED, used, fig.counts["6.5.2"])


def basis_notes(period: Period) -> list[BasisNote]:
    """The counting basis printed under the table: the period's, then each row basis with the
    rows it applies to, in the table's order."""
    notes = [BasisNote(rows=[], text=BASIS_TEXT[period.basis])]
    by_text: dict[str, list[str]] = {}
    for ind in INDICATORS:
        if ind.basis:
            by_text.setdefault(ind.basis, []).append(ind.stt)
    notes += [BasisNote(rows=rows, text=text) for text, rows in by_text.items()]
    return notes


def _declared(session: Session, stt: str, period: str) -> DeclaredValue | None:
    """The latest declaration for exactly this period, else the latest standing one."""
    for chosen in (col(DeclaredValue.period) == period, col(DeclaredValue.period).is_(None)):
        row = session.scalars(
            select(DeclaredValue)
            .where(col(DeclaredValue.stt) == stt, chosen)
            .order_by(col(DeclaredValue.declared_at).desc(), col(DeclaredValue.id).desc())
            .limit(1)
        ).first()
        if row is not None:
            return row
    return None


def _row(ind: Indicator, fig: _Figures, session: Session, period: Period) -> ReportRow:
    row = ReportRow(
        stt=ind.stt,
        name=ind.name,
        unit=ind.unit,
        value=None,
        numerator=None,
        denominator=None,
        source=ind.source,
        in_annex=ind.in_annex,
        note=fig.notes.get(ind.stt),
    )
    if ind.kind == "ratio" and ind.stt in fig.parts:
        n, d = fig.parts[ind.stt]
        row.numerator, row.denominator, row.value = n, d, ratio(n, d)
    elif ind.kind == "count" and ind.stt in fig.counts:
        row.value = fig.counts[ind.stt]
    elif ind.kind == "declared":
        declared = _declared(session, ind.stt, period.label)
        if declared is not None:
            row.value = declared.value
            row.note = declared.note
            row.declared_by, row.declared_at = declared.declared_by, declared.declared_at
    return row


def build_report(
    session: Session,
    period: Period,
    *,
    tz: ZoneInfo,
    level: str | None = None,
    organ: str | None = None,
) -> Report:
    """Every row of Phụ lục II for a period, from the projections."""
    conn = session.connection()
    scope = repo.Scope(level=level, organs=subtree(conn, organ) if organ else None)
    end = period.end(tz)
    fig = _Figures()
    _organ_rows(fig, conn, end, scope)
    _document_rows(fig, conn, period, scope)
    _catalogue_rows(fig, conn, end, scope)
    _dossier_rows(fig, conn, period, scope)
    return Report(
        **heading(period, tz=tz, level=level, organ=organ),
        rows=[_row(ind, fig, session, period) for ind in INDICATORS],
        basis=basis_notes(period),
    )


def monthly_dossier_ratios(
    session: Session, period: Period, *, level: str | None = None, organ: str | None = None
) -> list[tuple[str, float | None, float | None]]:
    """(month, 6.3 %, 6.4 %) for every month of the period: the live page's chart."""
    conn = session.connection()
    scope = repo.Scope(level=level, organs=subtree(conn, organ) if organ else None)
    if period.basis == "calendar":
        counts = repo.monthly_receptions(conn, period, scope)
    else:  # months closing on the 14th: one query per month
        counts = defaultdict(lambda: defaultdict(int))
        for m in period.months():
            for (mode, ch), n in repo.receptions(conn, m, scope).items():
                counts[m.label][(mode, ch == 2)] += n
    out = []
    for month in period.months():
        c = counts.get(month.label, {})
        full = ratio(c.get(("full", True), 0), c.get(("full", True), 0) + c.get(("full", False), 0))
        part = ratio(
            c.get(("partial", True), 0),
            c.get(("partial", True), 0) + c.get(("partial", False), 0),
        )
        out.append((month.label, full, part))
    return out


def indicator_definitions() -> list[IndicatorOut]:
    return [
        IndicatorOut(
            stt=i.stt,
            name=i.name,
            unit=i.unit,
            source=i.source,
            kind=i.kind,
            formula=i.formula,
            in_annex=i.in_annex,
            allowed_values=list(i.allowed) if i.allowed is not None else None,
            basis=i.basis or None,
            seed=i.seed or None,
        )
        for i in INDICATORS
    ]


def _declarable(stt: str) -> Indicator:
    ind = BY_STT.get(stt)
    if ind is None:
        raise NotFound(f"no row {stt} in Phụ lục II", code="indicator_not_found")
    if ind.source != "declared":
        raise Conflict(
            f"row {stt} is computed from events and cannot be declared",
            code="indicator_computed",
        )
    return ind


def declare(session: Session, stt: str, body: DeclaredIn, *, who: str) -> DeclaredOut:
    """Record a declared value; every declaration is kept."""
    ind = _declarable(stt)
    value = float(body.value)
    if ind.allowed is not None and value not in ind.allowed:
        allowed = ", ".join(f"{a:g}" for a in ind.allowed)
        raise Unprocessable(f"row {stt} takes one of {allowed}", code="invalid_declared_value")
    if ind.allowed is None and not ind.low <= value <= ind.high:
        raise Unprocessable(
            f"row {stt} takes a value from {ind.low:g} to {ind.high:g}",
            code="invalid_declared_value",
        )
    row = DeclaredValue(
        stt=stt,
        period=body.period,
        value=value,
        note=body.note,
        declared_by=who,
        declared_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return _out(row)


def declared_history(session: Session, stt: str) -> list[DeclaredOut]:
    """Every declaration of a row, newest first."""
    _declarable(stt)
    rows = session.scalars(
        select(DeclaredValue)
        .where(col(DeclaredValue.stt) == stt)
        .order_by(col(DeclaredValue.declared_at).desc(), col(DeclaredValue.id).desc())
    ).all()
    return [_out(r) for r in rows]


def _out(row: DeclaredValue) -> DeclaredOut:
    assert row.id is not None
    return DeclaredOut(
        id=row.id,
        stt=row.stt,
        value=row.value,
        period=row.period,
        note=row.note,
        declared_by=row.declared_by,
        declared_at=row.declared_at,
    )


def status(session: Session, *, lag_seconds: float, pending: int | None) -> Status:
    types = repo.event_types(session.connection())
    times = [t for _, _, t in types if t is not None]
    return Status(
        events_consumed={t: n for t, n, _ in types},
        events_consumed_total=sum(n for _, n, _ in types),
        last_event_time=max(times) if times else None,
        lag_seconds=lag_seconds,
        pending_events=pending,
    )

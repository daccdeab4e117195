"""Random event streams, delivered shuffled, duplicated and in random batches, must give the same
Phụ lục II as a straightforward recount of the raw events."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from contracts.events import (
    DocumentSent,
    DossierStatusChanged,
    Envelope,
    OrganConnectionChanged,
    OrganRegistered,
    PaymentRecorded,
    ProcedurePublished,
)
from lgsp_kit.consumer import EventConsumer
from lgsp_kit.db import Database
from services.reporting import service
from services.reporting.models import Base
from services.reporting.periods import Period, parse_period
from tests.reporting.events import (
    VN,
    connection,
    document,
    organ,
    payment,
    procedure,
    raw,
    status,
)

ORGANS = {
    "PROV": ("province", None),
    "S1": ("province_organ", "PROV"),
    "S2": ("province_organ", "PROV"),
    "D1": ("district", "PROV"),
    "D2": ("district", "PROV"),
    "C1": ("commune", "D1"),
    "C2": ("commune", "D2"),
}
PERIODS = [
    parse_period(label, basis)
    for label in ("2023", "2023-H2", "2023-Q4", "2023-12", "2024-01")
    for basis in ("calendar", "decree09")
]
START = datetime(2022, 12, 25, tzinfo=VN)

# Minutes from START up to mid-January 2024, crowding around the New Year's midnight and the
# midnight that starts 15/12/2023 (Decree 09's cut-off).
minutes = st.one_of(
    st.integers(0, 60 * 24 * 22),
    st.integers(60 * 24 * 371 - 90, 60 * 24 * 371 + 90),
    st.integers(60 * 24 * 355 - 90, 60 * 24 * 355 + 90),
)


def when(m: int) -> str:
    """Odd minutes in UTC, even ones with the local offset: producers may send either."""
    t = START + timedelta(minutes=m)
    return (t.astimezone(UTC) if m % 2 else t).isoformat()


@st.composite
def streams(draw: st.DrawFn) -> list[Envelope]:
    events: list[Envelope] = []
    for code, (level, parent) in ORGANS.items():
        events.append(organ(code, level, parent, when(draw(st.integers(0, 60 * 24 * 380)))))
    for _ in range(draw(st.integers(0, 12))):
        code = draw(st.sampled_from([c for c in ORGANS if c != "PROV"]))
        system = draw(st.sampled_from(["qlvb", "motcua"]))
        events.append(
            connection(code, ORGANS[code][0], system, draw(st.booleans()), when(draw(minutes)))
        )
    for code in ("P1", "P2", "P3"):
        stamps = draw(st.lists(minutes, min_size=0, max_size=3, unique=True))
        for m in stamps:
            events.append(
                procedure(
                    code,
                    when(m),
                    mode=draw(st.sampled_from(["full", "partial", "none"])),
                    eligible=draw(st.booleans()),
                    fee=draw(st.booleans()),
                    online_payment=draw(st.booleans()),
                    level=draw(st.sampled_from(["province", "district", "commune"])),
                )
            )
    for _ in range(draw(st.integers(0, 30))):
        code = draw(st.sampled_from(list(ORGANS)))
        events.append(
            status(
                when(draw(minutes)),
                draw(st.sampled_from([1, 2, 2, 2, 4, 9, 9])),
                procedure_code=draw(st.sampled_from(["P1", "P2", "P3"])),
                mode=draw(st.sampled_from(["full", "partial", "none"])),
                fee=draw(st.booleans()),
                organ_code=code,
                level=ORGANS[code][0],
                channel=draw(st.sampled_from([1, 2, 3])),
                paid_online=draw(st.booleans()),
            )
        )
    # Fee-bearing (or not) dossiers: at most one resolution each, payments at any time (before
    # or after it, zero amounts too), linked by MaHoSo.
    for i in range(draw(st.integers(0, 8))):
        code = draw(st.sampled_from(list(ORGANS)))
        facts = {
            "code": f"F{i}",
            "procedure_code": draw(st.sampled_from(["P1", "P2", "P3"])),
            "fee": draw(st.booleans()),
            "organ_code": code,
            "level": ORGANS[code][0],
        }
        if draw(st.booleans()):
            events.append(status(when(draw(minutes)), 9, **facts))  # type: ignore[arg-type]
        for _ in range(draw(st.integers(0, 2))):
            events.append(
                payment(
                    when(draw(minutes)),
                    draw(st.sampled_from(["online", "offline"])),
                    amount=draw(st.sampled_from([0, 20_000])),
                    **facts,  # type: ignore[arg-type]
                )
            )
    for _ in range(draw(st.integers(0, 10))):
        code = draw(st.sampled_from(list(ORGANS)))
        events.append(document(when(draw(minutes)), code, ORGANS[code][0], draw(st.booleans())))
    return events


def in_period(at: datetime, period: Period) -> bool:
    return period.first_day <= at.astimezone(VN).date() <= period.last_day


def recount(events: list[Envelope], period: Period) -> dict[str, tuple[int, int]]:
    """The plain reading of the counting rules, event by event."""
    end = period.end(VN)
    out: dict[str, tuple[int, int]] = {}
    registered = {
        e.data.code: e.data.level
        for e in events
        if isinstance(e, OrganRegistered) and e.data.registered_at < end
    }
    last: dict[tuple[str, str], tuple[datetime, str, bool]] = {}
    for e in events:
        if isinstance(e, OrganConnectionChanged) and e.data.at < end:
            key = (e.data.code, e.data.system)
            if key not in last or (e.data.at, e.id) > last[key][:2]:
                last[key] = (e.data.at, e.id, e.data.connected)
    for system, row in (("qlvb", "5.1"), ("motcua", "5.3")):
        for i, level in enumerate(("province_organ", "district", "commune"), start=1):
            codes = [c for c, lv in registered.items() if lv == level]
            on = sum(1 for c in codes if (c, system) in last and last[(c, system)][2])
            out[f"{row}.{i}"] = (on, len(codes))
    docs = [
        e.data for e in events if isinstance(e, DocumentSent) and in_period(e.data.sent_at, period)
    ]
    out["5.2"] = (sum(d.electronic for d in docs), len(docs))
    for i, levels in enumerate((("province", "province_organ"), ("district",), ("commune",)), 1):
        mine = [d for d in docs if d.sender_level in levels]
        out[f"5.2.{i}"] = (sum(d.electronic for d in mine), len(mine))
    latest: dict[str, ProcedurePublished] = {}
    for e in events:
        if not isinstance(e, ProcedurePublished) or e.data.changed_at >= end:
            continue
        if e.data.code not in latest or e.data.changed_at > latest[e.data.code].data.changed_at:
            latest[e.data.code] = e
    procs = [p.data for p in latest.values()]
    eligible = [p for p in procs if p.full_online_eligible]
    out["6.1"] = (sum(p.online_mode == "full" for p in eligible), len(eligible))
    fee = [p for p in procs if p.fee_bearing]
    out["6.5"] = (sum(p.online_payment for p in fee), len(fee))
    changes = [
        e.data
        for e in events
        if isinstance(e, DossierStatusChanged) and in_period(e.data.at, period)
    ]
    receptions = [d for d in changes if d.to_status == 2]
    for mode, stt in (("full", "6.3"), ("partial", "6.4")):
        of_mode = [d for d in receptions if d.service_mode == mode]
        out[stt] = (sum(d.channel == 2 for d in of_mode), len(of_mode))
    online_services = [d for d in receptions if d.service_mode != "none"]
    out["6.2"] = (
        len({d.procedure_code for d in online_services if d.channel == 2}),
        len({d.procedure_code for d in online_services}),
    )
    # TT.1: fee-bearing dossiers resolved in the period with a fee transaction (amount > 0) at
    # any time; of those, the ones with an online one.
    paid = [
        e.data
        for e in events
        if isinstance(e, PaymentRecorded) and e.data.amount > 0 and e.data.fee_bearing
    ]
    resolved = {d.code for d in changes if d.to_status == 9 and d.fee_bearing}
    with_fee = {p.code for p in paid} & resolved
    online = {p.code for p in paid if p.method == "online"} & resolved
    out["TT.1"] = (len(online), len(with_fee))
    used = {p.procedure_code for p in paid if p.method == "online" and in_period(p.paid_at, period)}
    out["TT.2"] = (len(used), out["6.5"][0])
    return out


def deliveries(events: list[Envelope], rng: random.Random) -> Iterator[list[bytes]]:
    """Shuffled, about a fifth delivered twice, cut into random batches."""
    stream = raw(events) + raw(rng.sample(events, len(events) // 5))
    rng.shuffle(stream)
    i = 0
    while i < len(stream):
        size = rng.randint(1, 9)
        yield stream[i : i + size]
        i += size


def clear(db: Database) -> None:
    with db.session() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=streams(), seed=st.integers(0, 2**32 - 1))
def test_random_streams_match_a_recount(
    db: Database, consumer: EventConsumer, events: list[Envelope], seed: int
) -> None:
    clear(db)
    for batch in deliveries(events, random.Random(seed)):
        consumer.apply(batch)
    for period in PERIODS:
        with db.session() as session:
            rows = {r.stt: r for r in service.build_report(session, period, tz=VN).rows}
        for stt, expected in recount(events, period).items():
            got = (rows[stt].numerator, rows[stt].denominator)
            assert got == expected, (period.label, period.basis, stt)

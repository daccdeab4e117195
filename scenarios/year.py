"""A year of activity from a plan: dossier records (with their whole history) and documents.

Shapes that make the year look real: receptions on working days and office hours (the working
calendar the dossier service counts with: holidays and swapped days, `lgsp_kit.workcalendar`),
a monthly seasonality, processing that takes a few working days and sometimes more than
allowed, supplements, withdrawals followed by the stop of handling (7 then 8), stops, refusals
at reception, fees paid online or at the desk (online ones sometimes at hand-over, after the
resolution), fee-bearing dossiers exempted from their fee. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from contracts import reference
from lgsp_kit.workcalendar import is_working_day
from scenarios.plan import ProcedurePlan, allocate
from scenarios.targets import LEVELS, Level, Targets

# Months of a one-stop year: quieter around Tết (Jan–Feb), busier before the year closes.
SEASON = (0.75, 0.6, 1.0, 1.0, 1.05, 1.0, 0.95, 1.0, 1.0, 1.05, 1.1, 1.15)
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô", "Dương")
MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Thu", "Ngọc", "Quang", "Thanh", "Hữu", "Hồng")
GIVEN = ("An", "Bình", "Chi", "Dũng", "Hà", "Hải", "Hoa", "Hùng", "Lan", "Long", "Mai", "Nam",
         "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Yến")  # fmt: skip
FIRMS = ("Công ty TNHH Ánh Dương", "Công ty CP Nông sản Lục Ngạn", "HTX Vải thiều Thanh Hà",
         "Công ty TNHH Cơ khí Việt Yên", "Công ty CP Xây dựng Bắc Giang")  # fmt: skip
SYNC_SEQ_BASE = 900_000  # synced MaHoSo numbers never meet the ones the service assigns


@dataclass
class Calendar:
    year: int
    tz: ZoneInfo
    working_days: list[date] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        day = date(self.year, 1, 1)
        while day.year == self.year:
            if is_working_day(day):
                self.working_days.append(day)
                self.weights.append(SEASON[day.month - 1])
            day += timedelta(days=1)
        self._index = {d: i for i, d in enumerate(self.working_days)}

    def office_time(self, day: date, rng: random.Random) -> datetime:
        minutes = rng.randrange(0, 4 * 60) if rng.random() < 0.55 else rng.randrange(0, 210)
        start = time(7, 30) if minutes < 4 * 60 and rng.random() < 0.55 else time(13, 30)
        at = datetime.combine(day, start, self.tz) + timedelta(minutes=minutes % 210)
        return at + timedelta(seconds=rng.randrange(60))

    def add_working_days(self, day: date, n: int) -> date:
        i = self._index.get(day)
        if i is None:
            return day
        return self.working_days[min(i + n, len(self.working_days) - 1)]


def _applicant(rng: random.Random) -> dict[str, Any]:
    kind = rng.choices([1, 2, 4], [85, 12, 3])[0]
    if kind == 1:
        name = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        ident = f"024{rng.randrange(10**9):09d}"
    else:
        name = rng.choice(FIRMS)
        ident = f"24{rng.randrange(10**8):08d}"
    return {"type": kind, "name": name, "identifier": ident}


def _organs_by_level() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"province_organ": [], "district": [], "commune": []}
    for organ in reference.organs().values():
        if organ.level in out:
            out[organ.level].append(organ.code)
    return out


PROCEDURE_ORGAN_LEVEL = {"province": "province_organ", "district": "district", "commune": "commune"}


@dataclass(frozen=True)
class Fates:
    """How many of a procedure's dossiers are resolved in the year, and paid online."""

    resolved: int
    paid_online: int


def fee_fates(targets: Targets, plans: list[ProcedurePlan]) -> dict[str, Fates]:
    """Spread the resolved fee-bearing dossiers and the online payments over the procedures."""
    fee = [p for p in plans if p.fee_bearing and p.dossiers]
    d = targets.dossiers
    rng = random.Random("fates")
    # The dossiers paid online first (only procedures with online payment can have them): one
    # for each of the first `online_payment_used` payers (TT.2.1), none for the others, the
    # rest in proportion; then the rest of the resolved ones wherever room is left.
    payers = [i for i, p in enumerate(fee) if p.online_payment]
    used = targets.procedures.online_payment_used
    if used > len(payers):
        raise ValueError(f"{used} procedures paid online but only {len(payers)} can be")
    first = payers[:used]
    paid = [0] * len(fee)
    more = _capped(d.paid_online - used, [fee[i].dossiers - 1 for i in first], rng)
    for i, n in zip(first, more, strict=True):
        paid[i] = 1 + n
    rest = _capped(
        d.fee_bearing_resolved - d.paid_online,
        [p.dossiers - paid[i] for i, p in enumerate(fee)],
        rng,
    )
    return {p.code: Fates(paid[i] + rest[i], paid[i]) for i, p in enumerate(fee)}


def _capped(total: int, caps: list[int], rng: random.Random) -> list[int]:
    """Split `total` in proportion to `caps`, never above a cap; the parts add up exactly."""
    if total > sum(caps):
        raise ValueError(f"cannot place {total} within capacities summing to {sum(caps)}")
    parts = [0] * len(caps)
    left = total
    while left:
        room = [c - p for c, p in zip(caps, parts, strict=True)]
        open_ = [i for i, r in enumerate(room) if r > 0]
        share = allocate(left, len(open_), [0] * len(open_), rng)
        for i, s in zip(open_, share, strict=True):
            parts[i] += min(s, room[i])
        left = total - sum(parts)
    return parts


class Year:
    """Generates the dossier records of every procedure, in order of reception."""

    def __init__(self, targets: Targets, plans: list[ProcedurePlan], seed: int) -> None:
        self.targets = targets
        self.plans = plans
        self.seed = seed
        self.tz = ZoneInfo(targets.timezone)
        self.calendar = Calendar(targets.year, self.tz)
        self.organs = _organs_by_level()
        # The organs the simulator connects: the first ones by code, as many as the targets say.
        self.connected = {
            level: sorted(self.organs[level])[: targets.connections.qlvb.get(level)]
            for level in LEVELS
        }
        self.connected_all = {code for codes in self.connected.values() for code in codes}
        # The provincial People's Committee: the hub every level reports to, always connected.
        self.hub = next(o.code for o in reference.organs().values() if o.level == "province")
        self.fates = fee_fates(targets, plans)
        self._seq: dict[tuple[str, str], int] = {}

    def _code(self, organ: str, day: date) -> str:
        key = (organ, day.strftime("%y%m%d"))
        self._seq[key] = self._seq.get(key, SYNC_SEQ_BASE) + 1
        return f"{organ}-{key[1]}-{self._seq[key]}"

    def dossiers(self) -> Iterator[dict[str, Any]]:
        """Every dossier of the year as a sync record (`DossierRecord`), procedure by procedure."""
        for plan in self.plans:
            yield from self._procedure(plan)

    def _procedure(self, plan: ProcedurePlan) -> Iterator[dict[str, Any]]:
        rng = random.Random(f"{self.seed}:{plan.code}")
        cal = self.calendar
        n = plan.dossiers
        days = sorted(rng.choices(cal.working_days, cal.weights, k=n))
        online = [True] * plan.online_dossiers + [False] * plan.offline_dossiers
        rng.shuffle(online)
        fates = self.fates.get(plan.code, Fates(0, 0))
        order = list(range(n))
        rng.shuffle(order)
        resolved = set(order[: fates.resolved]) if plan.fee_bearing else set(range(n))
        paid_candidates = [i for i in order[: fates.resolved]]
        paid = set(paid_candidates[: fates.paid_online])
        # Of the others, some are resolved with their fee exempted (no fee transaction: TT.1
        # leaves them out); the rest are withdrawn, stopped or still in hand.
        exempt = {i for i in order[fates.resolved :] if plan.fee_bearing and rng.random() < 0.3}
        organs = self.organs[PROCEDURE_ORGAN_LEVEL[plan.level]]
        for i, day in enumerate(days):
            yield self._record(
                plan, rng, day, online[i], i in resolved, i in paid, organs, exempt=i in exempt
            )
        # Dossiers refused at reception (never received, so never counted): a few per 1,000.
        for _ in range(n * 3 // 1000):
            day = rng.choices(cal.working_days, cal.weights)[0]
            yield self._refused(plan, rng, day, organs)

    def _record(
        self,
        plan: ProcedurePlan,
        rng: random.Random,
        day: date,
        online: bool,
        resolve: bool,
        pay_online: bool,
        organs: list[str],
        *,
        exempt: bool = False,
    ) -> dict[str, Any]:
        cal = self.calendar
        organ = rng.choice(organs)
        received = cal.office_time(day, rng)
        channel = 2 if online else (3 if rng.random() < 0.04 else 1)
        submitted = received - (timedelta(minutes=rng.randrange(5, 600)) if online else
                                timedelta(minutes=rng.randrange(0, 15)))  # fmt: skip
        submitted = max(submitted, datetime(cal.year, 1, 1, 0, 1, tzinfo=self.tz))
        fee = rng.choice([15_000, 20_000, 50_000, 100_000, 200_000]) if plan.fee_bearing else 0
        if exempt:
            fee = 0
        # The steps in the order they happen, each with the time it would naturally take place;
        # `_timed` then makes the times strictly increasing and keeps them inside the year.
        steps: list[tuple[dict[str, Any], datetime]] = [({"status": 2}, received)]
        t = received + timedelta(minutes=rng.randrange(10, 120))
        steps.append(({"status": 4}, t))
        if rng.random() < 0.04:  # a supplement is asked for, then handling resumes
            t += timedelta(hours=rng.randrange(2, 30))
            steps.append(({"status": 5, "note": "Bổ sung giấy tờ"}, t))
            t += timedelta(days=rng.randrange(1, 6))
            steps.append(({"status": 4}, t))
        if resolve or exempt:
            late = rng.random() < 0.03
            days = plan.processing_days + (rng.randrange(1, 5) if late else -rng.randrange(0, 2))
            due_day = cal.add_working_days(received.date(), max(0, days))
            done = max(t + timedelta(minutes=5), cal.office_time(due_day, rng))
            handed = done + timedelta(hours=rng.randrange(1, 48))
            at_hand_over = False
            if plan.fee_bearing and not exempt:
                payment: dict[str, Any] = {"amount": fee, "method": "offline"}
                if pay_online:
                    payment = {
                        "amount": fee,
                        "method": "online",
                        "online_gateway": rng.choice([1, 2]),
                    }
                    # A fifth of the online payments are made when the result is handed over.
                    at_hand_over = rng.random() < 0.2
                steps.append(({"status": 6}, t + timedelta(minutes=30)))
                if not at_hand_over:
                    steps.append(({"payment": payment}, t + timedelta(minutes=31)))
            steps.append(({"status": 9}, done))
            if at_hand_over:
                steps.append(({"payment": payment}, handed - timedelta(minutes=5)))
            steps.append(({"status": 10}, handed))
        elif plan.fee_bearing and received.date() >= cal.working_days[-10]:
            pass  # received in the last days of the year: still being handled at year end
        else:
            end = rng.choice([7, 7, 8])
            ended = t + timedelta(days=rng.randrange(1, 10))
            steps.append(({"status": end}, ended))
            if end == 7:  # the applicant withdraws; the organ then stops handling
                steps.append(({"status": 8, "note": "Dừng xử lý theo đề nghị rút hồ sơ"},
                              ended + timedelta(hours=2)))  # fmt: skip
        history: list[dict[str, Any]] = []
        payments: list[dict[str, Any]] = []
        for step, at in self._timed(steps):
            if "payment" in step:
                payments.append({**step["payment"], "at": at.isoformat()})
            else:
                history.append({**step, "at": at.isoformat()})
        return {
            "code": self._code(organ, received.date()),
            "procedure_code": plan.code,
            "organ_code": organ,
            "channel": channel,
            "applicant": _applicant(rng),
            "fees": [{"name": "Lệ phí", "amount": fee}] if fee else [],
            "submitted_at": submitted.isoformat(),
            "history": history,
            "payments": payments,
        }

    def _timed(
        self, steps: list[tuple[dict[str, Any], datetime]]
    ) -> list[tuple[dict[str, Any], datetime]]:
        """Strictly increasing times, a minute apart at least, all before the year ends."""
        cap = datetime(self.calendar.year, 12, 31, 23, 50, tzinfo=self.tz)
        out: list[tuple[dict[str, Any], datetime]] = []
        last: datetime | None = None
        for k, (step, at) in enumerate(steps):
            if last is not None:
                at = max(at, last + timedelta(minutes=1))
            at = min(at, cap - timedelta(minutes=len(steps) - 1 - k))
            out.append((step, at))
            last = at
        return out

    def _refused(
        self, plan: ProcedurePlan, rng: random.Random, day: date, organs: list[str]
    ) -> dict[str, Any]:
        organ = rng.choice(organs)
        at = self.calendar.office_time(day, rng)
        return {
            "code": self._code(organ, day),
            "procedure_code": plan.code,
            "organ_code": organ,
            "channel": rng.choice([1, 2]),
            "applicant": _applicant(rng),
            "fees": [],
            "submitted_at": (at - timedelta(minutes=20)).isoformat(),
            "history": [{"status": 3, "at": at.isoformat(), "note": "Hồ sơ không đủ điều kiện"}],
            "payments": [],
        }

    def documents(self) -> Iterator[dict[str, Any]]:
        """Every document sent in the year, level by level, each with its business time."""
        rng = random.Random(f"{self.seed}:documents")
        cal = self.calendar
        parents = {o.code: o.parent_code for o in reference.organs().values()}
        number = 0
        for level in LEVELS:
            want = self.targets.documents.get(level)
            electronic = [True] * want.electronic + [False] * (want.sent - want.electronic)
            rng.shuffle(electronic)
            days = sorted(rng.choices(cal.working_days, cal.weights, k=want.sent))
            for is_electronic, day in zip(electronic, days, strict=True):
                number += 1
                yield self._document(level, rng, day, is_electronic, number, parents)

    def _document(
        self,
        level: Level,
        rng: random.Random,
        day: date,
        electronic: bool,
        number: int,
        parents: dict[str, str | None],
    ) -> dict[str, Any]:
        # Electronic documents travel only between organs connected to document exchange.
        pool = self.connected[level] if electronic else self.organs[level]
        sender = rng.choice(pool)
        peers = [o for o in pool if o != sender]
        parent = parents[sender] or self.hub
        if electronic and parent != self.hub and parent not in self.connected_all:
            parent = self.hub
        to = [parent]
        to += rng.sample(peers, k=min(len(peers), rng.choice([0, 0, 1, 2])))
        kind, notation = rng.choice(
            [("CV", "UBND-VP"), ("QD", "QĐ-UBND"), ("KH", "KH-UBND"), ("TB", "TB-UBND"),
             ("BC", "BC-UBND")]
        )  # fmt: skip
        at = self.calendar.office_time(day, rng)
        return {
            "key": f"doc-{self.seed}-{number}",
            "level": level,
            "from_organ": sender,
            "to_organs": sorted(set(to) - {sender}) or [parents[sender] or sender],
            "code_number": str(number),
            "code_notation": notation,
            "document_type": kind,
            "subject": f"V/v triển khai chuyển đổi số năm {self.targets.year} (số {number})",
            "electronic": electronic,
            "sent_at": at.isoformat(),
        }

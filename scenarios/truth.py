"""What the report must say about a generated year, recounted from what was generated.

The simulator compares reporting's Phụ lục II with this, row by row: ratio rows by numerator
and denominator, count and declared rows by value.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts import reference
from scenarios.plan import ProcedurePlan
from scenarios.targets import LEVELS, Targets


@dataclass(frozen=True)
class Expected:
    stt: str
    value: float | None = None
    numerator: int | None = None
    denominator: int | None = None


class Tally:
    """Counts a generated year the way reporting must: by reception (status 2) in the year,
    resolution (status 9) for the paid-online ratio (dossiers with a fee transaction, at any
    status), payment time for the procedures paid online, catalogue and connections at year
    end."""

    def __init__(self, targets: Targets, plans: list[ProcedurePlan]) -> None:
        self.year = targets.year
        self.targets = targets
        self.plans = {p.code: p for p in plans}
        self.received: Counter[tuple[str, bool]] = Counter()
        self.with_dossiers: set[str] = set()
        self.with_online: set[str] = set()
        self.fee_resolved = 0
        self.paid_online = 0
        self.paid_online_procedures: set[str] = set()
        self.sent: Counter[str] = Counter()
        self.electronic: Counter[str] = Counter()

    def _in_year(self, at: str) -> bool:
        return datetime.fromisoformat(at).year == self.year

    def dossier(self, record: dict[str, Any]) -> None:
        plan = self.plans[record["procedure_code"]]
        online = record["channel"] == 2
        for change in record["history"]:
            if change["status"] == 2 and self._in_year(change["at"]):
                self.received[(plan.mode, online)] += 1
                self.with_dossiers.add(plan.code)
                if online:
                    self.with_online.add(plan.code)
            fees = [p for p in record["payments"] if p["amount"] > 0]
            if change["status"] == 9 and plan.fee_bearing and self._in_year(change["at"]) and fees:
                self.fee_resolved += 1
                self.paid_online += any(p["method"] == "online" for p in fees)
        for p in record["payments"]:
            if p["method"] == "online" and p["amount"] > 0 and self._in_year(p["at"]):
                self.paid_online_procedures.add(plan.code)

    def dossiers(self, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            self.dossier(record)

    def document(self, doc: dict[str, Any]) -> None:
        if self._in_year(doc["sent_at"]):
            self.sent[doc["level"]] += 1
            self.electronic[doc["level"]] += bool(doc["electronic"])

    def rows(self) -> dict[str, Expected]:
        t = self.targets
        plans = self.plans.values()
        organs = Counter(o.level for o in reference.organs().values())
        out: dict[str, Expected] = {}

        def ratio(stt: str, num: int, den: int) -> None:
            out[stt] = Expected(stt, numerator=num, denominator=den)

        def count(stt: str, n: int) -> None:
            out[stt] = Expected(stt, value=n)

        for stt, value in t.declared.items():
            out[stt] = Expected(stt, value=value)
        for system, first in (("qlvb", "5.1"), ("motcua", "5.3")):
            for i, level in enumerate(LEVELS, start=1):
                connected = getattr(t.connections, system).get(level)
                ratio(f"{first}.{i}", connected, organs[level])
        ratio("5.2", sum(self.electronic.values()), sum(self.sent.values()))
        for i, level in enumerate(LEVELS, start=1):
            ratio(f"5.2.{i}", self.electronic[level], self.sent[level])
        eligible = sum(p.full_online_eligible for p in plans)
        full = sum(p.mode == "full" for p in plans)
        ratio("6.1", full, eligible)
        count("6.1.1", eligible)
        count("6.1.2", full)
        ratio("6.2", len(self.with_online), len(self.with_dossiers))
        count("6.2.1", len(self.with_dossiers))
        count("6.2.2", len(self.with_online))
        for mode, stt in (("full", "6.3"), ("partial", "6.4")):
            total = self.received[(mode, True)] + self.received[(mode, False)]
            online = self.received[(mode, True)]
            ratio(stt, online, total)
            count(f"{stt}.1", total)
            count(f"{stt}.2", online)
        fee = sum(p.fee_bearing for p in plans)
        paying = sum(p.online_payment for p in plans)
        ratio("6.5", paying, fee)
        count("6.5.1", fee)
        count("6.5.2", paying)
        ratio("TT.1", self.paid_online, self.fee_resolved)
        ratio("TT.2", len(self.paid_online_procedures), paying)
        count("TT.2.1", len(self.paid_online_procedures))
        return out


def from_targets(targets: Targets) -> dict[str, Expected]:
    """The rows a targets file states, without generating anything (for `lgsp report`)."""
    p, d = targets.procedures, targets.dossiers
    organs = Counter(o.level for o in reference.organs().values())
    out: dict[str, Expected] = {
        stt: Expected(stt, value=value) for stt, value in targets.declared.items()
    }

    def ratio(stt: str, num: int, den: int) -> None:
        out[stt] = Expected(stt, numerator=num, denominator=den)

    for system, first in (("qlvb", "5.1"), ("motcua", "5.3")):
        for i, level in enumerate(LEVELS, start=1):
            ratio(f"{first}.{i}", getattr(targets.connections, system).get(level), organs[level])
    docs = [targets.documents.get(level) for level in LEVELS]
    ratio("5.2", sum(x.electronic for x in docs), sum(x.sent for x in docs))
    for i, x in enumerate(docs, start=1):
        ratio(f"5.2.{i}", x.electronic, x.sent)
    pairs = {
        "6.1": (p.full_online, p.full_online_eligible),
        "6.2": (p.with_online_dossiers, p.with_dossiers),
        "6.3": (d.full.online, d.full.total),
        "6.4": (d.partial.online, d.partial.total),
        "6.5": (p.fee_bearing_online_payment, p.fee_bearing),
    }
    for stt, (num, den) in pairs.items():
        ratio(stt, num, den)
        out[f"{stt}.1"] = Expected(f"{stt}.1", value=den)
        out[f"{stt}.2"] = Expected(f"{stt}.2", value=num)
    ratio("TT.1", d.paid_online, d.fee_bearing_resolved)
    ratio("TT.2", p.online_payment_used, p.fee_bearing_online_payment)
    out["TT.2.1"] = Expected("TT.2.1", value=p.online_payment_used)
    return out

"""From targets to a plan: the procedures catalogue and how many dossiers each procedure gets.

Everything here is deterministic for a given seed. The plan is built so that the counts the
report derives from it are exactly the targets; `check_plan` proves it before anything is sent.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from contracts import reference
from scenarios.targets import Targets

Mode = Literal["full", "partial"]
ProcedureLevel = Literal["province", "district", "commune"]

FIELDS = (
    "Hộ tịch", "Chứng thực", "Đất đai", "Xây dựng", "Đăng ký kinh doanh", "Tư pháp", "Lao động",
    "Bảo trợ xã hội", "Giáo dục", "Y tế", "Giao thông", "Thương mại", "Văn hóa", "Nông nghiệp",
    "Tài nguyên nước", "Môi trường", "Người có công", "Thuế", "Khoa học công nghệ", "Nội vụ",
)  # fmt: skip
SUBJECTS = (
    "Cấp giấy phép", "Đăng ký", "Cấp lại", "Gia hạn", "Điều chỉnh", "Xác nhận", "Thẩm định",
    "Công nhận", "Cấp đổi", "Thông báo", "Phê duyệt", "Chấp thuận",
)  # fmt: skip


class PlanError(ValueError):
    """The targets cannot be met (e.g. more procedures with online dossiers than dossiers)."""


@dataclass(frozen=True)
class ProcedurePlan:
    code: str
    name: str
    field: str
    level: ProcedureLevel
    mode: Mode
    full_online_eligible: bool
    fee_bearing: bool
    online_payment: bool
    processing_days: int
    online_dossiers: int
    offline_dossiers: int

    @property
    def dossiers(self) -> int:
        return self.online_dossiers + self.offline_dossiers

    def as_api(self) -> dict[str, object]:
        """The body of `PUT /v1/procedures/{code}`."""
        return {
            "code": self.code,
            "name": self.name,
            "field": self.field,
            "level": self.level,
            "online_mode": self.mode,
            "full_online_eligible": self.full_online_eligible,
            "fee_bearing": self.fee_bearing,
            "online_payment": self.online_payment,
            "processing_days": self.processing_days,
            # The generator counts its due dates in working days (`Calendar.add_working_days`).
            "processing_unit": "working_day",
        }


def allocate(total: int, slots: int, minimum: list[int], rng: random.Random) -> list[int]:
    """Split `total` over `slots` with each slot at least its minimum and a skewed (Zipf-like)
    share of the rest, by largest remainder: the parts always add up to `total` exactly."""
    base = sum(minimum)
    if base > total:
        raise PlanError(f"cannot split {total} into {slots} parts with minimums summing to {base}")
    weights = [1.0 / (i + 1) ** 0.9 for i in range(slots)]
    rng.shuffle(weights)
    rest = total - base
    norm = sum(weights) or 1.0
    exact = [rest * w / norm for w in weights]
    parts = [int(x) for x in exact]
    short = rest - sum(parts)
    by_remainder = sorted(range(slots), key=lambda i: (exact[i] - parts[i], -i), reverse=True)
    for i in by_remainder[:short]:
        parts[i] += 1
    return [m + p for m, p in zip(minimum, parts, strict=True)]


def _mode_dossiers(
    total: int, online: int, n: int, k: int, rng: random.Random, mode: str
) -> list[tuple[int, int]]:
    """(online, offline) for `n` procedures of a mode, the first `k` with online dossiers."""
    if n == 0:
        if total:
            raise PlanError(f"{total} {mode} dossiers but no {mode} procedure with dossiers")
        return []
    if online < k:
        raise PlanError(f"{k} {mode} procedures need an online dossier but only {online} exist")
    if total - online < n - k:
        raise PlanError(f"{n - k} {mode} procedures need an offline dossier: too few dossiers")
    if k == 0 and online:
        raise PlanError(f"{online} online {mode} dossiers but no procedure may have them")
    on = allocate(online, k, [1] * k, rng) + [0] * (n - k)
    off = allocate(total - online, n, [0] * k + [1] * (n - k), rng)
    return list(zip(on, off, strict=True))


def build_plan(targets: Targets, seed: int) -> list[ProcedurePlan]:
    rng = random.Random(f"{seed}:procedures")
    p = targets.procedures
    # Every full-online service has dossiers first; the other services with dossiers are
    # partial ones. Eligible-but-partial services make 6.1.1 exceed 6.1.2 when asked to.
    full_with = min(p.full_online, p.with_dossiers)
    partial_with = p.with_dossiers - full_with
    full_without = p.full_online - full_with
    eligible_partial = p.full_online_eligible - p.full_online
    # Online dossiers: the first procedures of each mode, full ones first.
    full_online_procs = min(full_with, p.with_online_dossiers)
    partial_online_procs = p.with_online_dossiers - full_online_procs
    if partial_online_procs > partial_with:
        raise PlanError("more procedures with online dossiers than procedures with dossiers")
    d = targets.dossiers
    full = _mode_dossiers(d.full.total, d.full.online, full_with, full_online_procs, rng, "full")
    partial = _mode_dossiers(
        d.partial.total, d.partial.online, partial_with, partial_online_procs, rng, "partial"
    )
    counts: list[tuple[Mode, int, int]] = [("full", on, off) for on, off in full]
    counts += [("full", 0, 0)] * full_without
    counts += [("partial", on, off) for on, off in partial]
    extra_partial = max(0, eligible_partial - partial_with)
    counts += [("partial", 0, 0)] * extra_partial
    if p.fee_bearing > len(counts):
        raise PlanError(f"{p.fee_bearing} fee-bearing procedures but only {len(counts)} in all")
    # Fee-bearing procedures: a run of procedures whose dossiers are enough to resolve the
    # target with about 95 % of them resolved in the year (the rest withdrawn, stopped or still
    # in hand); the first of them take online payment.
    order = sorted(range(len(counts)), key=lambda i: (-(counts[i][1] + counts[i][2]), i))
    size = [counts[i][1] + counts[i][2] for i in order]
    need = -(-d.fee_bearing_resolved * 100 // 95)
    start = 0
    for k in range(len(order) - p.fee_bearing, -1, -1):
        if sum(size[k : k + p.fee_bearing]) >= need:
            start = k
            break
    fee_rank = {i: r for r, i in enumerate(order[start : start + p.fee_bearing])}
    partial_seen = 0
    plans = []
    # A local variant's code in the national catalogue's form (`1.001612.000.00.00.H03`), so
    # that DVCQG takes the dossiers: numbers from 100000 up, the province's suffix.
    suffix = reference.province().organ_suffix
    for i, (mode, on, off) in enumerate(counts):
        eligible = mode == "full"
        if mode == "partial":
            eligible = partial_seen < eligible_partial
            partial_seen += 1
        rank = fee_rank.get(i)
        levels: list[ProcedureLevel] = ["province", "district", "commune"]
        level = rng.choices(levels, [40, 35, 25])[0]
        field = FIELDS[i % len(FIELDS)]
        plans.append(
            ProcedurePlan(
                code=f"{1 + i % 3}.{100000 + i:06d}.000.00.00.{suffix}",
                name=f"{SUBJECTS[i % len(SUBJECTS)]} thuộc lĩnh vực {field.lower()} (số {i + 1})",
                field=field,
                level=level,
                mode=mode,
                full_online_eligible=eligible,
                fee_bearing=rank is not None,
                online_payment=rank is not None and rank < p.fee_bearing_online_payment,
                processing_days=rng.choice([1, 3, 5, 7, 10, 15, 20]),
                online_dossiers=on,
                offline_dossiers=off,
            )
        )
    fee_dossiers = sum(pl.dossiers for pl in plans if pl.fee_bearing)
    if fee_dossiers < d.fee_bearing_resolved:
        raise PlanError(
            f"{d.fee_bearing_resolved} fee-bearing dossiers must be resolved but the "
            f"fee-bearing procedures have only {fee_dossiers} dossiers"
        )
    paying = sum(pl.dossiers for pl in plans if pl.online_payment)
    if paying < d.paid_online:
        raise PlanError(f"{d.paid_online} dossiers paid online but only {paying} can pay online")
    payers = sum(1 for pl in plans if pl.online_payment and pl.dossiers)
    if payers < p.online_payment_used:
        raise PlanError(
            f"{p.online_payment_used} procedures must be paid online but only {payers} "
            "procedures with online payment have dossiers"
        )
    return plans


def check_plan(targets: Targets, plans: list[ProcedurePlan]) -> None:
    """Recount the plan the way reporting does and fail on any difference with the targets."""
    p, d = targets.procedures, targets.dossiers
    got = {
        "6.1.1": sum(pl.full_online_eligible for pl in plans),
        "6.1.2": sum(pl.mode == "full" for pl in plans),
        "6.2.1": sum(pl.dossiers > 0 for pl in plans),
        "6.2.2": sum(pl.online_dossiers > 0 for pl in plans),
        "6.3.1": sum(pl.dossiers for pl in plans if pl.mode == "full"),
        "6.3.2": sum(pl.online_dossiers for pl in plans if pl.mode == "full"),
        "6.4.1": sum(pl.dossiers for pl in plans if pl.mode == "partial"),
        "6.4.2": sum(pl.online_dossiers for pl in plans if pl.mode == "partial"),
        "6.5.1": sum(pl.fee_bearing for pl in plans),
        "6.5.2": sum(pl.online_payment for pl in plans),
    }
    want = {
        "6.1.1": p.full_online_eligible,
        "6.1.2": p.full_online,
        "6.2.1": p.with_dossiers,
        "6.2.2": p.with_online_dossiers,
        "6.3.1": d.full.total,
        "6.3.2": d.full.online,
        "6.4.1": d.partial.total,
        "6.4.2": d.partial.online,
        "6.5.1": p.fee_bearing,
        "6.5.2": p.fee_bearing_online_payment,
    }
    wrong = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
    if wrong:
        raise PlanError(f"plan differs from the targets (got, want): {wrong}")

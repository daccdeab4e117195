"""The simulator's plan and year: deterministic, consistent, and exactly the targets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scenarios.plan import PlanError, build_plan, check_plan
from scenarios.targets import Targets, load
from scenarios.truth import Tally, from_targets
from scenarios.year import Year
from services.dossier.dossiers.lifecycle import Clock, apply_status

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
FILES = ["bac-giang-2023.yaml", "fictional-province.yaml"]


def tally(targets: Targets, seed: int) -> Tally:
    plans = build_plan(targets, seed)
    year = Year(targets, plans, seed)
    counted = Tally(targets, plans)
    counted.dossiers(year.dossiers())
    for doc in year.documents():
        counted.document(doc)
    return counted


@pytest.mark.parametrize("name", FILES)
def test_the_plan_meets_the_targets_at_every_scale(name: str) -> None:
    targets = load(SCENARIOS / name)
    for scale in (1, 0.1, 0.01, 0.001):
        scaled = targets.scaled(scale)
        check_plan(scaled, build_plan(scaled, seed=5))


def test_a_generated_year_counts_exactly_the_published_figures() -> None:
    targets = load(SCENARIOS / "fictional-province.yaml")
    assert tally(targets, seed=9).rows() == from_targets(targets)


def test_bac_giang_scaled_counts_exactly_the_scaled_figures() -> None:
    targets = load(SCENARIOS / "bac-giang-2023.yaml").scaled(0.05)
    assert tally(targets, seed=9).rows() == from_targets(targets)


def test_bac_giang_whole_year_has_214_procedures_paid_online() -> None:
    """The seed's "Tổng số TTHC đang triển khai thanh toán trực tuyến có phát sinh giao dịch phí
    lệ phí: 214" and "Số hồ sơ có phát sinh giao dịch thanh toán trực tuyến: 186.530", counted
    from the generated payments of the whole year (the payments, not the targets, are counted)."""
    targets = load(SCENARIOS / "bac-giang-2023.yaml")
    rows = tally(targets, seed=11).rows()
    assert rows["TT.2.1"].value == 214
    assert (rows["TT.2"].numerator, rows["TT.2"].denominator) == (214, 214)
    assert (rows["TT.1"].numerator, rows["TT.1"].denominator) == (186_530, 192_119)
    assert rows == from_targets(targets)


def test_the_year_has_exempted_dossiers_and_fees_paid_online_at_hand_over() -> None:
    """Both cases TT.1 must get right are generated: a fee-bearing dossier resolved without a
    fee transaction (left out) and an online payment after the resolution (counted)."""
    targets = load(SCENARIOS / "fictional-province.yaml").scaled(0.05)
    plans = {p.code: p for p in build_plan(targets, 3)}
    exempted = handed_over = 0
    for record in Year(targets, list(plans.values()), 3).dossiers():
        statuses = {h["status"]: datetime.fromisoformat(h["at"]) for h in record["history"]}
        if plans[record["procedure_code"]].fee_bearing and 9 in statuses:
            exempted += not record["payments"] and not record["fees"]
            handed_over += any(
                p["method"] == "online" and datetime.fromisoformat(p["at"]) > statuses[9]
                for p in record["payments"]
            )
    assert exempted > 0 and handed_over > 0


def test_same_seed_same_year_other_seed_other_year() -> None:
    targets = load(SCENARIOS / "bac-giang-2023.yaml").scaled(0.002)
    plans = build_plan(targets, 1)
    one = list(Year(targets, plans, 1).dossiers())
    assert one == list(Year(targets, build_plan(targets, 1), 1).dossiers())
    assert one != list(Year(targets, build_plan(targets, 2), 2).dossiers())


@pytest.mark.parametrize("name", FILES)
def test_every_history_moves_forward_inside_the_year(name: str) -> None:
    targets = load(SCENARIOS / name).scaled(0.02)
    for record in Year(targets, build_plan(targets, 3), 3).dossiers():
        times = [datetime.fromisoformat(h["at"]) for h in record["history"]]
        assert times == sorted(times) and len(set(times)) == len(times), record
        assert all(t.year == targets.year for t in times)
        assert datetime.fromisoformat(record["submitted_at"]) <= times[0]
        statuses = [h["status"] for h in record["history"]]
        for payment in record["payments"]:
            # Paid once asked (6), before the resolution (9) or at the hand-over (10).
            paid = datetime.fromisoformat(payment["at"])
            asked = times[statuses.index(6)]
            returned = times[statuses.index(10)]
            assert asked < paid < returned


def test_impossible_targets_are_refused_with_the_reason() -> None:
    data = load(SCENARIOS / "fictional-province.yaml").model_dump()
    data["dossiers"]["fee_bearing_resolved"] = 10_000_000
    data["dossiers"]["paid_online"] = 0
    data["procedures"]["online_payment_used"] = 0
    with pytest.raises(PlanError, match="fee-bearing"):
        build_plan(Targets.model_validate(data, strict=False), seed=1)
    data = load(SCENARIOS / "fictional-province.yaml").model_dump()
    data["procedures"]["full_online"] = data["procedures"]["full_online_eligible"] + 1
    with pytest.raises(ValueError, match=r"6\.1\.2"):
        Targets.model_validate(data, strict=False)


@pytest.mark.parametrize("name", FILES)
def test_every_generated_history_passes_the_dossier_rules(name: str) -> None:
    """Each record replays through the dossier service's own rules (so sync accepts it); a
    withdrawal is followed by the stop of handling, as in the real flow; a refusal at
    reception is never judged on time or late."""
    targets = load(SCENARIOS / name).scaled(0.01)
    plans = build_plan(targets, 4)
    days = {p.code: p.processing_days for p in plans}
    tz = ZoneInfo(targets.timezone)
    now = datetime(9999, 1, 1, tzinfo=UTC)
    withdrawn = refused = 0
    for record in Year(targets, plans, 4).dossiers():
        submitted = datetime.fromisoformat(record["submitted_at"])
        clock = Clock(status=1, submitted_at=submitted, last_at=submitted,
                      processing_days=days[record["procedure_code"]])  # fmt: skip
        for h in record["history"]:
            apply_status(clock, h["status"], datetime.fromisoformat(h["at"]), now=now, tz=tz)
        statuses = [h["status"] for h in record["history"]]
        if 7 in statuses:
            withdrawn += 1
            assert statuses[-2:] == [7, 8]
        if statuses == [3]:
            refused += 1
            assert clock.on_time is None
    assert withdrawn and refused


def test_more_procedures_paid_online_than_dossiers_paid_online_is_refused() -> None:
    data = load(SCENARIOS / "fictional-province.yaml").model_dump()
    data["dossiers"]["paid_online"] = data["procedures"]["online_payment_used"] - 1
    with pytest.raises(ValueError, match=r"TT\.2\.1"):
        Targets.model_validate(data, strict=False)
    data = load(SCENARIOS / "fictional-province.yaml").model_dump()
    data["procedures"]["online_payment_used"] = data["procedures"]["fee_bearing_online_payment"] + 1
    with pytest.raises(ValueError, match=r"TT\.2\.1"):
        Targets.model_validate(data, strict=False)

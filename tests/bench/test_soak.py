"""The soak's figures and README row, from an outcome built by hand."""

from __future__ import annotations

from bench.soak import MIB, MIX, Memory, OpStats, Outcome


def outcome(end_mib: float, counted: int) -> Outcome:
    stats = {op: OpStats() for op in MIX}
    first = next(iter(MIX))
    stats[first] = OpStats(calls=1000, errors=0, latencies=[0.001 * i for i in range(1, 901)])
    memory = Memory(
        {"gateway": 1},
        [("start", {"gateway": int(100 * MIB)}), ("end", {"gateway": int(end_mib * MIB)})],
    )
    return Outcome(
        rate=20.0,
        seconds=60.0,
        warmup=10.0,
        stats=stats,
        memory=memory,
        counted={"dossiers received (status 2)": counted},
        created={"dossiers received (status 2)": 50},
        error_samples=[],
    )


def test_a_clean_soak_meets_its_row() -> None:
    run = outcome(101.0, 50)
    figures = run.figures()
    assert figures["all"]["p99_ms"] == 891.0
    assert figures["rss_mib"]["gateway"] == {
        "samples": {"start": 100.0, "end": 101.0},
        "growth": 1.0,
        "bound": 145.0,
        "ok": True,
    }
    assert figures["problems"] == []
    row = run.result_row("sqlite")
    assert row.met is True
    assert "20 calls/s (open loop) for 1 min after a 10 s warm-up" in row.what
    assert row.measured == (
        "0 errors in 1,000 calls (0.000%); p50 450.0 ms, p99 891.0 ms; reporting's counters "
        "all equal; end RSS within the bound for all"
    )


def test_a_leak_or_a_lost_count_misses_it() -> None:
    leaking = outcome(200.0, 50).result_row("postgres")
    assert (leaking.met, leaking.measured.endswith("over the bound: gateway")) == (False, True)
    lost = outcome(101.0, 49).result_row("sqlite")
    assert (lost.met, "1 differ" in lost.measured) == (False, True)

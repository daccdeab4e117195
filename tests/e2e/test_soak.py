"""A short soak through the gateway: the mixed open-loop load of `bench.soak`, on real
processes, answers every call and loses nothing on the way to reporting.

The ten-minute run with its memory bound is `python -m bench.soak` (README, Soak); here the
load is low and short, so memory is held to a loose bound only.
"""

from __future__ import annotations

import asyncio

import pytest

from bench.soak import MIB, MIX, Memory, parse_metrics, percentile, soak
from tests.e2e.platform import Platform


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) == 0.0


def test_memory_bound_names_the_process_that_grew() -> None:
    memory = Memory({"gateway": 1, "nats": 2})
    memory.samples = [
        ("start", {"gateway": 100 * MIB, "nats": 20 * MIB}),
        ("end", {"gateway": 146 * MIB, "nats": 44 * MIB}),
    ]
    # 100 × 1.25 + 20 = 145 MiB for the gateway; 20 × 1.25 + 20 = 45 MiB for NATS.
    [problem] = memory.over_bound()
    assert problem.startswith("gateway: 146.0 MiB")
    # NATS is allowed what its duplicate window holds on top.
    memory.samples[1][1]["nats"] = 47 * MIB
    assert len(memory.over_bound()) == 2
    memory.allowance["nats"] = 2 * MIB
    assert len(memory.over_bound()) == 1


def test_metrics_parser_reads_labels() -> None:
    text = (
        "# HELP lgsp_events_consumed_total Events\n"
        'lgsp_events_consumed_total{type="lgsp.dossier.submitted"} 12.0\n'
        'lgsp_documents_sent_total{sender_level="province",electronic="true"} 3.0\n'
    )
    assert parse_metrics(text) == [
        ("lgsp_events_consumed_total", {"type": "lgsp.dossier.submitted"}, 12.0),
        ("lgsp_documents_sent_total", {"sender_level": "province", "electronic": "true"}, 3.0),
    ]


@pytest.mark.e2e
def test_short_soak_answers_every_call_and_loses_nothing(sqlite_platform: Platform) -> None:
    outcome = asyncio.run(
        soak(sqlite_platform, rate=20, seconds=20, warmup=5, sample_every=10, say=lambda _: None)
    )
    print(outcome.render())

    assert outcome.calls == 500
    assert outcome.errors == 0, outcome.error_samples
    called = {op for op, stats in outcome.stats.items() if stats.calls}
    assert {"submit dossier", "dossier status", "send document", "recipient status"} <= called
    assert len(called) >= len(MIX) - 3
    # What was created reached reporting, exactly (nothing lost, nothing counted twice).
    assert outcome.created["events dossier.submitted"] > 0
    assert outcome.created["dossiers received (status 2)"] > 0
    assert outcome.created["documents sent, electronic"] > 0
    assert outcome.created["documents sent, paper"] > 0
    assert outcome.lost() == []
    # Loose: twenty seconds say little about leaks; a process doubling would still show.
    start = dict(outcome.memory.samples)["start"]
    end = dict(outcome.memory.samples)["end"]
    assert all(end[p] <= 2 * start[p] for p in start), (start, end)

"""The documents benchmark's pure parts: the documents it sends and its README rows."""

from __future__ import annotations

import argparse

from bench.documents import HUB, Documents, result_rows
from contracts import reference


def test_documents_go_up_and_across_between_connected_levels() -> None:
    docs = Documents(seed=1)
    levels = {o.code: o.level for o in reference.organs().values()}
    keys = set()
    for _ in range(200):
        key, body = docs.one()
        keys.add(key)
        sender, to = body["from_organ"], body["to_organs"]
        assert sender not in to and len(set(to)) == len(to) and 1 <= len(to) <= 3
        assert {levels[c] for c in [sender, *to]} <= {"province", "province_organ", "district"}
        if sender != HUB:  # the province's UBND sends down to any organ
            assert to[0] == (reference.organs()[sender].parent_code or HUB)
        assert body["electronic"] is True and len(body["attachments"]) == 1
    assert len(keys) == 200  # a fresh key (and number) per document


def figures(rate: float, cpu_ms: float) -> dict[str, object]:
    return {
        "documents": 1200,
        "published_s": 1200 / rate,
        "documents_per_s": rate,
        "cpu_ms_per_document": cpu_ms,
        "call_ms": {"p50": 10.0, "p99": 40.0},
    }


def test_the_target_is_held_by_the_batch_row_when_there_is_one() -> None:
    args = argparse.Namespace(concurrency=16, batch=100, batch_concurrency=2, workers=1)
    single, batch = result_rows(
        args, "sqlite", {"single": figures(110.0, 8.3), "batch": figures(640.0, 1.5)}
    )
    assert (single.met, single.target) == (None, "")
    assert single.measured.startswith("**110 documents/s** (1,200 in 10.9 s; 8.30 ms")
    assert "SQLite" in single.what and "16 in flight" in single.what
    assert (batch.met, batch.target) == (True, "≥ 600 documents/s")
    assert "100 a call, 2 in flight" in batch.what
    slow = result_rows(
        args, "postgresql", {"single": figures(110.0, 8.3), "batch": figures(500.0, 2.0)}
    )[1]
    assert slow.met is False and "PostgreSQL" in slow.what
    alone = result_rows(
        argparse.Namespace(concurrency=16, batch=0, batch_concurrency=2, workers=1),
        "sqlite",
        {"single": figures(110.0, 8.3)},
    )
    assert len(alone) == 1 and alone[0].met is False

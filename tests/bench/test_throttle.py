"""The throttle benchmark runs on the real Redis and writes its figures."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bench import throttle


def test_the_throttle_benchmark_writes_its_figures(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ["bench.throttle", "--redis", redis_url, "--calls", "2000", "--repeat", "1"]
    monkeypatch.setattr(sys, "argv", [*argv, "--results", str(tmp_path)])
    assert throttle.main() == 0
    result = json.loads((tmp_path / "throttle.json").read_text())
    figures = result["figures"]
    assert figures["lease_gold"] == 100 and figures["lease_bronze"] == 5
    assert figures["in_process_us"] > 0 and figures["redis_gold_us"] > 0
    # A lease of 5 asks Redis 20 times as often as a lease of 100.
    assert figures["redis_bronze_us"] > figures["redis_gold_us"]

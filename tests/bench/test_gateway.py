"""The pure helpers of the gateway benchmark: wrk's output, the paced rate, the verdict."""

from __future__ import annotations

from bench.gateway import (
    BackendRun,
    Result,
    paced_rate,
    parse_wrk,
    result_figures,
    result_rows,
    verdict,
)

# wrk 4.1.0 with `-s bench/paced.lua --latency` (a Lua-scripted run prints the same report).
PACED_OUTPUT = """\
Running 1s test @ http://127.0.0.1:18778/
  2 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    40.24ms   10.13ms  46.28ms   94.12%
    Req/Sec    32.38      8.31    50.00     76.19%
  Latency Distribution
     50%  842.00us
     75%   43.92ms
     90%   44.25ms
     99%    1.20s
  68 requests in 1.10s, 7.72KB read
  Socket errors: connect 0, read 0, write 0, timeout 3
  Non-2xx or 3xx responses: 5
Requests/sec:     61.81
Transfer/sec:      7.02KB
"""


def result(name: str, rps: float, p99_ms: float) -> Result:
    return Result(name, rps, p50_ms=1.0, p99_ms=p99_ms, non_2xx=0, errors="")


def test_parse_wrk_reads_a_scripted_run() -> None:
    r = parse_wrk("gateway", PACED_OUTPUT)
    assert (r.rps, r.p50_ms, r.p99_ms) == (61.81, 0.842, 1200.0)
    assert (r.requests, r.non_2xx) == (68, 5)
    assert r.errors == "Socket errors: connect 0, read 0, write 0, timeout 3"


def test_parse_wrk_without_errors() -> None:
    clean = "\n".join(
        line for line in PACED_OUTPUT.splitlines() if "errors" not in line and "Non-2xx" not in line
    )
    r = parse_wrk("direct", clean)
    assert (r.non_2xx, r.errors) == (0, "")


def test_paced_rate_is_half_the_slowest_target_unless_given() -> None:
    saturated = [result("direct", 5000, 80), result("nginx", 4000, 30), result("gateway", 2101, 90)]
    assert paced_rate(saturated, None) == 1050
    assert paced_rate(saturated, 700) == 700


def test_verdict_judges_p99_on_the_paced_run() -> None:
    saturated = [result("direct", 5000, 80), result("nginx", 4000, 30), result("gateway", 3400, 95)]
    paced = [result("direct", 980, 2.0), result("nginx", 990, 2.5), result("gateway", 970, 9.0)]
    text = verdict(BackendRun("python", saturated, 1000, paced))
    assert text.startswith("req/s met (0.85, target >= 0.8)")
    assert "paced p99 added met (+7.0 ms" in text
    assert "saturated p99 added +15.0 ms" in text


def test_verdict_without_the_paced_run_falls_back_to_saturation() -> None:
    saturated = [result("direct", 5000, 80), result("nginx", 4000, 30), result("gateway", 2000, 95)]
    text = verdict(BackendRun("python", saturated))
    assert (
        text
        == "req/s missed (0.50, target >= 0.8), saturated p99 added missed (+15.0 ms, target <= 10)"
    )


def test_result_rows_state_both_phases_of_one_run() -> None:
    saturated = [result("direct", 5000, 80), result("nginx", 4000, 30), result("gateway", 3400, 95)]
    paced = [result("direct", 1490, 2.0), result("nginx", 1495, 2.5), result("gateway", 1300, 9.0)]
    run = BackendRun("python", saturated, 1500, paced)
    rows = result_rows(run, connections=64, workers=1, audit=True, rate_given=False)
    assert [row.met for row in rows] == [True, True]
    assert rows[0].measured.startswith("3,400 vs 4,000 req/s = **0.85 ×** (5,000 direct)")
    assert "gateway 1 worker, audit on" in rows[0].what
    assert "paced at 1,500 req/s offered (half the lowest saturated req/s)" in rows[1].what
    assert rows[1].measured.startswith("gateway **+7.0 ms**, nginx +0.5 ms (direct p99 2.0 ms)")
    assert rows[1].measured.endswith("below 90 % of the offered rate: gateway")
    figures = result_figures(run)
    assert figures["paced_rate"] == 1500
    assert figures["paced_p99_added_ms"] == {"gateway": 7.0, "nginx": 0.5}


def test_result_rows_without_the_paced_phase() -> None:
    saturated = [result("direct", 5000, 80), result("nginx", 4000, 30), result("gateway", 2000, 95)]
    rows = result_rows(
        BackendRun("static", saturated), connections=64, workers=2, audit=False, rate_given=False
    )
    assert len(rows) == 1
    assert rows[0].met is False
    assert "gateway 2 workers, audit off" in rows[0].what

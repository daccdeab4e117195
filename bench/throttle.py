"""Throttle benchmark: the CPU a proxied call spends on throttling, in process and in Redis.

A script, not a test: `python -m bench.throttle [--redis redis://127.0.0.1:6379/13]`. It times
the gateway's own code (`gateway.fastpath.throttle`), as the proxy calls it, on one event loop:

- `in process`: `Throttle.hit`, the embedded default (one dict look-up and a few operations);
- `Redis`: `SharedThrottle.hit`, and `ask` when its lease is spent (one Lua script run on the
  machine's Redis per lease), for a Gold-sized consumer (lease 100 calls) and a Bronze one
  (1,000 per minute: lease 5 calls).

CPU time of this process (`time.process_time`), best of `--repeat` runs: Redis's own CPU is
not in it, nor that of wrk or a server, so the figure says what Redis costs the gateway's
process per call. The keys it writes are its own (a fresh consumer id per run) and expire with
their window. The result goes to `bench/results/throttle.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from prometheus_client import CollectorRegistry

from bench import results
from gateway.fastpath.throttle import ASK, SharedThrottle, Throttle
from gateway.shared import SharedMetrics, SharedState

LIMITS: dict[str, int | None] = {"Bronze": 1000, "Gold": 1_000_000_000}


def _per_call(calls: int, run: object) -> float:
    began = time.process_time()
    asyncio.get_event_loop().run_until_complete(run)  # type: ignore[arg-type]
    return (time.process_time() - began) / calls * 1e6


async def _local(throttle: Throttle, calls: int) -> None:
    client = uuid.uuid4().hex
    for _ in range(calls):
        throttle.hit(client, "Gold")


async def _shared(throttle: SharedThrottle, tier: str, calls: int) -> None:
    client = uuid.uuid4().hex
    for _ in range(calls):
        decision = throttle.hit(client, tier)
        if decision is ASK:
            decision = await throttle.ask(client, tier)
        assert decision is not None and decision.allowed


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13", metavar="URL")
    parser.add_argument("--calls", type=int, default=200_000, help="calls per run (Gold)")
    parser.add_argument("--repeat", type=int, default=5)
    results.add_arguments(parser)
    args = parser.parse_args()
    started = results.start()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    local = Throttle(LIMITS, 60)
    in_process = min(_per_call(args.calls, _local(local, args.calls)) for _ in range(args.repeat))

    async def make() -> SharedState:
        return SharedState(args.redis, SharedMetrics(CollectorRegistry()))

    store = loop.run_until_complete(make())
    shared = SharedThrottle(LIMITS, 60, store)
    gold = min(
        _per_call(args.calls, _shared(shared, "Gold", args.calls)) for _ in range(args.repeat)
    )
    # Bronze: 990 calls stay within one consumer's limit of 1,000 per window.
    bronze = min(_per_call(990, _shared(shared, "Bronze", 990)) for _ in range(args.repeat))
    loop.run_until_complete(store.close())
    loop.close()

    print(f"throttling CPU per call, best of {args.repeat}:")
    print(f"  in process             {in_process:7.2f} µs")
    print(f"  Redis, Gold (lease {shared.lease_size(1_000_000_000)})  {gold:7.2f} µs")
    print(f"  Redis, Bronze (lease {shared.lease_size(1000)})  {bronze:7.2f} µs")
    figures = {
        "in_process_us": round(in_process, 2),
        "redis_gold_us": round(gold, 2),
        "redis_bronze_us": round(bronze, 2),
        "lease_gold": shared.lease_size(1_000_000_000),
        "lease_bronze": shared.lease_size(1000),
    }
    row = results.Row(
        what="throttling CPU per proxied call: in process, and counted in Redis for every "
        "gateway process (a lease per Lua call)",
        measured=f"in process {in_process:.1f} µs; Redis {gold:.1f} µs (Gold-sized, lease "
        f"{figures['lease_gold']}), {bronze:.1f} µs (Bronze, lease {figures['lease_bronze']})",
        target="–",
        met=None,
        where="`python -m bench.throttle`, [docs/scaling.md](docs/scaling.md)",
    )
    results.write_from_args(args, "throttle", started=started, figures=figures, rows=[row])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

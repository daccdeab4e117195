"""One-row reads of the services against a bare FastAPI route on the same uvicorn, side by side.

    .venv/bin/python -m bench.service_reads [--duration 10] [--connections 32]

Each target is a process of its own, loaded by wrk with `--connections` connections for
`--duration` seconds, one after the other:

- `bare`: a FastAPI app with one `async def` route answering a small JSON object
  (`bench/bare_app.py`), on uvicorn with httptools, no middleware: what the framework costs;
- the dossier service's `GET /v1/procedures?limit=1` and `GET /v1/dossiers?limit=1`, and the
  documents service's `GET /v1/organs?limit=1`, each run as deployed (`lgsp run <app>`, SQLite,
  middleware, metrics, its token checked against a JWKS file as the gateway's would be).

Printed: requests per second, the target's CPU time per request, p50/p99, and each service
read's ratio to the bare route (the goal of issue 19: ≥ 0.35). The result goes to
`bench/results/service_reads.json` (`--results DIR`, `--no-results`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from bench import results
from bench.gateway import cpu_seconds, spawn, wait_http, wrk
from lgsp_kit.natsserver import free_port

GOAL = 0.35
ORGAN = "000.00.00.H03"  # the province: every organ is in its scope
# (name, app, path) of the service reads
READS = [
    ("dossier procedures", "dossier", "/v1/procedures?limit=1"),
    ("dossier dossiers", "dossier", "/v1/dossiers?limit=1"),
    ("documents organs", "documents", "/v1/organs?limit=1"),
]


def keys(directory: Path) -> tuple[Ed25519PrivateKey, str]:
    """A signing key and the `file://` URL of its JWKS, as the gateway publishes them."""
    key = Ed25519PrivateKey.generate()
    jwk = json.loads(OKPAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "bench", "alg": "EdDSA", "use": "sig"})
    path = directory / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    return key, path.resolve().as_uri()


def token(key: Ed25519PrivateKey, duration: float) -> str:
    now = int(time.time())
    claims = {
        "iss": "lgsp",
        "aud": "lgsp",
        "sub": "bench",
        "organ": ORGAN,
        "scope": "dossier:read documents:read",
        "iat": now,
        "nbf": now,
        "exp": now + int(duration) + 600,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": "bench"})


def measure(
    name: str, command: list[str], env: dict[str, str], url: str, bearer: str, args: Any, log: Path
) -> dict[str, Any]:
    with ExitStack() as stack:
        group = spawn(stack, command, env, log)
        wait_http(url.split("/v1/")[0] + "/healthz" if "/v1/" in url else url)
        wrk(name, url, bearer, 2, args.connections, args.threads)  # warm-up
        cpu = cpu_seconds(group)
        result = wrk(name, url, bearer, args.duration, args.connections, args.threads)
        cpu = cpu_seconds(group) - cpu
    figures = {
        "rps": result.rps,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "non_2xx": result.non_2xx,
        "errors": result.errors,
        "requests": result.requests,
        "cpu_us": round(cpu / max(result.requests, 1) * 1e6, 1),
    }
    return {"name": name, **figures}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per target")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    results.add_arguments(parser)
    args = parser.parse_args()
    started = results.start()
    measured: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        key, jwks_url = keys(root)
        bearer = token(key, args.duration * 10)
        port = free_port()
        bare = [
            sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port),
            "--http", "httptools", "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        url = f"http://127.0.0.1:{port}/v1/ping"
        measured.append(measure("bare", bare, dict(os.environ), url, bearer, args, root / "b.log"))
        for name, app, path in READS:
            port = free_port()
            prefix = app.upper()
            env = dict(
                os.environ,
                LGSP_DATA_DIR=str(root / app),
                LGSP_JWKS_URL=jwks_url,
                LGSP_LOG_LEVEL="warning",
                NATS_URL=f"nats://127.0.0.1:{free_port()}",  # nobody listens: reads need no bus
                **{f"{prefix}_PORT": str(port)},
            )
            command = [sys.executable, "-m", "lgsp.cli", "run", app]
            url = f"http://127.0.0.1:{port}{path}"
            measured.append(measure(name, command, env, url, bearer, args, root / f"{app}.log"))
    base = measured[0]["rps"]
    print(f"wrk {args.connections} connections, {args.duration} s a target")
    print(
        f"{'target':<20} {'req/s':>8} {'× bare':>7} {'CPU µs/req':>11} {'p50 ms':>7} {'p99 ms':>7}"
    )
    for m in measured:
        m["ratio"] = round(m["rps"] / base, 3)
        print(
            f"{m['name']:<20} {m['rps']:8.0f} {m['ratio']:7.2f} {m['cpu_us']:11.0f} "
            f"{m['p50_ms']:7.1f} {m['p99_ms']:7.1f}"
            + (f"  non-2xx {m['non_2xx']}" if m["non_2xx"] else "")
        )
    reads = measured[1:]
    worst = min(reads, key=lambda m: m["ratio"])
    rows = [
        results.Row(
            what=f"one-row reads of the services (`{', '.join(p for _, _, p in READS)}`, token "
            f"checked, SQLite) against a bare FastAPI route on the same uvicorn, wrk "
            f"{args.connections} connections",
            measured=", ".join(f"{m['name']} **{m['rps']:,.0f} req/s = {m['ratio']:.2f} ×**"
                               for m in reads)
            + f" (bare {base:,.0f} req/s)",
            target=f"≥ {GOAL} × bare",
            met=worst["ratio"] >= GOAL,
            where="`python -m bench.service_reads`",
        )
    ]  # fmt: skip
    results.write_from_args(
        args, "service_reads", started=started, figures={"targets": measured}, rows=rows
    )
    bad = [m["name"] for m in measured if m["non_2xx"] or m["errors"]]
    if bad:
        print(f"errors or non-2xx answers: {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

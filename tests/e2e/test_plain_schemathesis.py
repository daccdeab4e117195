"""An outsider's plain Schemathesis run: `schemathesis run <gateway>/openapi.json` with a bearer
token, every default check and phase, from the repository root (so it reads schemathesis.toml,
whose every exception gives its reason), against the embedded platform: no failure."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.platform import Platform

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_a_plain_schemathesis_run_finds_nothing(sqlite_platform: Platform) -> None:
    p = sqlite_platform
    schemathesis = Path(sys.executable).parent / "schemathesis"
    done = subprocess.run(
        [
            str(schemathesis), "run", f"{p.gateway}/openapi.json",
            "-H", f"Authorization: Bearer {p.demo_token()}",
            # A fixed seed so that a failure found here is found again by `st replay`.
            "--seed", "20231214",
        ],
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    tested = re.search(r"Tested:\s+(\d+)", done.stdout)
    assert tested is not None and int(tested.group(1)) >= 45, done.stdout[-3000:]

"""`lgsp simulate` against the real processes: the report equals the generated truth, row by row,
for two targets files with different figures, and after an interruption and a resume."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.platform import Platform

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def simulate(platform: Platform, targets: str, scale: float, state: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "LGSP_DATA_DIR": str(platform.data_dir)}
    return subprocess.Popen(
        [
            sys.executable, "-m", "lgsp.cli", "simulate",
            "--targets", str(SCENARIOS / targets),
            "--scale", str(scale),
            "--seed", "11",
            "--gateway", platform.gateway,
            "--state", str(state),
            "--interactive-every", "40",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip


def finish(proc: subprocess.Popen[str], timeout: float = 900) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-3000:]
    return out


def test_bac_giang_at_small_scale_reports_what_was_generated(
    platform: Platform, tmp_path: Path
) -> None:
    out = finish(simulate(platform, "bac-giang-2023.yaml", 0.001, tmp_path / "state.json"))
    assert "the report equals what was generated, row by row" in out


def test_another_province_interrupted_and_resumed_counts_nothing_twice(
    sqlite_platform: Platform, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    first = simulate(sqlite_platform, "fictional-province.yaml", 0.01, state)
    deadline = time.monotonic() + 300
    # Kill it (SIGKILL) once it is half-way through the dossiers.
    while time.monotonic() < deadline:
        if state.exists() and json.loads(state.read_text())["done"].get("dossiers", 0) >= 1000:
            break
        assert first.poll() is None, first.communicate()[0][-3000:]
        time.sleep(0.05)
    else:
        raise AssertionError("the simulation never got half-way")
    first.send_signal(signal.SIGKILL)
    first.wait(30)

    out = finish(simulate(sqlite_platform, "fictional-province.yaml", 0.01, state))
    assert "the report equals what was generated, row by row" in out


README = SCENARIOS.parent / "README.md"


def readme_lgsp_commands() -> list[list[str]]:
    """The `uv run lgsp …` lines of the README's simulator block, as written."""
    text = README.read_text(encoding="utf-8")
    block = next(b for b in text.split("```sh")[1:] if "lgsp simulate" in b.split("```")[0])
    lines = [line.split("#")[0].strip() for line in block.split("```")[0].splitlines()]
    return [shlex.split(line)[3:] for line in lines if line.startswith("uv run lgsp ")]


def test_the_readme_pair_simulate_then_report_agrees(sqlite_platform: Platform) -> None:
    """The README's pair as written (`lgsp simulate … --scale S`, then `lgsp report … --scale
    S`), against a fresh platform: both exit 0 and the report matches the targets row by row."""
    commands = readme_lgsp_commands()
    assert [c[0] for c in commands] == ["simulate", "report"]
    env = {**os.environ, "LGSP_DATA_DIR": str(sqlite_platform.data_dir)}
    outputs = []
    for args in commands:
        done = subprocess.run(
            [sys.executable, "-m", "lgsp.cli", *args, "--gateway", sqlite_platform.gateway],
            cwd=SCENARIOS.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, (
            " ".join(args) + "\n" + done.stdout[-3000:] + done.stderr[-2000:]
        )
        outputs.append(done.stdout)
    assert "the report equals what was generated, row by row" in outputs[0]
    assert "≠" not in outputs[1] and "differs" not in outputs[1]


def test_with_the_national_side_the_summary_says_how_many_reached_dvcqg(tmp_path: Path) -> None:
    """`make run`'s wiring: the national simulator on, every dossier synced through the gateway.
    The report still equals the truth, and the summary's count is DVCQG's own."""
    platform = Platform(
        tmp_path / "platform",
        with_national=True,
        extra_env={"DOSSIER_DVCQG_REPORT_SECONDS": "1", "DOSSIER_DVCQG_POLL_SECONDS": "0.2"},
    )
    try:
        platform.start_all()
        out = finish(simulate(platform, "bac-giang-2023.yaml", 0.0005, tmp_path / "state.json"))
        assert "the report equals what was generated, row by row" in out
        line = next(x for x in out.splitlines() if x.startswith("DVCQG holds"))
        synced, received = (int(n.replace(",", "")) for n in re.findall(r"[\d,]+(?= |$)", line)[:2])
        assert received > 0 and synced == received, line
        assert "nothing waits" in line
        # DVCQG's own listing: the dossiers received in the year, and the refused at reception.
        codes: list[str] = []
        cursor = None
        while True:
            params = {"limit": "1000", **({"cursor": cursor} if cursor else {})}
            page = httpx.get(platform.url("national") + "/dvcqg/hoso", params=params).json()
            codes += [i["MaHoSo"] for i in page["items"] if i["NgayTiepNhan"][:4] == "2023"]
            if not (cursor := page["next_cursor"]):
                break
        assert len(codes) >= received
    finally:
        platform.stop_all()

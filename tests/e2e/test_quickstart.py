"""docs/quickstart.md as written: every fenced block run against the embedded platform, the
shell ones with bash, the Python ones with this interpreter (Authlib, httpx, PyJWT)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.platform import Platform

pytestmark = pytest.mark.e2e

QUICKSTART = Path(__file__).resolve().parents[2] / "docs" / "quickstart.md"
BLOCK = re.compile(r"^```(sh|python)\n(.*?)^```$", re.S | re.M)


def blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(QUICKSTART.read_text("utf-8"))]


def test_the_blocks_are_what_the_test_expects() -> None:
    kinds = [kind for kind, _ in blocks()]
    assert kinds == ["sh", "sh", "sh", "python", "python"]


def test_every_quickstart_block_runs_as_written(sqlite_platform: Platform, tmp_path: Path) -> None:
    p = sqlite_platform
    # The setup block reads var/demo-client.json from the checkout: give it one, then point
    # it at this platform's gateway instead of the default port.
    (tmp_path / "var").symlink_to(p.data_dir)
    setup, *rest = blocks()
    exported = subprocess.run(
        ["bash", "-c", f"{setup[1]}\nenv"], cwd=tmp_path, capture_output=True, text=True
    )
    assert exported.returncode == 0, exported.stderr
    values = dict(line.split("=", 1) for line in exported.stdout.splitlines() if "=" in line)
    creds = json.loads((p.data_dir / "demo-client.json").read_text())
    assert values["LGSP_CLIENT_ID"] == creds["client_id"]
    assert values["LGSP_CLIENT_SECRET"] == creds["client_secret"]
    env = {
        **os.environ,
        "LGSP_GATEWAY": p.gateway,
        "LGSP_CLIENT_ID": values["LGSP_CLIENT_ID"],
        "LGSP_CLIENT_SECRET": values["LGSP_CLIENT_SECRET"],
    }

    outputs = []
    for kind, code in rest:
        command = ["bash", "-c", code] if kind == "sh" else [sys.executable, "-c", code]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{kind} block failed:\n{code}\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout)

    curl, refused, authlib, pyjwt = outputs
    submitted = re.search(r"submitted (\S+)", curl)
    assert submitted is not None, curl
    assert f"{submitted.group(1)} status 2" in curl
    problem = json.loads(refused)
    assert (problem["status"], problem["code"]) == (401, "invalid_token")
    code, status, districts, _ = authlib.split()
    assert code.startswith("000.01.31.H03-") and status == "201" and int(districts) > 0
    sub, organ, scopes = pyjwt.split(" ", 2)
    assert (sub, organ) == (creds["client_id"], "000.00.00.H03")
    assert "dossier:write" in scopes

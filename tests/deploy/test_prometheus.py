"""The Prometheus configuration, rules and rule unit tests pass `promtool` (Debian `prometheus`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PROMETHEUS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
PROMTOOL = shutil.which("promtool")

pytestmark = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (Debian package `prometheus`)"
)


def promtool(*args: str | Path, cwd: Path = PROMETHEUS_DIR) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_there_are_rules_and_rule_tests() -> None:
    assert {p.name for p in RULE_FILES} >= {"indicators.yml", "operations.yml"}
    assert {p.name for p in RULE_TESTS} >= {"indicators_test.yml", "alerts_test.yml"}


def test_config_is_valid_and_loads_every_rule_file() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(RULE_FILES)} rule files found" in result.stdout


def test_rules_are_valid() -> None:
    result = promtool("check", "rules", *RULE_FILES)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("test_file", RULE_TESTS, ids=lambda p: p.name)
def test_rule_unit_tests_pass(test_file: Path) -> None:
    result = promtool("test", "rules", test_file.relative_to(PROMETHEUS_DIR))
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    """The unit tests can fail: the same 6.3 test expecting another value does."""
    source = (PROMETHEUS_DIR / "tests" / "indicators_test.yml").read_text()
    assert "value: 0.987899898625551" in source
    bad = tmp_path / "bad_test.yml"
    bad.write_text(
        source.replace("value: 0.987899898625551", "value: 0.98").replace(
            "../rules/", f"{PROMETHEUS_DIR / 'rules'}/"
        )
    )
    result = promtool("test", "rules", bad, cwd=tmp_path)
    assert result.returncode != 0
    assert "lgsp:indicator_6_3:ratio" in result.stdout + result.stderr

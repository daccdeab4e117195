"""CI runs the contract suite against our own platform (real processes from the e2e harness):
`lgsp contract-test` must pass with zero failures, API and events.

Budget: 25 generated examples per operation and phase (Schemathesis examples, coverage,
fuzzing and stateful phases; about 3,000 requests), well under a minute on two cores.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
from typer.testing import CliRunner

from lgsp.cli import cli
from tests.e2e.platform import Platform

pytestmark = pytest.mark.e2e
MAX_EXAMPLES = 25


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    plat = Platform(tmp_path_factory.mktemp("platform"))
    try:
        plat.start_all()
        yield plat
    finally:
        plat.stop_all()


def test_our_platform_passes_the_whole_suite(platform: Platform, tmp_path: Path) -> None:
    creds = json.loads((platform.data_dir / "demo-client.json").read_text())
    junit = tmp_path / "contract.xml"
    seed = random.randrange(1 << 30)
    args = [
        "contract-test", "--base-url", platform.gateway,
        "--client-id", creds["client_id"], "--client-secret", creds["client_secret"],
        "--nats", platform.nats_operator_url,
        "--junit", str(junit), "--max-examples", str(MAX_EXAMPLES), "--seed", str(seed),
    ]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, f"seed {seed}\n{result.output}"
    assert "PASSED:" in result.output and " 0 failed" in result.output

    root = ElementTree.parse(junit).getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"contract.api", "contract.events"}
    assert all(s.get("failures") == "0" for s in suites.values())
    api_cases = [c.get("name") or "" for c in suites["contract.api"].iter("testcase")]
    # Every published operation was exercised, and the stateful phase ran.
    for operation in (
        "POST /dossier/v1/dossiers [fuzzing]",
        "GET /reporting/v1/status [coverage]",
        "POST /documents/v1/documents [coverage]",
        "POST /token [coverage]",
    ):
        assert operation in api_cases, operation
    assert any(name.startswith("Stateful tests") for name in api_cases)
    event_cases = [c.get("name") or "" for c in suites["contract.events"].iter("testcase")]
    for event_type in (
        "lgsp.dossier.submitted",
        "lgsp.dossier.status_changed",
        "lgsp.dossier.payment_recorded",
        "lgsp.documents.document_sent",
        "lgsp.documents.organ_connection_changed",
        "lgsp.documents.recipient_status_changed",
    ):
        assert any(name.startswith(event_type) for name in event_cases), event_type
    assert "every event seen on lgsp.> matches its JSON Schema" in event_cases

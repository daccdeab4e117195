"""Hostile input through the gateway, at a reduced budget (`python -m bench.hostile` is the
full run): oversized and malformed bodies, invalid UTF-8 and NUL, header floods, wrong methods
and content types, SQL injection and path traversal in fields, paths and queries, slow-loris.
No 5xx, no hang, no change of state; every app ready and alive at the end.

The apps' head and body timeouts are shortened (2 s) so that slow-loris is cut quickly.
"""

from __future__ import annotations

import pytest

from bench.hostile import FAMILIES, alive_and_ready, connect, run_attacks, table
from tests.e2e.platform import Platform

pytestmark = pytest.mark.e2e
TIMEOUT = 2.0


@pytest.fixture(autouse=True)
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set before the platform starts: its processes take their environment from ours."""
    monkeypatch.setenv("LGSP_HTTP_HEAD_TIMEOUT_SECONDS", str(TIMEOUT))
    monkeypatch.setenv("LGSP_HTTP_BODY_TIMEOUT_SECONDS", str(TIMEOUT))


def test_hostile_input_gets_no_5xx_no_hang_and_changes_nothing(platform: Platform) -> None:
    target = connect(platform, quick=True)
    families = run_attacks(target, slow_per_kind=2, slow_limit=6 * TIMEOUT)
    report = table(families) + "".join(
        f"\n  {f.name}: {line}" for f in families for line in f.notes
    )
    assert [f.name for f in families] == list(FAMILIES)
    for family in families:
        assert family.sent > 0, report
        assert family.server_errors == 0, report
        assert family.hangs == 0, report
        assert family.state_changes == 0, report
    # The attacks reached what they meant to: the limits answered, refusals were refusals.
    by_name = {f.name: f for f in families}
    assert by_name["body-size"].statuses["413"] >= 3, report
    assert by_name["headers"].statuses["431"] > 0, report
    assert set(by_name["slow-loris"].statuses) == {"408"}, report
    assert by_name["injection"].statuses["422"] > 0, report
    # Some injection strings are legitimate text (a name): accepted, and read back verbatim.
    assert by_name["injection"].accepted, report
    assert alive_and_ready(platform) == [], report

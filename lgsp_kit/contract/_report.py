"""The suite's report: a summary for people and JUnit XML for CI."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from lgsp_kit.contract._results import SuiteResult


def summary(result: SuiteResult, *, header: str) -> str:
    lines = [header]
    by_suite: dict[str, list[int]] = {}
    for case in result.cases:
        counts = by_suite.setdefault(case.suite, [0, 0, 0, 0])
        counts[0] += 1
        counts[1] += case.failed
        counts[2] += case.skipped is not None and not case.failed
        counts[3] += case.requests
    for suite, (total, failed, skipped, requests) in sorted(by_suite.items()):
        unit = "requests" if suite == "api" else "events/calls"
        lines.append(
            f"  {suite:<6} {total:>4} cases  {total - failed - skipped:>4} passed  "
            f"{failed:>3} failed  {skipped:>3} skipped  ({requests} {unit})"
        )
    for case in result.failures:
        lines.append(f"\nFAILED {case.suite}: {case.name}")
        for finding in case.findings:
            lines.append(f"  [{finding.check}] {finding.title}")
            for text in finding.message.strip().splitlines()[:12]:
                lines.append(f"      {text}")
            if finding.reproduce:
                lines.append(f"    reproduce: {finding.reproduce}")
    if result.fatal:
        lines.append(f"\nFATAL: {result.fatal}")
    verdict = "PASSED" if result.ok else "FAILED"
    failed = len(result.failures) + (result.fatal is not None)
    lines.append(
        f"\n{verdict}: {len(result.cases) - len(result.failures)} passed, {failed} failed "
        f"in {result.seconds:.0f} s"
    )
    return "\n".join(lines)


def write_junit(result: SuiteResult, path: Path) -> None:
    """One <testsuite> per part (api, events), one <testcase> per case, failures with details."""
    root = ET.Element("testsuites", name="lgsp contract-test")
    for suite in sorted({c.suite for c in result.cases} | ({"run"} if result.fatal else set())):
        cases = [c for c in result.cases if c.suite == suite]
        node = ET.SubElement(
            root,
            "testsuite",
            name=f"contract.{suite}",
            tests=str(len(cases) + (suite == "run")),
            failures=str(sum(c.failed for c in cases) + (suite == "run")),
            skipped=str(sum(c.skipped is not None and not c.failed for c in cases)),
            time=f"{sum(c.seconds for c in cases):.3f}",
        )
        for case in cases:
            item = ET.SubElement(
                node, "testcase", classname=f"contract.{suite}", name=case.name,
                time=f"{case.seconds:.3f}",
            )  # fmt: skip
            for finding in case.findings:
                failure = ET.SubElement(item, "failure", type=finding.check, message=finding.title)
                failure.text = finding.message + (
                    f"\n\nreproduce: {finding.reproduce}" if finding.reproduce else ""
                )
            if case.skipped is not None and not case.failed:
                ET.SubElement(item, "skipped", message=case.skipped)
        if suite == "run":
            item = ET.SubElement(node, "testcase", classname="contract.run", name="run")
            ET.SubElement(item, "failure", type="fatal", message=result.fatal or "")
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)

"""What the suite found: one result per test case (an operation in a phase, or an event check)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Finding:
    check: str
    title: str
    message: str
    reproduce: str = ""


@dataclass
class CaseResult:
    suite: str  # "api" or "events"
    name: str
    requests: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    skipped: str | None = None

    @property
    def failed(self) -> bool:
        return bool(self.findings)


@dataclass
class SuiteResult:
    cases: list[CaseResult] = field(default_factory=list)
    fatal: str | None = None
    seconds: float = 0.0

    @property
    def failures(self) -> list[CaseResult]:
        return [c for c in self.cases if c.failed]

    @property
    def ok(self) -> bool:
        return self.fatal is None and not self.failures and bool(self.cases)

"""Every committed contract artefact, its path and its generated text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import contracts

# The `contracts` package, where the published artefacts are committed.
ROOT = Path(contracts.__file__).resolve().parent
OPENAPI_DIR = ROOT / "openapi"
EVENT_SCHEMA_DIR = ROOT / "events" / "schemas"
ASYNCAPI_DIR = ROOT / "asyncapi"
GENERATED_DIRS = (OPENAPI_DIR, EVENT_SCHEMA_DIR, ASYNCAPI_DIR)
REGENERATE = "python -m lgsp.contracts.generate   (or: lgsp contracts generate)"


@dataclass(frozen=True)
class Artefact:
    path: Path
    text: str

    @property
    def relative(self) -> str:
        return str(self.path.relative_to(ROOT.parent))


def render(document: Any) -> str:
    """Deterministic JSON: sorted keys, two-space indent, UTF-8 kept readable, final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def artefacts() -> list[Artefact]:
    from lgsp.contracts.events import asyncapi_document, event_schemas
    from lgsp.contracts.openapi import openapi_documents

    found = [
        Artefact(OPENAPI_DIR / f"{name}.json", render(doc))
        for name, doc in openapi_documents().items()
    ]
    found += [
        Artefact(EVENT_SCHEMA_DIR / f"{event_type}.json", render(schema))
        for event_type, schema in event_schemas().items()
    ]
    found.append(Artefact(ASYNCAPI_DIR / "lgsp-events.json", render(asyncapi_document())))
    return found


def _stale(wanted: list[Artefact]) -> list[Path]:
    keep = {a.path for a in wanted}
    return sorted(
        path for folder in GENERATED_DIRS if folder.exists()
        for path in folder.glob("*.json") if path not in keep
    )  # fmt: skip


def drift(wanted: list[Artefact] | None = None) -> list[str]:
    """What differs between the code and the committed files, one line each; empty when none."""
    wanted = artefacts() if wanted is None else wanted
    problems = []
    for artefact in wanted:
        if not artefact.path.exists():
            problems.append(f"missing: {artefact.relative}")
        elif artefact.path.read_text(encoding="utf-8") != artefact.text:
            problems.append(f"differs from the code: {artefact.relative}")
    problems += [f"no longer generated: {p.relative_to(ROOT.parent)}" for p in _stale(wanted)]
    return problems


def write_all(wanted: list[Artefact] | None = None) -> list[str]:
    """Write every artefact that changed and remove stale ones; the changed paths."""
    wanted = artefacts() if wanted is None else wanted
    changed = []
    for artefact in wanted:
        old = artefact.path.read_text(encoding="utf-8") if artefact.path.exists() else None
        if old != artefact.text:
            artefact.path.parent.mkdir(parents=True, exist_ok=True)
            artefact.path.write_text(artefact.text, encoding="utf-8")
            changed.append(artefact.relative)
    for path in _stale(wanted):
        path.unlink()
        changed.append(f"removed {path.relative_to(ROOT.parent)}")
    return changed

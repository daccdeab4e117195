"""The real packages of ../shared/edxml-samples (beside the repository, as CI lays it)."""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "edxml-samples"


def sample(name: str) -> bytes:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"the edXML samples are not at {SAMPLES} (../shared beside the repository)")
    return path.read_bytes()

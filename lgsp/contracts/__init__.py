"""Generation and checks of the published contract artefacts (OpenAPI, JSON Schema, AsyncAPI).

The artefacts are built from the code in-process (no server started) and written
deterministically, so a committed file that differs from the code is drift. Building them imports
every app, so the generator belongs to the composition root, not to `contracts`.
"""

from __future__ import annotations

from lgsp.contracts.artefacts import (
    ROOT,
    Artefact,
    artefacts,
    drift,
    render,
    write_all,
)

__all__ = ["ROOT", "Artefact", "artefacts", "drift", "render", "write_all"]

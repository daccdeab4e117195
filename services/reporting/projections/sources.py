"""Who may tell reporting what: each producer's subjects and the CloudEvents `source` it signs
its events with. An event on `lgsp.dossier.*` that does not come from the dossier service (or
that claims a type other than its subject) is refused, not applied to Phụ lục II."""

from __future__ import annotations

PRODUCER_SOURCES: dict[str, str] = {
    "lgsp.dossier": "/lgsp/dossier",
    "lgsp.documents": "/lgsp/documents",
}

"""Events that cross a service boundary: the CloudEvents 1.0 envelope and each event's data.

The NATS subject of an event is its `type` (`lgsp.<service>.<event>`); `time` is the business
time of the fact (when the dossier was submitted, say), not when it was published. Each
service's events live in their own module; this registry knows them all.
"""

from __future__ import annotations

from contracts.events import documents, dossier
from contracts.events.documents import (
    DocumentSent,
    OrganConnectionChanged,
    OrganRegistered,
    RecipientStatusChanged,
)
from contracts.events.dossier import (
    DossierStatusChanged,
    DossierSubmitted,
    DossierSubmittedData,
    DvcqgAccepted,
    DvcqgBacklog,
    PaymentRecorded,
    ProcedurePublished,
)
from contracts.events.envelope import Envelope, UnknownEventType

EVENT_TYPES: dict[str, type[Envelope]] = {
    cls.event_type: cls for cls in (*dossier.EVENTS, *documents.EVENTS)
}


def parse_event(raw: bytes | str) -> Envelope:
    """Validate a CloudEvent against the model of its `type`."""
    generic = Envelope.model_validate_json(raw)
    model = EVENT_TYPES.get(generic.type)
    if model is None:
        raise UnknownEventType(generic.type)
    return model.model_validate_json(raw)


__all__ = [
    "EVENT_TYPES",
    "DocumentSent",
    "DossierStatusChanged",
    "DossierSubmitted",
    "DossierSubmittedData",
    "DvcqgAccepted",
    "DvcqgBacklog",
    "Envelope",
    "OrganConnectionChanged",
    "OrganRegistered",
    "PaymentRecorded",
    "ProcedurePublished",
    "RecipientStatusChanged",
    "UnknownEventType",
    "parse_event",
]

"""The events a dossier's facts produce, each carrying what reporting needs at that time.

Events are first built as plain CloudEvents dicts (one source for both paths): the interactive
endpoints validate them into the contract models; batch sync writes them straight to the outbox
as JSON, which the tests parse back through `contracts.events.parse_event`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.events import DossierStatusChanged, DossierSubmitted, Envelope, PaymentRecorded
from contracts.events.envelope import new_event_id
from services.dossier.dossiers.lifecycle import Change
from services.dossier.models import Dossier

SOURCE = "/lgsp/dossier"
SUBMITTED = DossierSubmitted.event_type
STATUS_CHANGED = DossierStatusChanged.event_type
PAYMENT_RECORDED = PaymentRecorded.event_type
MODELS: dict[str, type[Envelope]] = {
    SUBMITTED: DossierSubmitted,
    STATUS_CHANGED: DossierStatusChanged,
    PAYMENT_RECORDED: PaymentRecorded,
}
FACT_FIELDS = (
    "code",
    "procedure_code",
    "service_mode",
    "fee_bearing",
    "organ_code",
    "organ_level",
    "channel",
)


def facts_of(d: Dossier) -> dict[str, Any]:
    """What every event of the dossier repeats (DossierFacts), fixed at submission."""
    return {name: getattr(d, name) for name in FACT_FIELDS}


def _envelope(type_: str, subject: str, time: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": new_event_id(),
        "source": SOURCE,
        "type": type_,
        "subject": subject,
        "time": time,
        "datacontenttype": "application/json",
        "data": data,
    }


def submitted(facts: dict[str, Any], submitted_at: datetime) -> dict[str, Any]:
    return _envelope(
        SUBMITTED, facts["code"], submitted_at, {**facts, "submitted_at": submitted_at}
    )


def status_changed(facts: dict[str, Any], change: Change) -> dict[str, Any]:
    data = {
        **facts,
        "from_status": change.from_status,
        "to_status": change.to_status,
        "at": change.at,
        "due_at": change.due_at,
        "on_time": change.on_time,
        "paid_online": change.paid_online,
    }
    return _envelope(STATUS_CHANGED, facts["code"], change.at, data)


def payment_recorded(
    facts: dict[str, Any], amount: int, method: str, online_gateway: int | None, paid_at: datetime
) -> dict[str, Any]:
    data = {
        **facts,
        "amount": amount,
        "method": method,
        "online_gateway": online_gateway,
        "paid_at": paid_at,
    }
    return _envelope(PAYMENT_RECORDED, facts["code"], paid_at, data)


def validated(event: dict[str, Any]) -> Envelope:
    """The contract model of an event dict (refuses anything the contract does not allow)."""
    return MODELS[event["type"]].model_validate(event)

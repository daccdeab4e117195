"""The events a dossier's facts produce, each carrying what reporting needs at that time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.events import DossierStatusChanged, DossierSubmitted, PaymentRecorded
from contracts.events.dossier import (
    DossierStatusChangedData,
    DossierSubmittedData,
    PaymentRecordedData,
)
from services.dossier.dossiers.lifecycle import Change
from services.dossier.models import Dossier

SOURCE = "/lgsp/dossier"


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


def submitted(facts: dict[str, Any], submitted_at: datetime) -> DossierSubmitted:
    return DossierSubmitted(
        source=SOURCE,
        subject=facts["code"],
        time=submitted_at,
        data=DossierSubmittedData(**facts, submitted_at=submitted_at),
    )


def status_changed(facts: dict[str, Any], change: Change) -> DossierStatusChanged:
    return DossierStatusChanged(
        source=SOURCE,
        subject=facts["code"],
        time=change.at,
        data=DossierStatusChangedData(
            **facts,
            from_status=change.from_status,
            to_status=change.to_status,
            at=change.at,
            due_at=change.due_at,
            on_time=change.on_time,
            paid_online=change.paid_online,
        ),
    )


def payment_recorded(
    facts: dict[str, Any], amount: int, method: str, online_gateway: int | None, paid_at: datetime
) -> PaymentRecorded:
    return PaymentRecorded(
        source=SOURCE,
        subject=facts["code"],
        time=paid_at,
        data=PaymentRecordedData(
            **facts,
            amount=amount,
            method=method,
            online_gateway=online_gateway,
            paid_at=paid_at,
        ),
    )

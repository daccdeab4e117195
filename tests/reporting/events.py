"""Event builders for the reporting tests: the events exactly as the producers publish them."""

from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

from contracts.events import (
    DocumentSent,
    DossierStatusChanged,
    Envelope,
    OrganConnectionChanged,
    OrganRegistered,
    PaymentRecorded,
    ProcedurePublished,
)
from contracts.events.documents import (
    DocumentSentData,
    OrganConnectionChangedData,
    OrganRegisteredData,
)
from contracts.events.dossier import (
    DossierStatusChangedData,
    PaymentRecordedData,
    ProcedurePublishedData,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
_seq = itertools.count(1)


def at(text: str) -> datetime:
    """`2023-05-01T08:00` is local time in Asia/Ho_Chi_Minh; an explicit offset is kept."""
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=VN)


def procedure(
    code: str,
    when: str,
    *,
    mode: str = "full",
    eligible: bool = True,
    fee: bool = False,
    online_payment: bool = False,
    level: str = "province",
) -> ProcedurePublished:
    t = at(when)
    return ProcedurePublished(
        source="/lgsp/dossier",
        subject=code,
        time=t,
        data=ProcedurePublishedData(
            code=code,
            name=f"Thủ tục {code}",
            field="Tư pháp",
            level=level,
            online_mode=mode,
            full_online_eligible=eligible,
            fee_bearing=fee,
            online_payment=online_payment,
            processing_days=5,
            changed_at=t,
        ),
    )


def organ(code: str, level: str, parent: str | None, when: str = "2020-01-01T00:00") -> Envelope:
    t = at(when)
    return OrganRegistered(
        source="/lgsp/documents",
        subject=code,
        time=t,
        data=OrganRegisteredData(
            code=code,
            name=f"Đơn vị {code}",
            level=level,
            parent_code=parent,
            registered_at=t,
        ),
    )


def connection(code: str, level: str, system: str, connected: bool, when: str) -> Envelope:
    t = at(when)
    return OrganConnectionChanged(
        source="/lgsp/documents",
        subject=code,
        time=t,
        data=OrganConnectionChangedData(
            code=code,
            level=level,
            system=system,
            connected=connected,
            at=t,
        ),
    )


def _facts(
    procedure_code: str, mode: str, fee: bool, organ_code: str, level: str, channel: int
) -> dict[str, object]:
    return {
        "code": f"{organ_code}-D{next(_seq):06d}",
        "procedure_code": procedure_code,
        "service_mode": mode,
        "fee_bearing": fee,
        "organ_code": organ_code,
        "organ_level": level,
        "channel": channel,
    }


def status(
    when: str | datetime,
    to_status: int,
    *,
    procedure_code: str = "P1",
    mode: str = "full",
    fee: bool = False,
    organ_code: str = "D1",
    level: str = "district",
    channel: int = 2,
    paid_online: bool | None = None,
    code: str | None = None,
) -> DossierStatusChanged:
    t = at(when) if isinstance(when, str) else when
    facts = _facts(procedure_code, mode, fee, organ_code, level, channel)
    if code is not None:
        facts["code"] = code
    return DossierStatusChanged(
        source="/lgsp/dossier",
        subject=str(facts["code"]),
        time=t,
        data=DossierStatusChangedData(
            **facts,
            from_status=1 if to_status == 2 else 4,
            to_status=to_status,
            at=t,
            paid_online=paid_online,
        ),
    )


def received(when: str | datetime, **kwargs: object) -> DossierStatusChanged:
    return status(when, 2, **kwargs)  # type: ignore[arg-type]


def resolved(when: str, *, paid_online: bool, **kwargs: object) -> DossierStatusChanged:
    return status(when, 9, fee=True, paid_online=paid_online, **kwargs)  # type: ignore[arg-type]


def payment(
    when: str,
    method: str,
    *,
    organ_code: str = "D1",
    level: str = "district",
    code: str | None = None,
    procedure_code: str = "P1",
    amount: int = 50_000,
    fee: bool = True,
) -> PaymentRecorded:
    t = at(when)
    facts = _facts(procedure_code, "full", fee, organ_code, level, 2)
    if code is not None:
        facts["code"] = code
    return PaymentRecorded(
        source="/lgsp/dossier",
        subject=str(facts["code"]),
        time=t,
        data=PaymentRecordedData(
            **facts,
            amount=amount,
            method=method,
            online_gateway=2 if method == "online" else None,
            paid_at=t,
        ),
    )


def document(when: str, sender: str, level: str, electronic: bool) -> DocumentSent:
    t = at(when)
    return DocumentSent(
        source="/lgsp/documents",
        time=t,
        data=DocumentSentData(
            id=f"doc-{next(_seq)}",
            from_organ=sender,
            sender_level=level,
            to_organs=["X"],
            document_type="Công văn",
            electronic=electronic,
            sent_at=t,
        ),
    )


def raw(events: list[Envelope]) -> list[bytes]:
    return [e.model_dump_json().encode() for e in events]

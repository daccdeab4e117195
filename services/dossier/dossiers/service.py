"""Rules of dossiers: what is accepted, how MaHoSo is made, which events follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from contracts import reference
from contracts.events import DossierSubmitted, DossierSubmittedData
from lgsp_kit.db import dialect_insert
from lgsp_kit.errors import NotFound, Unprocessable
from lgsp_kit.outbox import add_events
from services.dossier.dossiers.schemas import Applicant, DossierCreate, DossierOut
from services.dossier.models import Dossier, DossierSequence, Procedure, outbox

SOURCE = "/lgsp/dossier"
STATUS_SUBMITTED = 1  # TrangThaiHoSo: Mới đăng ký
CLOCK_SKEW = timedelta(seconds=60)


def next_code(session: Session, organ_code: str, day: datetime) -> str:
    """MaHoSo `<organ code>-<yyMMdd>-<seq>`: one counter per organ and day, atomically."""
    day_key = day.strftime("%y%m%d")
    insert = dialect_insert(session)
    table = DossierSequence.__table__  # type: ignore[attr-defined]
    stmt = (
        insert(table)
        .values(organ_code=organ_code, day=day_key, last=1)
        .on_conflict_do_update(
            index_elements=["organ_code", "day"], set_={"last": table.c.last + 1}
        )
        .returning(table.c.last)
    )
    seq = session.execute(stmt).scalar_one()
    return f"{organ_code}-{day_key}-{seq:06d}"


def to_out(d: Dossier, tz: ZoneInfo) -> DossierOut:
    return DossierOut(
        code=d.code,
        status=d.status,
        procedure_code=d.procedure_code,
        organ_code=d.organ_code,
        channel=d.channel,
        applicant=Applicant.model_validate(
            {
                "type": d.applicant_type,
                "name": d.applicant_name,
                "identifier": d.applicant_identifier,
            }
        ),
        submitted_at=d.submitted_at.astimezone(tz),
    )


def submit(session: Session, body: DossierCreate, *, tz: ZoneInfo) -> DossierOut:
    now = datetime.now(UTC)
    submitted_at = body.submitted_at or now
    if submitted_at > now + CLOCK_SKEW:
        raise Unprocessable(
            "submitted_at is in the future", extra={"errors": [{"field": "submitted_at"}]}
        )
    procedure = session.get(Procedure, body.procedure_code)
    if procedure is None:
        raise Unprocessable(
            f"unknown procedure {body.procedure_code!r}",
            code="unknown_procedure",
            extra={"errors": [{"field": "procedure_code", "message": "unknown procedure"}]},
        )
    organ = reference.organs().get(body.organ_code)
    if organ is None:
        raise Unprocessable(
            f"unknown organ {body.organ_code!r}",
            code="unknown_organ",
            extra={"errors": [{"field": "organ_code", "message": "unknown organ"}]},
        )
    dossier = Dossier(
        code=next_code(session, organ.code, submitted_at.astimezone(tz)),
        procedure_code=procedure.code,
        organ_code=organ.code,
        organ_level=organ.level,
        service_mode=procedure.online_mode,
        fee_bearing=procedure.fee_bearing,
        channel=body.channel,
        applicant_type=body.applicant.type,
        applicant_name=body.applicant.name,
        applicant_identifier=body.applicant.identifier,
        status=STATUS_SUBMITTED,
        submitted_at=submitted_at,
    )
    session.add(dossier)
    event = DossierSubmitted(
        source=SOURCE,
        subject=dossier.code,
        time=submitted_at,
        data=DossierSubmittedData(
            code=dossier.code,
            procedure_code=procedure.code,
            service_mode=procedure.online_mode,
            fee_bearing=procedure.fee_bearing,
            organ_code=organ.code,
            organ_level=organ.level,
            channel=body.channel,
            submitted_at=submitted_at,
        ),
    )
    add_events(session, outbox, [event])
    session.flush()
    return to_out(dossier, tz)


def get(session: Session, code: str, *, tz: ZoneInfo) -> DossierOut:
    dossier = session.exec(select(Dossier).where(col(Dossier.code) == code)).first()
    if dossier is None:
        raise NotFound(f"no dossier {code!r}")
    return to_out(dossier, tz)

"""Events of the dossier service (`lgsp.dossier.*`).

Each event carries what reporting needs, fixed at the time of the fact (the procedure's online
mode and fee flag, the organ and its level, the channel), so that reporting never calls back.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.envelope import Envelope

ServiceMode = Literal["full", "partial", "none"]
OrganLevel = Literal["province", "province_organ", "district", "commune"]
ProcedureLevel = Literal["province", "district", "commune"]
Channel = Literal[1, 2, 3]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProcedurePublishedData(_Data):
    """A procedure (TTHC) was added to the catalogue or changed; the whole new state."""

    code: str = Field(description="MaTTHC")
    name: str
    field: str = Field(description="lĩnh vực")
    level: ProcedureLevel
    online_mode: ServiceMode = Field(description="full: toàn trình, partial: một phần")
    full_online_eligible: bool
    fee_bearing: bool
    online_payment: bool = Field(description="online payment integrated")
    processing_days: int = Field(
        description="thời hạn giải quyết, in the procedure's unit (working days unless the "
        "catalogue's `processing_unit` says calendar days, hours or months; this event does "
        "not carry the unit: read it with GET /v1/procedures/{code}); each dossier's `due_at` "
        "is counted in it"
    )
    changed_at: AwareDatetime


class ProcedurePublished(Envelope):
    event_type: ClassVar[str] = "lgsp.dossier.procedure_published"
    type: Literal["lgsp.dossier.procedure_published"] = "lgsp.dossier.procedure_published"
    data: ProcedurePublishedData


class DossierFacts(_Data):
    """What every dossier event repeats about its dossier."""

    code: str = Field(description="MaHoSo")
    procedure_code: str = Field(description="MaTTHC")
    service_mode: ServiceMode = Field(description="online mode of the procedure at submission")
    fee_bearing: bool
    organ_code: str = Field(description="DonViXuLy, the handling organ")
    organ_level: OrganLevel
    channel: Channel = Field(description="KenhThucHien: 1 direct, 2 online, 3 postal")


class DossierSubmittedData(DossierFacts):
    """A dossier (hồ sơ TTHC) was submitted (status 1, Mới đăng ký)."""

    submitted_at: AwareDatetime = Field(description="NgayNopHoSo")


class DossierSubmitted(Envelope):
    event_type: ClassVar[str] = "lgsp.dossier.submitted"
    type: Literal["lgsp.dossier.submitted"] = "lgsp.dossier.submitted"
    data: DossierSubmittedData


class DossierStatusChangedData(DossierFacts):
    """A dossier moved from one TrangThaiHoSo to another at a business time.

    Reporting counts a dossier in the period of its reception (`to_status` 2, NgayTiepNhan);
    at resolution (`to_status` 9) `paid_online` says whether a fee was paid online; `on_time` is
    the 766 verdict set by this change (see `on_time`).
    """

    from_status: int | None = Field(description="TrangThaiHoSo before; null for the first")
    to_status: int = Field(ge=1, le=10, description="TrangThaiHoSo after")
    at: AwareDatetime = Field(description="business time of the change")
    due_at: AwareDatetime | None = Field(default=None, description="NgayHenTra, when known")
    on_time: bool | None = Field(
        default=None,
        description="the 766 verdict, on the change that ends handling after reception (7, 8, "
        "9 or 10, whichever comes first: not after the due date) and on a supplement request "
        "(5: judged at the request time; a second request is late); null on every other "
        "change and for a dossier never received (refused at reception, 3)",
    )
    paid_online: bool | None = Field(
        default=None, description="at resolution: whether a fee was paid online"
    )


class DossierStatusChanged(Envelope):
    event_type: ClassVar[str] = "lgsp.dossier.status_changed"
    type: Literal["lgsp.dossier.status_changed"] = "lgsp.dossier.status_changed"
    data: DossierStatusChangedData


class PaymentRecordedData(DossierFacts):
    """A fee or charge (lệ phí) was paid."""

    amount: int = Field(ge=0, description="VND")
    method: Literal["online", "offline"]
    online_gateway: Literal[1, 2] | None = Field(
        default=None, description="DuocThanhToanTrucTuyen: 1 national portal, 2 provincial"
    )
    paid_at: AwareDatetime


class PaymentRecorded(Envelope):
    event_type: ClassVar[str] = "lgsp.dossier.payment_recorded"
    type: Literal["lgsp.dossier.payment_recorded"] = "lgsp.dossier.payment_recorded"
    data: PaymentRecordedData


class DvcqgDossier(_Data):
    """A dossier DVCQG now holds, as reporting counts it."""

    code: str = Field(description="MaHoSo")
    organ_code: str = Field(description="DonViXuLy, the handling organ")
    organ_level: OrganLevel
    received_at: AwareDatetime | None = Field(
        description="NgayTiepNhan; null for a dossier refused at reception (status 3)"
    )


class DvcqgAcceptedData(_Data):
    """DVCQG (the national public-service portal) accepted the first record of these dossiers
    (`DongBoHoSoMC` answered "0"): one event per batch of the dossier service's sync, each
    dossier in it once in its life. At least once: a dossier may come again in a later event
    (the sync stopped between this event and clearing its marks); reporting counts it once."""

    accepted_at: AwareDatetime = Field(description="when DVCQG answered")
    dossiers: list[DvcqgDossier] = Field(min_length=1)


class DvcqgAccepted(Envelope):
    event_type: ClassVar[str] = "lgsp.dossier.dvcqg_accepted"
    type: Literal["lgsp.dossier.dvcqg_accepted"] = "lgsp.dossier.dvcqg_accepted"
    data: DvcqgAcceptedData


class DvcqgBacklogData(_Data):
    """How far behind the sync to DVCQG is, as read at `at`: written every few seconds while
    it changes (and at least once a minute while the sync runs)."""

    at: AwareDatetime = Field(description="when the backlog was read")
    pending: int = Field(ge=0, description="dossiers with a change DVCQG has not got")
    refused: int = Field(ge=0, description="among them, dossiers DVCQG refused at their last try")
    oldest_change_at: AwareDatetime | None = Field(
        description="when the oldest change DVCQG has not got was recorded; null when none"
    )


class DvcqgBacklog(Envelope):
    event_type: ClassVar[str] = "lgsp.dossier.dvcqg_backlog"
    type: Literal["lgsp.dossier.dvcqg_backlog"] = "lgsp.dossier.dvcqg_backlog"
    data: DvcqgBacklogData


EVENTS: tuple[type[Envelope], ...] = (
    ProcedurePublished,
    DossierSubmitted,
    DossierStatusChanged,
    PaymentRecorded,
    DvcqgAccepted,
    DvcqgBacklog,
)

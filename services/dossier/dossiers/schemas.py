"""API shapes of dossiers (hồ sơ TTHC)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from lgsp_kit.fields import INTEGRAL, NON_BLANK, Instant, LocalTime, Text, one_of, text_pattern

ApplicantType = Annotated[StrictInt, *one_of(1, 2, 3, 4)]
Channel = Annotated[StrictInt, *one_of(1, 2, 3)]
Status = Annotated[StrictInt, *one_of(*range(1, 11))]
OnlineGateway = Annotated[StrictInt, *one_of(1, 2)]
Amount = Annotated[StrictInt, Field(ge=0, le=1_000_000_000_000, description="VND"), INTEGRAL]
DossierCode = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]*$")
]
ProcedureCode = Annotated[str, Field(min_length=1, max_length=64, description="MaTTHC")]
OrganCode = Annotated[str, Field(min_length=1, max_length=32, description="DonViXuLy")]

APPLICANT_EXAMPLE: dict[str, Any] = {
    "type": 1,
    "name": "Nguyễn Văn An",
    "identifier": "024090001234",
}


class _In(BaseModel):
    # Not model-wide strict: JSON times arrive as strings; codes are StrictInt field by field.
    model_config = ConfigDict(extra="forbid")


class Applicant(_In):
    """ChuHoSo: who submits the dossier."""

    type: ApplicantType = Field(
        description="LoaiDoiTuong: 1 citizen, 2 enterprise, 3 state agency, 4 organisation"
    )
    name: Annotated[Text, *text_pattern(NON_BLANK)] = Field(min_length=1, max_length=200)
    identifier: Text = Field(
        min_length=1, max_length=64, description="citizen ID, tax code or organ code"
    )


class Fee(_In):
    """One line of DanhSachLePhi: a fee or charge (lệ phí, phí) and its amount."""

    name: Annotated[Text, *text_pattern(NON_BLANK)] = Field(min_length=1, max_length=200)
    amount: Amount


class DossierCreate(_In):
    """Submit a dossier (nộp hồ sơ)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "procedure_code": "1.001193",
                    "organ_code": "000.01.31.H03",
                    "channel": 2,
                    "applicant": APPLICANT_EXAMPLE,
                },
                {
                    "procedure_code": "2.000884",
                    "organ_code": "000.00.13.H03",
                    "channel": 1,
                    "applicant": {
                        "type": 2,
                        "name": "Công ty TNHH Ánh Dương",
                        "identifier": "2400123456",
                    },
                    "fees": [{"name": "Lệ phí đăng ký", "amount": 50000}],
                    "submitted_at": "2023-11-20T08:30:00+07:00",
                },
            ]
        },
    )

    procedure_code: ProcedureCode
    organ_code: OrganCode
    channel: Channel = Field(
        description="KenhThucHien: 1 in person, 2 online, 3 public postal service"
    )
    applicant: Applicant
    fees: list[Fee] = Field(default_factory=list, max_length=20, description="DanhSachLePhi")
    submitted_at: Instant | None = Field(
        default=None, description="NgayNopHoSo; defaults to now, never in the future"
    )


class StatusChange(_In):
    """Move a dossier to another TrangThaiHoSo (cập nhật tiến độ hồ sơ)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": 2},
                {
                    "status": 5,
                    "at": "2023-11-21T09:00:00+07:00",
                    "actor": "Bộ phận một cửa xã Song Mai",
                    "note": "Bổ sung bản sao giấy chứng sinh",
                },
            ]
        },
    )

    status: Status = Field(description="TrangThaiHoSo 1–10, per the transition table")
    at: Instant | None = Field(
        default=None, description="business time; defaults to now; never before the last change"
    )
    actor: Text | None = Field(
        default=None, min_length=1, max_length=200, description="who; defaults to the caller"
    )
    note: Text | None = Field(default=None, max_length=2000, description="what was done")


class PaymentCreate(_In):
    """Record a fee payment (thanh toán lệ phí)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"amount": 50000, "method": "online", "online_gateway": 1},
                {"amount": 20000, "method": "offline", "at": "2023-11-21T10:00:00+07:00"},
            ]
        },
    )

    amount: Amount
    method: Literal["online", "offline"]
    online_gateway: OnlineGateway | None = Field(
        default=None,
        description="DuocThanhToanTrucTuyen: 1 national portal, 2 provincial gateway; "
        "required when online, absent when offline",
    )
    at: Instant | None = Field(default=None, description="when paid; defaults to now")

    @model_validator(mode="after")
    def _gateway_iff_online(self) -> Self:
        if (self.method == "online") != (self.online_gateway is not None):
            raise ValueError("online_gateway is required for an online payment and only then")
        return self


class HistoryEntry(BaseModel):
    """One progress record (tiến độ): the move, when, who, what."""

    from_status: int | None
    status: int = Field(description="TrangThaiHoSo after the change")
    at: LocalTime
    actor: str
    note: str | None


class PaymentOut(BaseModel):
    amount: int = Field(description="VND")
    method: Literal["online", "offline"]
    online_gateway: int | None = Field(description="DuocThanhToanTrucTuyen")
    paid_at: LocalTime


class DossierSummary(BaseModel):
    """A dossier as listed."""

    code: str = Field(
        description="MaHoSo, `<organ code>-<yyMMdd>-<number>`: the number is unique for the "
        "organ and day and grows within a process; on PostgreSQL a process reserves numbers 20 "
        "at a time, so a restart or a refused submit may skip some"
    )
    status: int = Field(description="TrangThaiHoSo")
    procedure_code: str = Field(description="MaTTHC")
    organ_code: str = Field(description="DonViXuLy")
    channel: int = Field(description="KenhThucHien")
    applicant: Applicant = Field(description="ChuHoSo")
    fees: list[Fee] = Field(description="DanhSachLePhi")
    submitted_at: LocalTime = Field(description="NgayNopHoSo")
    received_at: LocalTime | None = Field(description="NgayTiepNhan")
    due_at: LocalTime | None = Field(
        description="NgayHenTra: the procedure's time limit counted from reception in its "
        "`processing_unit` (working days skip holidays and swapped days); moved by the time "
        "waited for supplements"
    )
    resolved_at: LocalTime | None = Field(description="NgayKetThucXuLy")
    returned_at: LocalTime | None = Field(description="NgayTra")
    on_time: bool | None = Field(
        description="on time by the rules of Decision 766 (docs/on-time.md): set when handling "
        "ends after reception (withdrawn 7, stopped 8, resolved 9, returned 10: the first); "
        "while waiting for a supplement (5), judged at the request time; false once a "
        "supplement was requested more than once; null while in handling and for a dossier "
        "never received (refused at reception, 3), which counts neither on time nor late"
    )
    paid_online: bool = Field(description="an online payment was recorded")


class DossierOut(DossierSummary):
    """A dossier with its progress history and payments."""

    history: list[HistoryEntry]
    payments: list[PaymentOut]


class DossierPage(BaseModel):
    items: list[DossierSummary]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class SyncHistoryEntry(_In):
    """A status change of a synced record, with its business time."""

    status: Status
    at: Instant
    actor: Annotated[Text, *text_pattern(NON_BLANK)] = Field(
        default="dong-bo", min_length=1, max_length=200
    )
    note: Text | None = Field(default=None, max_length=2000)


class SyncPayment(_In):
    amount: Amount
    method: Literal["online", "offline"]
    online_gateway: OnlineGateway | None = None
    at: Instant

    @model_validator(mode="after")
    def _gateway_iff_online(self) -> Self:
        if (self.method == "online") != (self.online_gateway is not None):
            raise ValueError("online_gateway is required for an online payment and only then")
        return self


SYNC_EXAMPLE: dict[str, Any] = {
    "code": "000.01.31.H03-231120-000042",
    "procedure_code": "1.001193",
    "organ_code": "000.01.31.H03",
    "channel": 2,
    "applicant": APPLICANT_EXAMPLE,
    "submitted_at": "2023-11-20T08:30:00+07:00",
    "history": [
        {"status": 2, "at": "2023-11-20T09:00:00+07:00"},
        {"status": 4, "at": "2023-11-20T10:00:00+07:00"},
        {"status": 9, "at": "2023-11-21T15:00:00+07:00"},
        {"status": 10, "at": "2023-11-22T08:00:00+07:00"},
    ],
    "payments": [],
}


class DossierRecord(_In):
    """A whole dossier from another system (DongBoHoSoMC): its facts, the status changes after
    submission in order, and its payments. The record keeps its own MaHoSo."""

    model_config = ConfigDict(json_schema_extra={"examples": [SYNC_EXAMPLE]})

    code: DossierCode = Field(description="MaHoSo, kept as given")
    procedure_code: ProcedureCode
    organ_code: OrganCode
    channel: Channel = Field(description="KenhThucHien")
    applicant: Applicant
    fees: list[Fee] = Field(default_factory=list, max_length=20)
    submitted_at: Instant = Field(description="NgayNopHoSo")
    history: list[SyncHistoryEntry] = Field(
        default_factory=list, max_length=50, description="status changes after submission"
    )
    payments: list[SyncPayment] = Field(default_factory=list, max_length=50)


class SyncRequest(BaseModel):
    """A batch of whole dossier records (DongBoHoSoMC); each record is validated on its own."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"records": [SYNC_EXAMPLE]}]}
    )

    records: list[Any] = Field(
        min_length=1,
        max_length=1000,
        description="up to 1,000 records, each shaped as DossierRecord",
        # Each record is checked on its own and answered in `results` (ok=false with the
        # reason), so the batch itself takes any item; the record shape is published beside.
        json_schema_extra={
            "items": {
                "description": "a DossierRecord; one that does not match is answered in "
                "`results` with ok=false, the others are still synced",
                "x-lgsp-record-schema": {"$ref": "#/components/schemas/DossierRecord"},
            }
        },
    )


class SyncResult(BaseModel):
    code: str | None = Field(description="MaHoSo of the record, when it had one")
    ok: bool
    error: str | None = Field(default=None, description="why the record was refused")
    note: str | None = Field(default=None, description="e.g. already present, nothing changed")


class SyncResponse(BaseModel):
    results: list[SyncResult] = Field(description="one per record, in order")
    created: int
    unchanged: int
    failed: int

"""API shapes of the reporting service."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from lgsp_kit.fields import LocalTime, Text
from services.reporting.periods import PERIOD_PATTERN, Period, PeriodBasis

OrganLevel = Literal["province", "province_organ", "district", "commune"]
ReportFormat = Literal["json", "csv", "xlsx", "html"]
TableFormat = Literal["json", "csv", "xlsx"]


class BasisNote(BaseModel):
    """A line of the counting basis printed under a table (cơ sở tính số liệu)."""

    rows: list[str] = Field(description="the STT of the rows it applies to; empty: the table")
    text: str


class ReportRow(BaseModel):
    """One row of Phụ lục II."""

    stt: str = Field(description="STT, the row number in the annex")
    name: str = Field(description="chỉ tiêu thống kê, as printed in the annex")
    unit: str = Field(description="đơn vị tính")
    value: float | None = Field(description="số liệu: a percentage, a count or a declared value")
    numerator: int | None = Field(description="tử số of a ratio")
    denominator: int | None = Field(description="mẫu số of a ratio")
    source: Literal["computed", "declared"] | None = Field(
        description="computed from events or declared by an official; null for headings"
    )
    in_annex: bool = Field(default=True, description="false for the report text's extra ratio")
    note: str | None = Field(default=None, description="ghi chú: scope or who declared it")
    declared_by: str | None = None
    declared_at: datetime | None = None


class PeriodReport(BaseModel):
    """What every report of a period (kỳ báo cáo) starts with: the period and the filters."""

    period: str = Field(description="2023, 2023-H1, 2023-Q4 or 2023-11")
    period_basis: PeriodBasis = Field(
        description="calendar months, or Decree 09/2019 (closing on the 14th)"
    )
    first_day: str
    last_day: str
    level: OrganLevel | None
    organ: str | None
    generated_at: datetime


def heading(
    period: Period, *, tz: ZoneInfo, level: str | None, organ: str | None
) -> dict[str, Any]:
    """The fields of `PeriodReport` for a period and its filters, generated now."""
    return {
        "period": period.label,
        "period_basis": period.basis,
        "first_day": period.first,
        "last_day": period.last,
        "level": level,
        "organ": organ,
        "generated_at": datetime.now(tz),
    }


class Report(PeriodReport):
    """Phụ lục II for one period (kỳ báo cáo)."""

    rows: list[ReportRow]
    basis: list[BasisNote] = Field(
        default_factory=list, description="the counting basis, printed under the table"
    )


class IndicatorOut(BaseModel):
    stt: str
    name: str
    unit: str
    source: Literal["computed", "declared"] | None
    kind: Literal["ratio", "count", "declared", "heading"]
    formula: str
    in_annex: bool
    allowed_values: list[float] | None = Field(
        description="declared rows: the values an official may enter (null: a range)"
    )
    basis: str | None = Field(default=None, description="which date puts a fact in a period")
    seed: str | None = Field(
        default=None, description="the sentence of the 2023 Bắc Giang report the row stands for"
    )


class IndicatorList(BaseModel):
    items: list[IndicatorOut]
    next_cursor: str | None = None


class DeclaredIn(BaseModel):
    """A value of a declared row (chỉ tiêu do cán bộ kê khai)."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [{"value": 2, "period": "2023", "note": "LGSP vận hành từ 2020"}]
        },
    )

    value: StrictInt | StrictFloat = Field(description="số liệu")
    period: str | None = Field(
        default=None,
        pattern=PERIOD_PATTERN,
        description="the period it is declared for; omitted: every period without its own",
    )
    note: Text | None = Field(default=None, max_length=1000, description="ghi chú")


class DeclaredOut(BaseModel):
    id: int
    stt: str
    value: float
    period: str | None
    note: str | None
    declared_by: str = Field(description="the client id of the token that declared it")
    declared_at: datetime


class DeclaredList(BaseModel):
    items: list[DeclaredOut]
    next_cursor: str | None = None


class Status(BaseModel):
    """How far the projections have come."""

    events_consumed: dict[str, int] = Field(description="events applied, by type")
    events_consumed_total: int
    last_event_time: LocalTime | None = Field(description="the latest business time applied")
    lag_seconds: float = Field(description="how long the last batch waited in JetStream")
    pending_events: int | None = Field(description="events in the stream not yet applied")


class OrganDocumentsOnline(BaseModel):
    """One organ's share of documents handled fully online in the period, against its level's
    threshold."""

    code: str = Field(description="mã định danh")
    name: str | None = Field(description="from the reference directory, when it holds the organ")
    level: OrganLevel
    parent_code: str | None
    sent: int = Field(description="documents sent in the period")
    electronic: int = Field(description="of those, sent fully electronically")
    value: float | None = Field(description="electronic ÷ sent, %; null without a document")
    threshold: float = Field(description="the level's threshold, %")
    meets: bool = Field(description="value ≥ threshold (false without a document)")


class LevelDocumentsOnline(BaseModel):
    """Organs of a level that reach its threshold."""

    level: OrganLevel
    threshold: float = Field(description="%: 98 province, 87 district, 75 commune")
    organs: int = Field(description="organs of the level registered at the end of the period")
    meeting: int = Field(description="of those, organs at or above the threshold")
    value: float | None = Field(description="meeting ÷ organs, %")


class DocumentsOnlineReport(PeriodReport):
    """Documents handled fully online per organ (tỉ lệ xử lý văn bản trên môi trường mạng)."""

    levels: list[LevelDocumentsOnline]
    organs: list[OrganDocumentsOnline]
    basis: list[BasisNote] = Field(description="the counting basis, printed under the table")


class DvcqgBacklogOut(BaseModel):
    """How far behind DVCQG's copy is: the dossier service's sync backlog as last read
    (platform-wide, whatever the period and filters)."""

    as_of: LocalTime = Field(description="when the dossier service read it")
    pending: int = Field(description="dossiers with a change DVCQG has not got")
    refused: int = Field(description="among them, dossiers DVCQG refused at their last try")
    oldest_unsynced_change_at: LocalTime | None = Field(
        description="when the oldest change DVCQG has not got was recorded; null when none"
    )
    lag_seconds: float = Field(
        description="age of that change now (0 when none was pending at `as_of`)"
    )


class DvcqgSyncReport(PeriodReport):
    """How complete and how fresh the sync of dossiers to DVCQG (Cổng Dịch vụ công quốc gia)
    is, beside Phụ lục II: the period's dossiers are those received in it (NgayTiepNhan), as in
    rows 6.2–6.4."""

    received: int = Field(description="dossiers received in the period")
    synced: int = Field(description="of those, dossiers DVCQG holds")
    value: float | None = Field(description="synced ÷ received, %; null without a dossier")
    backlog: DvcqgBacklogOut | None = Field(
        description="the sync's backlog; null until the dossier service first reported it"
    )

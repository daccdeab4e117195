"""HTTP endpoints of the reporting service (Hệ thống thông tin báo cáo)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Response
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from lgsp_kit.access import DECLARE_SCOPE, needs_scope
from lgsp_kit.auth import Caller
from lgsp_kit.responses import problem_responses
from lgsp_kit.sessions import APIRouter, ReadSession, WriteSession, off_loop
from services.reporting import documents_online, export, national, service
from services.reporting.dependencies import ProgressDep, SettingsDep
from services.reporting.page import period_choices, render_page
from services.reporting.periods import (
    PERIOD_PATTERN,
    Period,
    PeriodBasis,
    current_year,
    parse_period,
)
from services.reporting.schemas import (
    DeclaredIn,
    DeclaredList,
    DeclaredOut,
    DocumentsOnlineReport,
    DvcqgSyncReport,
    IndicatorList,
    OrganLevel,
    Report,
    ReportFormat,
    Status,
    TableFormat,
)
from services.reporting.settings import Settings

router = APIRouter(prefix="/v1", tags=["reporting"])

PeriodQuery = Annotated[
    str, Query(pattern=PERIOD_PATTERN, description="kỳ báo cáo: 2023, 2023-H1, 2023-Q4, 2023-11")
]
LevelQuery = Annotated[
    OrganLevel | None, Query(description="cấp: narrows the rows that add up across levels")
]
OrganQuery = Annotated[
    str | None,
    Query(max_length=32, description="mã định danh: that organ and the units under it"),
]
PeriodOrYear = Annotated[
    str | None, Query(pattern=PERIOD_PATTERN, description="kỳ báo cáo; the current year if omitted")
]
BasisQuery = Annotated[
    PeriodBasis,
    Query(
        description="calendar (default): calendar months; decree09: the cut-off of Decree "
        "09/2019/NĐ-CP, Điều 12 (the year 2023 runs 15/12/2022 – 14/12/2023, a month from the "
        "15th of the month before to the 14th)"
    ),
]


@dataclass(frozen=True)
class Filters:
    """What every report of a period is narrowed by: the period (read on `basis`), the level
    and the organ with the units under it."""

    period: Period
    level: OrganLevel | None
    organ: str | None

    def file_name(self, stem: str) -> str:
        basis = "-nd09" if self.period.basis == "decree09" else ""
        return f"{stem}-{self.period.label}{basis}"


async def report_filters(
    period: PeriodQuery,
    level: LevelQuery = None,
    organ: OrganQuery = None,
    basis: BasisQuery = "calendar",
) -> Filters:
    return Filters(parse_period(period, basis), level, organ)


async def page_filters(
    settings: SettingsDep,
    period: PeriodOrYear = None,
    level: LevelQuery = None,
    organ: OrganQuery = None,
    basis: BasisQuery = "calendar",
) -> Filters:
    """The filters of the live page: the current year when no period is given."""
    per = parse_period(period, basis) if period else current_year(settings.zone, basis)
    return Filters(per, level, organ)


FiltersDep = Annotated[Filters, Depends(report_filters)]
PageFiltersDep = Annotated[Filters, Depends(page_filters)]
RefreshQuery = Annotated[int, Query(ge=2, le=3600, description="seconds")]
SttPath = Annotated[str, Path(max_length=16, description="STT of a declared row (1–4)")]
ACCEPTED = {
    "text/csv": "csv",
    export.XLSX_MEDIA_TYPE: "xlsx",
    "text/html": "html",
    "application/json": "json",
}
REPORT_CONTENT: dict[str, dict[str, object]] = {
    "text/csv": {},
    export.XLSX_MEDIA_TYPE: {},
    "text/html": {},
}


def _format(format_: str | None, accept: str | None) -> str:
    """`format` wins; otherwise the first media type of `Accept` we can write; JSON by default."""
    if format_:
        return format_
    for part in (accept or "").split(","):
        found = ACCEPTED.get(part.split(";")[0].strip().lower())
        if found:
            return found
    return "json"


def download(body: bytes | str, media_type: str, file_name: str) -> Response:
    """A report as a file to save (CSV or Excel)."""
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{file_name}"'},
    )


def report_response(
    session: Session,
    settings: Settings,
    filters: Filters,
    fmt: str,
    *,
    xlsx_path: str,
    refresh: int | None = None,
) -> Response:
    """Build Phụ lục II and write it in `fmt`; shared by the API and the live page."""
    per, level, organ = filters.period, filters.level, filters.organ
    report = service.build_report(session, per, tz=settings.zone, level=level, organ=organ)
    name = filters.file_name("phu-luc-ii")
    if fmt == "csv":
        return download(export.to_csv(report), "text/csv; charset=utf-8", f"{name}.csv")
    if fmt == "xlsx":
        return download(export.to_xlsx(report), export.XLSX_MEDIA_TYPE, f"{name}.xlsx")
    if fmt == "html":
        year = parse_period(per.label[:4], per.basis)
        series = service.monthly_dossier_ratios(session, year, level=level, organ=organ)
        choices = period_choices(per.first_day.year)
        dvcqg = national.build(session, per, tz=settings.zone, level=level, organ=organ)
        html = render_page(
            report, series, periods=choices, refresh=refresh, xlsx_path=xlsx_path, dvcqg=dvcqg
        )
        return HTMLResponse(html)
    return Response(report.model_dump_json(), media_type="application/json")


@router.get(
    "/reports/phu-luc-ii",
    response_model=Report,
    summary="Phụ lục II for a period",
    responses={
        200: {"content": REPORT_CONTENT},
        **problem_responses(400, 401, 403, 404, 422, 429),
    },
)
@off_loop
def get_phu_luc_ii(
    session: ReadSession,
    settings: SettingsDep,
    filters: FiltersDep,
    format: Annotated[
        ReportFormat | None, Query(description="json, csv, xlsx or html; else from Accept")
    ] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """Thống kê Phụ lục II: every row with its numerator, denominator and source, and the
    counting basis under the table (`basis` in JSON, lines after the rows in CSV and Excel)."""
    return report_response(
        session, settings, filters, _format(format, accept), xlsx_path="phu-luc-ii"
    )


@router.get(
    "/reports/documents-online",
    response_model=DocumentsOnlineReport,
    summary="Documents handled online, per organ",
    responses={
        200: {"content": {"text/csv": {}, export.XLSX_MEDIA_TYPE: {}}},
        **problem_responses(400, 401, 403, 404, 422, 429),
    },
)
@off_loop
def get_documents_online(
    session: ReadSession,
    settings: SettingsDep,
    filters: FiltersDep,
    format: Annotated[
        TableFormat | None, Query(description="json, csv or xlsx; else from Accept")
    ] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """Tỉ lệ xử lý văn bản trên môi trường mạng: per organ, documents sent fully
    electronically ÷ documents sent in the period, against its level's threshold (98 % province,
    87 % district, 75 % commune); per level, the organs that reach it. 404 for an unknown organ."""
    fmt = _format(format, accept)
    report = documents_online.build(
        session, filters.period, tz=settings.zone, level=filters.level, organ=filters.organ
    )
    name = filters.file_name("van-ban-dien-tu")
    if fmt == "csv":
        return download(export.online_to_csv(report), "text/csv; charset=utf-8", f"{name}.csv")
    if fmt == "xlsx":
        return download(export.online_to_xlsx(report), export.XLSX_MEDIA_TYPE, f"{name}.xlsx")
    return Response(report.model_dump_json(), media_type="application/json")


@router.get(
    "/reports/dvcqg-sync",
    response_model=DvcqgSyncReport,
    summary="Dossiers of a period synced to DVCQG",
    responses=problem_responses(401, 403, 404, 422, 429),
)
def get_dvcqg_sync(
    session: ReadSession, settings: SettingsDep, filters: FiltersDep
) -> DvcqgSyncReport:
    """Đồng bộ hồ sơ lên Cổng DVCQG: of the dossiers received in the period, those DVCQG
    holds, and the sync's backlog (dossiers waiting, the oldest change not sent, its age).
    404 for an unknown organ."""
    return national.build(
        session, filters.period, tz=settings.zone, level=filters.level, organ=filters.organ
    )


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    summary="The live page, through the gateway",
    responses=problem_responses(400, 401, 403, 404, 422, 429),
)
@off_loop
def get_dashboard(
    session: ReadSession,
    settings: SettingsDep,
    filters: PageFiltersDep,
    refresh: RefreshQuery = 10,
) -> Response:
    """Trang theo dõi trực tiếp: the current table and the monthly chart, refreshing itself."""
    return report_response(
        session, settings, filters, "html", xlsx_path="reports/phu-luc-ii", refresh=refresh
    )


@router.get(
    "/indicators",
    response_model=IndicatorList,
    summary="Indicator definitions",
    responses=problem_responses(401, 403, 429),
)
async def list_indicators() -> IndicatorList:
    """Định nghĩa chỉ tiêu: every row of Phụ lục II with its formula, unit and source."""
    return IndicatorList(items=service.indicator_definitions())


@router.put(
    "/indicators/{stt}/declared",
    response_model=DeclaredOut,
    summary="Declare a row's value",
    dependencies=[needs_scope(DECLARE_SCOPE)],
    responses=problem_responses(400, 401, 403, 404, 409, 422, 429),
)
def declare_indicator(
    stt: SttPath, body: DeclaredIn, session: WriteSession, caller: Caller
) -> DeclaredOut:
    """Kê khai số liệu of a declared row (1–4); computed rows answer 409. The rows are the
    province's: declaring needs the scope `reporting:declare` besides `reporting:write`."""
    return service.declare(session, stt, body, who=caller.client_id)


@router.get(
    "/indicators/{stt}/declared",
    response_model=DeclaredList,
    summary="History of a declared row",
    responses=problem_responses(401, 403, 404, 409, 422, 429),
)
def list_declared(stt: SttPath, session: ReadSession) -> DeclaredList:
    """Lịch sử kê khai: every value declared for a row, newest first, with who and when."""
    return DeclaredList(items=service.declared_history(session, stt))


@router.get(
    "/status",
    response_model=Status,
    summary="Projection status",
    responses=problem_responses(401, 403, 429),
)
def get_status(progress: ProgressDep, session: ReadSession) -> Status:
    """Tình trạng tổng hợp: events consumed by type, latest business time, consumer lag."""
    return service.status(session, lag_seconds=progress.lag_seconds, pending=progress.pending)

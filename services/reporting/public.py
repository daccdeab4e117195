"""The live page for browsers, at `/` of the service itself, without a Bearer token.

A browser cannot send the Bearer header every other route needs, so the page and its Excel
download are served here on a router added after the guarded ones. They show only the
aggregated figures of Phụ lục II, which the province publishes anyway; the setting
`REPORTING_PUBLIC_PAGE=false` removes them. Clients holding a token reach the same page through
the gateway at `/reporting/v1/dashboard`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response
from fastapi.responses import HTMLResponse

from lgsp_kit.responses import problem_responses
from lgsp_kit.sessions import APIRouter, ReadSession
from services.reporting.dependencies import SettingsDep
from services.reporting.periods import PERIOD_PATTERN, current_year
from services.reporting.router import BasisQuery, LevelQuery, OrganQuery, report_response

router = APIRouter(tags=["live page"])

PeriodOrYear = Annotated[
    str | None, Query(pattern=PERIOD_PATTERN, description="kỳ báo cáo; the current year if omitted")
]


@router.get(
    "/",
    response_class=HTMLResponse,
    summary="The live page",
    responses=problem_responses(404, 422),
)
def live_page(
    session: ReadSession,
    settings: SettingsDep,
    period: PeriodOrYear = None,
    level: LevelQuery = None,
    organ: OrganQuery = None,
    basis: BasisQuery = "calendar",
    refresh: Annotated[int, Query(ge=2, le=3600, description="seconds")] = 10,
) -> Response:
    """Trang theo dõi trực tiếp: Phụ lục II and the monthly chart, reloading itself."""
    label = period or current_year(settings.zone, basis).label
    return report_response(
        session,
        settings,
        label,
        level,
        organ,
        "html",
        xlsx_path="phu-luc-ii.xlsx",
        refresh=refresh,
        basis=basis,
    )


@router.get(
    "/phu-luc-ii.xlsx",
    response_class=Response,
    summary="Phụ lục II as Excel, for the live page",
    responses={
        200: {"content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}},
        **problem_responses(404, 422),
    },
)
def live_page_xlsx(
    session: ReadSession,
    settings: SettingsDep,
    period: PeriodOrYear = None,
    level: LevelQuery = None,
    organ: OrganQuery = None,
    basis: BasisQuery = "calendar",
) -> Response:
    """Tải Phụ lục II (Excel) from the live page."""
    label = period or current_year(settings.zone, basis).label
    return report_response(
        session, settings, label, level, organ, "xlsx", xlsx_path="", basis=basis
    )

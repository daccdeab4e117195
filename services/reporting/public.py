"""The live page for browsers, at `/` of the service itself, without a Bearer token.

A browser cannot send the Bearer header every other route needs, so the page and its Excel
download are served here on a router added after the guarded ones. They show only the
aggregated figures of Phụ lục II, which the province publishes anyway; the setting
`REPORTING_PUBLIC_PAGE=false` removes them. Clients holding a token reach the same page through
the gateway at `/reporting/v1/dashboard`.
"""

from __future__ import annotations

from fastapi import Response
from fastapi.responses import HTMLResponse

from lgsp_kit.responses import problem_responses
from lgsp_kit.sessions import APIRouter, ReadSession, off_loop
from services.reporting.dependencies import SettingsDep
from services.reporting.router import PageFiltersDep, RefreshQuery, report_response

router = APIRouter(tags=["live page"])


@router.get(
    "/",
    response_class=HTMLResponse,
    summary="The live page",
    responses=problem_responses(404, 422),
)
@off_loop
def live_page(
    session: ReadSession, settings: SettingsDep, filters: PageFiltersDep, refresh: RefreshQuery = 10
) -> Response:
    """Trang theo dõi trực tiếp: Phụ lục II and the monthly chart, reloading itself."""
    return report_response(
        session, settings, filters, "html", xlsx_path="phu-luc-ii.xlsx", refresh=refresh
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
@off_loop
def live_page_xlsx(
    session: ReadSession, settings: SettingsDep, filters: PageFiltersDep
) -> Response:
    """Tải Phụ lục II (Excel) from the live page."""
    return report_response(session, settings, filters, "xlsx", xlsx_path="")

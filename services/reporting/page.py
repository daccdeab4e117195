"""The live page: Phụ lục II for a period, a chart of 6.3 and 6.4 by month, refreshing itself.

Rendered on the server as one HTML document (no scripts, no build step) from the Jinja2
templates in `templates/`; the browser reloads it every `refresh` seconds through a
`<meta http-equiv="refresh">`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from urllib.parse import urlencode

from services.reporting.export import html_table
from services.reporting.schemas import DvcqgSyncReport, Report
from services.reporting.templates import render

Series = list[tuple[str, float | None, float | None]]


@dataclass(frozen=True)
class Line:
    code: str
    colour: str
    points: list[tuple[float, float]]


@dataclass(frozen=True)
class Chart:
    """Where the chart's marks go, in the SVG's own units (the template writes them)."""

    width: int
    height: int
    left: int
    right: int
    label_y: int
    grid: list[tuple[int, float]]
    months: list[tuple[float, str]]
    lines: list[Line]


def chart(series: Series, width: int = 720, height: int = 240) -> Chart:
    """6.3 and 6.4 (%) per month on a 0–100 scale."""
    left, right, top, bottom = 40, 10, 10, 30
    w, h = width - left - right, height - top - bottom
    n = max(len(series), 1)
    step = w / max(n - 1, 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: float) -> float:
        return top + h * (1 - v / 100)

    lines = []
    online_whole = [whole for _, whole, _ in series]
    online_part = [part for _, _, part in series]
    for code, colour, values in (("6.3", "#1f77b4", online_whole), ("6.4", "#d62728", online_part)):
        points = [(x(i), y(v)) for i, v in enumerate(values) if v is not None]
        if points:
            lines.append(Line(code, colour, points))
    return Chart(
        width=width,
        height=height,
        left=left,
        right=width - right,
        label_y=height - 10,
        grid=[(v, y(v)) for v in (0, 25, 50, 75, 100)],
        months=[(x(i), month[5:] or month) for i, (month, _, _) in enumerate(series)],
        lines=lines,
    )


def render_page(
    report: Report,
    series: Series,
    *,
    periods: list[str],
    refresh: int | None,
    xlsx_path: str,
    dvcqg: DvcqgSyncReport | None = None,
) -> str:
    """The whole page; without `refresh` it is a static document (the report's html format)."""
    query = {"period": report.period, "format": "xlsx"}
    # A relative link: right on the service, and through the gateway's /reporting prefix.
    if report.level:
        query["level"] = report.level
    if report.organ:
        query["organ"] = report.organ
    if report.period_basis != "calendar":
        query["basis"] = report.period_basis
    hidden = [(k, v) for k, v in (("level", report.level), ("organ", report.organ)) if v]
    return render(
        "page.html",
        report=report,
        periods=periods,
        bases=[("calendar", "Năm dương lịch"), ("decree09", "NĐ 09/2019 (chốt ngày 14)")],
        refresh=refresh,
        hidden=hidden,
        generated=report.generated_at.isoformat(timespec="seconds"),
        xlsx=f"{xlsx_path}?{urlencode(query)}",
        chart=chart(series),
        table=html_table(report),
        dvcqg=dvcqg_cells(dvcqg, report.generated_at.tzinfo) if dvcqg else None,
    )


def dvcqg_cells(sync: DvcqgSyncReport, tz: tzinfo | None) -> dict[str, str]:
    """The DVCQG sync's line under the table, as text in the report's zone."""

    def local(at: datetime | None) -> str:
        return at.astimezone(tz).isoformat(timespec="seconds") if at is not None else ""

    cells = {
        "received": f"{sync.received:,}",
        "synced": f"{sync.synced:,}",
        "value": "—" if sync.value is None else f"{sync.value:.2f} %",
        "pending": "",
        "oldest": "",
        "as_of": "chưa có số liệu đồng bộ",
    }
    b = sync.backlog
    if b is not None:
        cells["pending"] = f"{b.pending:,}" + (f" ({b.refused:,} bị từ chối)" if b.refused else "")
        cells["oldest"] = (
            f"{local(b.oldest_unsynced_change_at)} ({b.lag_seconds:,.0f} giây)"
            if b.oldest_unsynced_change_at is not None and b.pending
            else "không có"
        )
        cells["as_of"] = local(b.as_of)
    return cells


def period_choices(year: int) -> list[str]:
    """The periods offered by the picker: the year, its halves, quarters and months."""
    out = [str(year), f"{year}-H1", f"{year}-H2"]
    out += [f"{year}-Q{q}" for q in range(1, 5)]
    out += [f"{year}-{m:02d}" for m in range(1, 13)]
    return out

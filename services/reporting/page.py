"""The live page: Phụ lục II for a period, a chart of 6.3 and 6.4 by month, refreshing itself.

Rendered on the server as one HTML document (no scripts, no build step); the browser reloads it
every `refresh` seconds through a `<meta http-equiv="refresh">`.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from services.reporting.export import html_table
from services.reporting.schemas import Report

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1b1b1b}
h1{font-size:1.3rem}form{margin:.5rem 0 1rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #bbb;padding:.25rem .4rem;vertical-align:top}
th{background:#eef}tr.heading td{font-weight:bold;background:#f6f6f6}
tr.extra td{font-style:italic}td.num{text-align:right;white-space:nowrap}
td:nth-child(4){text-align:right;font-weight:600}
caption{text-align:left;padding:.3rem 0;color:#555}
svg{max-width:720px;border:1px solid #ddd;margin-bottom:1rem}
.legend span{margin-right:1rem}
"""

Series = list[tuple[str, float | None, float | None]]


def _chart(series: Series, width: int = 720, height: int = 240) -> str:
    """Inline SVG: 6.3 and 6.4 (%) per month, 0–100."""
    left, right, top, bottom = 40, 10, 10, 30
    w, h = width - left - right, height - top - bottom
    n = max(len(series), 1)
    step = w / max(n - 1, 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: float) -> float:
        return top + h * (1 - v / 100)

    parts = [
        f'<svg id="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Tỷ lệ hồ sơ trực tuyến theo tháng">'
    ]
    for v in (0, 25, 50, 75, 100):
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            f'stroke="#eee"/><text x="4" y="{y(v) + 4:.1f}" font-size="10">{v}%</text>'
        )
    for i, (month, _, _) in enumerate(series):
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - 10}" font-size="10" '
            f'text-anchor="middle">{escape(month[5:] or month)}</text>'
        )
    for idx, colour, code in ((1, "#1f77b4", "6.3"), (2, "#d62728", "6.4")):
        points = [(x(i), y(s[idx])) for i, s in enumerate(series) if s[idx] is not None]  # type: ignore[arg-type]
        if points:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(
                f'<polyline data-code="{code}" fill="none" stroke="{colour}" stroke-width="2" '
                f'points="{path}"/>'
            )
            parts += [
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>' for px, py in points
            ]
    parts.append("</svg>")
    return "".join(parts)


def render_page(
    report: Report, series: Series, *, periods: list[str], refresh: int | None, xlsx_path: str
) -> str:
    """The whole page; without `refresh` it is a static document (the report's html format)."""
    options = "".join(
        f'<option value="{escape(p)}"{" selected" if p == report.period else ""}>'
        f"{escape(p)}</option>"
        for p in periods
    )
    generated = escape(report.generated_at.isoformat(timespec="seconds"))
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{escape(v)}">'
        for k, v in (("level", report.level), ("organ", report.organ))
        if v
    )
    query = {"period": report.period, "format": "xlsx"}
    # A relative link: right on the service, and through the gateway's /reporting prefix.
    if report.level:
        query["level"] = report.level
    if report.organ:
        query["organ"] = report.organ
    xlsx = escape(f"{xlsx_path}?{urlencode(query)}")
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
{f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""}
<title>Phụ lục II — {escape(report.period)}</title>
<style>{STYLE}</style></head>
<body>
<h1>Phụ lục II — Thống kê số liệu chuyên đề Chính phủ điện tử, Chính phủ số</h1>
<form method="get"><label>Kỳ báo cáo <select name="period">{options}</select></label>{hidden}
{f'<input type="hidden" name="refresh" value="{refresh}">' if refresh else ""}
<button type="submit">Xem</button></form>
<p>Cập nhật lúc <time id="generated">{generated}</time>;
{f"tự làm mới sau {refresh} giây. " if refresh else ""}Tải về: <a href="{xlsx}">Excel</a></p>
<h2>Tỷ lệ hồ sơ trực tuyến theo tháng</h2>
<p class="legend"><span style="color:#1f77b4">■ 6.3 toàn trình</span>
<span style="color:#d62728">■ 6.4 một phần</span></p>
{_chart(series)}
{html_table(report)}
</body></html>"""


def period_choices(year: int) -> list[str]:
    """The periods offered by the picker: the year, its halves, quarters and months."""
    out = [str(year), f"{year}-H1", f"{year}-H2"]
    out += [f"{year}-Q{q}" for q in range(1, 5)]
    out += [f"{year}-{m:02d}" for m in range(1, 13)]
    return out

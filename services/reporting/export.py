"""Phụ lục II as CSV, as an Excel workbook laid out like the annex, and as an HTML table.

Declared notes are free text typed by an official, so no text reaches a spreadsheet as a
formula: the workbook writes every text as an inline string (never a formula cell) and the CSV
prefixes a text that a spreadsheet would read as a formula with `'` (OWASP, CSV injection).
Who declared a row (a consumer's client id) is not shown: the page and the workbook are public.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from markupsafe import Markup
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.reporting.schemas import Report, ReportRow
from services.reporting.templates import render

CSV_COLUMNS = ("stt", "name", "unit", "value", "numerator", "denominator", "source", "note")
TITLE = "THỐNG KÊ SỐ LIỆU CHUYÊN ĐỀ VỀ XÂY DỰNG VÀ PHÁT TRIỂN CHÍNH PHỦ ĐIỆN TỬ, CHÍNH PHỦ SỐ"
XLSX_HEADER = (
    "STT",
    "Chỉ tiêu thống kê (Sử dụng trong kỳ báo cáo hàng quý, 6 tháng, năm)",
    "Đơn vị tính",
    "Số liệu",
    "Tử số",
    "Mẫu số",
    "Nguồn",
    "Ghi chú",
)
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# What makes a spreadsheet read a cell as a formula (OWASP), and the full-width forms some
# spreadsheets accept too.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def looks_like_formula(text: str) -> bool:
    """True when a spreadsheet could take the text for a formula (leading spaces ignored)."""
    return text.startswith(FORMULA_START) or text.lstrip(" ").startswith(FORMULA_START)


def neutralise(text: str) -> str:
    """A text for a CSV field: a leading `'` when it looks like a formula, else unchanged."""
    return f"'{text}" if looks_like_formula(text) else text


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


def _scope(report: Report) -> str:
    parts = [f"Kỳ báo cáo: {report.period} ({report.first_day} – {report.last_day})"]
    if report.level:
        parts.append(f"cấp: {report.level}")
    if report.organ:
        parts.append(f"đơn vị: {report.organ}")
    return "; ".join(parts)


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        writer.writerow([_cell(getattr(row, c)) for c in CSV_COLUMNS])
    return out.getvalue()


def _source_vi(row: ReportRow) -> str:
    return {"computed": "tính từ sự kiện", "declared": "kê khai"}.get(row.source or "", "")


def _append(ws: Worksheet, values: list[object]) -> None:
    """A row whose texts are inline strings: openpyxl would make `=…` a formula cell."""
    ws.append(values)
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
            if looks_like_formula(cell.value):
                # Excel keeps it text even when the cell is edited.
                cell.quotePrefix = True


def to_xlsx(report: Report) -> bytes:
    """One sheet: title, scope, the annex's header and its rows (headings in bold)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Phụ lục II"
    _append(ws, ["PHỤ LỤC II"])
    _append(ws, [TITLE])
    _append(ws, [_scope(report)])
    ws.append([])
    _append(ws, list(XLSX_HEADER))
    header_row = ws.max_row
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for col in range(1, len(XLSX_HEADER) + 1):
        cell = ws.cell(header_row, col)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
        cell.border = border
    for row in report.rows:
        _append(
            ws,
            [
                row.stt,
                row.name,
                row.unit,
                row.value,
                row.numerator,
                row.denominator,
                _source_vi(row),
                row.note,
            ],
        )
        r = ws.max_row
        heading = row.source is None
        for col in range(1, len(XLSX_HEADER) + 1):
            cell = ws.cell(r, col)
            cell.border = border
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if heading:
                cell.font = Font(bold=True)
            elif not row.in_annex or row.stt.count(".") == 2:
                cell.font = Font(italic=True)
        if row.unit == "%" and row.value is not None:
            ws.cell(r, 4).number_format = "0.00"
    for col, width in enumerate((8, 70, 16, 12, 12, 12, 14, 30), start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(XLSX_HEADER))
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(XLSX_HEADER))
    for r in (1, 2):
        ws.cell(r, 1).font = Font(bold=True, size=13 if r == 1 else 12)
        ws.cell(r, 1).alignment = Alignment(horizontal="center")
    ws.freeze_panes = ws.cell(header_row + 1, 1)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _fmt(row: ReportRow) -> str:
    if row.value is None:
        return ""
    if row.unit == "%":
        return f"{row.value:.2f}"
    return f"{row.value:,.0f}".replace(",", ".") if row.value == int(row.value) else str(row.value)


@dataclass(frozen=True)
class HtmlRow:
    stt: str
    name: str
    unit: str
    value: str
    fraction: str
    source: str
    note: str
    css_class: str


def html_table(report: Report) -> Markup:
    """The annex as an HTML table (escaped), for the report's html format and the live page."""
    rows = [
        HtmlRow(
            stt=row.stt,
            name=row.name,
            unit=row.unit,
            value=_fmt(row),
            fraction=(
                f"{row.numerator:,} / {row.denominator:,}".replace(",", ".")
                if row.denominator is not None and row.numerator is not None
                else ""
            ),
            source=_source_vi(row),
            note=row.note or "",
            css_class="heading" if row.source is None else ("extra" if not row.in_annex else ""),
        )
        for row in report.rows
    ]
    titles = [*XLSX_HEADER[:4], "Tử số / Mẫu số", *XLSX_HEADER[6:]]
    return render("table.html", caption=_scope(report), titles=titles, rows=rows)

"""Phụ lục II (and the per-organ table of documents handled online) as CSV, as an Excel workbook
laid out like the annex, and as an HTML table; under every table, its counting basis.

Declared notes are free text typed by an official, so no text reaches a spreadsheet as a
formula: the workbook writes every text as an inline string (never a formula cell) and the CSV
prefixes a text that a spreadsheet would read as a formula with `'` (OWASP, CSV injection).
Who declared a row (a consumer's client id) is not shown: the page and the workbook are public.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.reporting.schemas import BasisNote, DocumentsOnlineReport, Report, ReportRow
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
BASIS_TITLE = "Cơ sở tính số liệu"


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


def basis_lines(notes: list[BasisNote]) -> list[str]:
    """Each note as one line: the rows it applies to, then its text."""
    return [f"{', '.join(n.rows)}: {n.text}" if n.rows else n.text for n in notes]


def _csv_basis(writer: Any, notes: list[BasisNote]) -> None:
    """A blank line, the title, then one line per note (rows in the first column)."""
    if not notes:
        return
    writer.writerow([])
    writer.writerow([BASIS_TITLE])
    for n in notes:
        writer.writerow([_cell(", ".join(n.rows)), _cell(n.text)])


def _xlsx_basis(ws: Worksheet, notes: list[BasisNote], width: int) -> None:
    """Under the table: the title in bold, then each note merged across the table's width."""
    if not notes:
        return
    ws.append([])
    _append(ws, [BASIS_TITLE])
    ws.cell(ws.max_row, 1).font = Font(bold=True)
    for line in basis_lines(notes):
        _append(ws, [line])
        r = ws.max_row
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
        ws.cell(r, 1).alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[r].height = 30


def _scope(report: Report | DocumentsOnlineReport) -> str:
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
    _csv_basis(writer, report.basis)
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
    _xlsx_basis(ws, report.basis, len(XLSX_HEADER))
    _finish(ws, (8, 70, 16, 12, 12, 12, 14, 30), header_row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _finish(ws: Worksheet, widths: tuple[int, ...], header_row: int) -> None:
    """Column widths, the title rows merged and centred, the header frozen."""
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(widths))
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(widths))
    for r in (1, 2):
        ws.cell(r, 1).font = Font(bold=True, size=13 if r == 1 else 12)
        ws.cell(r, 1).alignment = Alignment(horizontal="center")
    ws.freeze_panes = ws.cell(header_row + 1, 1)


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
    return render(
        "table.html",
        caption=_scope(report),
        titles=titles,
        rows=rows,
        basis_title=BASIS_TITLE,
        basis=basis_lines(report.basis),
    )


# -- documents handled online, per organ ---------------------------------------------------

ONLINE_TITLE = "TỈ LỆ XỬ LÝ VĂN BẢN, HỒ SƠ CÔNG VIỆC TRÊN MÔI TRƯỜNG MẠNG THEO CƠ QUAN"
ONLINE_CSV_COLUMNS = (
    "code",
    "name",
    "level",
    "parent_code",
    "sent",
    "electronic",
    "value",
    "threshold",
    "meets",
)
ONLINE_HEADER = (
    "Mã định danh",
    "Cơ quan",
    "Cấp",
    "Cơ quan cấp trên",
    "Văn bản gửi",
    "Gửi hoàn toàn điện tử",
    "Tỉ lệ (%)",
    "Ngưỡng (%)",
    "Đạt",
)
LEVEL_HEADER = ("Cấp", "Ngưỡng (%)", "Số cơ quan", "Số cơ quan đạt", "Tỉ lệ cơ quan đạt (%)")
LEVEL_VI = {
    "province": "UBND tỉnh",
    "province_organ": "Sở, ban, ngành cấp tỉnh",
    "district": "Cấp huyện",
    "commune": "Cấp xã",
}


def online_to_csv(report: DocumentsOnlineReport) -> str:
    """One line per organ, then the counting basis."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(ONLINE_CSV_COLUMNS)
    for row in report.organs:
        writer.writerow([_cell(getattr(row, c)) for c in ONLINE_CSV_COLUMNS])
    _csv_basis(writer, report.basis)
    return out.getvalue()


def _bordered(ws: Worksheet, row: int, width: int, *, bold: bool = False) -> None:
    thin = Side(style="thin")
    for col in range(1, width + 1):
        cell = ws.cell(row, col)
        cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if bold:
            cell.font = Font(bold=True)


def online_to_xlsx(report: DocumentsOnlineReport) -> bytes:
    """One sheet: title, scope, the table by level, the table by organ, the counting basis."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Văn bản điện tử"
    _append(ws, [ONLINE_TITLE])
    _append(ws, [TITLE])
    _append(ws, [_scope(report)])
    ws.append([])
    _append(ws, list(LEVEL_HEADER))
    _bordered(ws, ws.max_row, len(LEVEL_HEADER), bold=True)
    for lv in report.levels:
        _append(ws, [LEVEL_VI[lv.level], lv.threshold, lv.organs, lv.meeting, lv.value])
        _bordered(ws, ws.max_row, len(LEVEL_HEADER))
    ws.append([])
    _append(ws, list(ONLINE_HEADER))
    header_row = ws.max_row
    _bordered(ws, header_row, len(ONLINE_HEADER), bold=True)
    for row in report.organs:
        _append(
            ws,
            [
                row.code,
                row.name,
                LEVEL_VI[row.level],
                row.parent_code,
                row.sent,
                row.electronic,
                row.value,
                row.threshold,
                "Đạt" if row.meets else "Chưa đạt",
            ],
        )
        _bordered(ws, ws.max_row, len(ONLINE_HEADER))
        if row.value is not None:
            ws.cell(ws.max_row, 7).number_format = "0.00"
    _xlsx_basis(ws, report.basis, len(ONLINE_HEADER))
    _finish(ws, (18, 40, 22, 18, 12, 14, 10, 10, 10), header_row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

"""Phụ lục II exports: no declared text reaches a spreadsheet as a formula, and the public
outputs do not show who declared a row (a consumer's client id)."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from lgsp_kit.db import Database
from services.reporting import export, service
from services.reporting.periods import parse_period
from services.reporting.schemas import DeclaredIn, Report
from tests.reporting.events import VN

HYPERLINK = '=HYPERLINK("http://x","y")'
CLIENT_ID = "so-tttt-bac-giang"
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def declared_report(db: Database, note: str | None, *, value: float = 2) -> Report:
    """Phụ lục II for 2023 with row 2 declared through the service, by a client id."""
    with db.session() as session:
        service.declare(
            session, "2", DeclaredIn(value=value, period="2023", note=note), who=CLIENT_ID
        )
    with db.session() as session:
        return service.build_report(session, parse_period("2023"), tz=VN)


def sheet_cells(xlsx: bytes) -> list[ElementTree.Element]:
    """Every `<c>` element of the workbook's sheets, as written."""
    cells: list[ElementTree.Element] = []
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/sheet"):
                root = ElementTree.fromstring(archive.read(name))
                cells.extend(root.iter(f"{MAIN}c"))
    return cells


def cell_text(cell: ElementTree.Element) -> str:
    return "".join(t.text or "" for t in cell.iter(f"{MAIN}t"))


@pytest.mark.parametrize(
    "text",
    [HYPERLINK, "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", " =1", "\uff1dSUM(A1)"],
)
def test_formula_text_is_neutralised(text: str) -> None:
    assert export.looks_like_formula(text)
    assert export.neutralise(text) == f"'{text}"


@pytest.mark.parametrize("text", ["LGSP vận hành từ 2020", "3 cấp", "", "a=b", "1-2"])
def test_plain_text_is_left_alone(text: str) -> None:
    assert export.neutralise(text) == text


def test_a_declared_formula_is_no_formula_cell_in_the_workbook(db: Database) -> None:
    report = declared_report(db, HYPERLINK)
    xlsx = export.to_xlsx(report)

    cells = sheet_cells(xlsx)
    assert cells and not [c for c in cells if c.find(f"{MAIN}f") is not None]
    (note,) = [c for c in cells if cell_text(c) == HYPERLINK]
    assert note.get("t") == "inlineStr"

    sheet = load_workbook(io.BytesIO(xlsx)).active
    assert sheet is not None
    (found,) = [c for row in sheet.iter_rows() for c in row if c.value == HYPERLINK]
    assert found.data_type == "s" and found.quotePrefix
    # Numbers stay numbers.
    row = [c.value for c in sheet[found.row]]
    assert row[0] == "2" and row[3] == 2


def test_a_declared_formula_is_a_neutralised_csv_field(db: Database) -> None:
    report = declared_report(db, HYPERLINK)
    rows = {r["stt"]: r for r in csv.DictReader(io.StringIO(export.to_csv(report)))}
    assert rows["2"]["note"] == f"'{HYPERLINK}"
    assert rows["2"]["value"] == "2.0"
    assert rows["6.3"]["numerator"] == "0"


def test_negative_numbers_stay_numbers() -> None:
    report = Report.model_validate(
        {
            "period": "2023",
            "period_basis": "calendar",
            "first_day": "2023-01-01",
            "last_day": "2023-12-31",
            "level": None,
            "organ": None,
            "generated_at": datetime(2023, 12, 31, tzinfo=VN),
            "rows": [
                {
                    "stt": "9",
                    "name": "-x",
                    "unit": "%",
                    "value": -1.5,
                    "numerator": -3,
                    "denominator": 2,
                    "source": "declared",
                }
            ],
        }
    )
    (row,) = list(csv.DictReader(io.StringIO(export.to_csv(report))))
    assert (row["name"], row["value"], row["numerator"]) == ("'-x", "-1.5", "-3")
    sheet = load_workbook(io.BytesIO(export.to_xlsx(report))).active
    assert sheet is not None
    last = [c.value for c in sheet[sheet.max_row]]
    assert last[1:5] == ["-x", "%", -1.5, -3]


def test_who_declared_a_row_is_not_shown(db: Database) -> None:
    """Without a note the row said `kê khai bởi <client id>`; now it says nothing of who."""
    report = declared_report(db, None)
    assert CLIENT_ID not in export.html_table(report)
    assert CLIENT_ID not in export.to_csv(report)
    assert not [c for c in sheet_cells(export.to_xlsx(report)) if CLIENT_ID in cell_text(c)]

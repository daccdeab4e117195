"""`lgsp report`: Phụ lục II as the annex lays it out, beside the targets when given."""

from __future__ import annotations

from typing import Any

from scenarios.truth import Expected


def _num(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}".replace(",", ".")  # Vietnamese thousands separator, as printed


def _want(expected: Expected | None) -> str:
    if expected is None:
        return ""
    if expected.numerator is not None:
        den = expected.denominator or 0
        pct = 100 * expected.numerator / den if den else 0.0
        return f"{pct:.2f} ({_num(expected.numerator)}/{_num(expected.denominator)})"
    return _num(expected.value)


def _got(row: dict[str, Any]) -> str:
    if row.get("numerator") is not None and row.get("denominator") is not None:
        value = row.get("value")
        shown = f"{value:.2f}" if isinstance(value, int | float) else "—"
        return f"{shown} ({_num(row['numerator'])}/{_num(row['denominator'])})"
    return _num(row.get("value"))


def matches(row: dict[str, Any], expected: Expected) -> bool:
    if expected.numerator is not None:
        return (row.get("numerator"), row.get("denominator")) == (
            expected.numerator,
            expected.denominator,
        )
    return expected.value is None or row.get("value") == expected.value


def table(rows: list[dict[str, Any]], expected: dict[str, Expected] | None = None) -> str:
    """A plain-text table: STT, indicator, unit, figure (and target, ≠ on a difference)."""
    head = ["STT", "Chỉ tiêu", "Đơn vị", "Số liệu"]
    if expected is not None:
        head += ["Mục tiêu", ""]
    lines = [head]
    for row in rows:
        name = str(row.get("name", ""))
        cells = [str(row["stt"]), name if len(name) <= 60 else name[:59] + "…",
                 str(row.get("unit") or ""), _got(row)]  # fmt: skip
        if expected is not None:
            want = expected.get(str(row["stt"]))
            cells += [_want(want), "" if want is None or matches(row, want) else "≠"]
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )

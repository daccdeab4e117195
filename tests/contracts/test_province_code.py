"""The province's organ code suffix is a property of the reference data, with how sure it is."""

from __future__ import annotations

import re
from pathlib import Path

from contracts import reference

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def test_every_organ_of_the_province_carries_its_suffix() -> None:
    p = reference.province()
    assert re.fullmatch(r"H\d\d", p.organ_suffix)
    assert p.organ_suffix_status in {"confirmed", "derived"} and 0 < p.organ_suffix_confidence <= 1
    organs = reference.organs()
    assert organs[p.organ_code].level == "province"
    assert all(code.endswith(f".{p.organ_suffix}") for code in organs)
    assert reference.province().organ_code not in reference.national_organs()


def test_the_suffix_is_the_evidence_s() -> None:
    """The evidence file's row for Bắc Giang (derived from the alphabetical rule) is what the
    data says, with the same status; H06 is Bắc Ninh's there."""
    text = (SHARED / "national" / "province-codes.md").read_text(encoding="utf-8")
    rows = {
        name.strip(): (code, status.strip())
        for code, name, status in re.findall(r"^\| (H\d\d) \| ([^|]+?) \| ([^|]+?) \|", text, re.M)
    }
    p = reference.province()
    assert rows["Bắc Giang"] == (p.organ_suffix, p.organ_suffix_status) == ("H03", "derived")
    assert rows["Bắc Ninh"][0] == "H06"
    assert reference.national_organs()["000.00.00.H06"].name.endswith("Bắc Ninh")

"""Reference catalogues shared by the services (danh mục dùng chung), read from JSON here."""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

HERE = Path(__file__).parent

OrganLevel = Literal["province", "province_organ", "district", "commune"]
OnlineMode = Literal["full", "partial", "none"]
# The unit a procedure's time limit (thời hạn giải quyết) is counted in: the national catalogue's
# DonViTinh "Ngày làm việc", "Ngày", "Giờ", "Tháng" (`processing_unit_of`).
ProcessingUnit = Literal["working_day", "day", "hour", "month"]
PROCESSING_UNITS: tuple[ProcessingUnit, ...] = ("working_day", "day", "hour", "month")


class Organ(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    level: OrganLevel
    parent_code: str | None
    admin_code: str | None = None


class Procedure(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    field: str
    level: Literal["province", "district", "commune"]
    online_mode: OnlineMode
    full_online_eligible: bool
    fee_bearing: bool
    online_payment: bool
    processing_days: int
    processing_unit: ProcessingUnit = "working_day"


def _read(name: str) -> Any:
    return json.loads((HERE / name).read_text(encoding="utf-8"))


class Province(BaseModel):
    """The province the platform serves, and how sure its organ code suffix is."""

    model_config = ConfigDict(frozen=True)

    code: str  # GSO (Tổng cục Thống kê) code
    name: str
    organ_suffix: str  # QCVN 102 level-1 suffix, `Hnn`
    organ_suffix_status: Literal["confirmed", "derived", "illustrative"]
    organ_suffix_confidence: float
    directory_since: datetime
    note: str

    @property
    def organ_code(self) -> str:
        """The provincial People's Committee (UBND tỉnh): `000.00.00.<suffix>`."""
        return f"000.00.00.{self.organ_suffix}"


@cache
def province() -> Province:
    """The province of organs.json: its organ code suffix is a property of the data (H03 for
    Bắc Giang, derived from the alphabetical rule of the province codes, not confirmed)."""
    return Province.model_validate(_read("organs.json")["province"])


@cache
def organs() -> dict[str, Organ]:
    """Bắc Giang's organs by QCVN 102 code (suffix: `province().organ_suffix`, derived)."""
    return {o["code"]: Organ.model_validate(o) for o in _read("organs.json")["organs"]}


class NationalOrgan(BaseModel):
    """An organ outside the province, reached over the national document axis."""

    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    kind: Literal["ministry", "government_office", "province"]
    source: Literal["confirmed", "listed", "derived"]


@cache
def national_organs() -> dict[str, NationalOrgan]:
    """Ministries, the government office (000.00.00.G22) and the other provinces' UBND, by
    QCVN 102 code (where each code comes from: national_organs.json)."""
    return {
        o["code"]: NationalOrgan.model_validate(o) for o in _read("national_organs.json")["organs"]
    }


def directory_since() -> datetime:
    """The business time as of which the seeded organs are registered (see organs.json)."""
    return province().directory_since


def _plain(text: str) -> str:
    """Lower case, no accents, single spaces: "Ngày  làm việc" and "ngay lam viec" alike."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return " ".join(bare.lower().split())


# DonViTinh of the national catalogue's THOIGIAN (LayThuTuc: CACHTHUCTHUCHIEN[].THOIGIAN[]),
# compared without case or accents. The 766 formula description names the four units "Giờ,
# Ngày, Ngày làm việc, tháng" (its indicator 2.2).
_DON_VI_TINH: dict[str, ProcessingUnit] = {
    "ngay lam viec": "working_day",
    "ngay": "day",
    "gio": "hour",
    "thang": "month",
}


def processing_unit_of(don_vi_tinh: str) -> ProcessingUnit:
    """The processing unit of a catalogue DonViTinh; ValueError for a unit the platform does
    not count in (e.g. "Năm"), naming the ones it does."""
    unit = _DON_VI_TINH.get(_plain(don_vi_tinh))
    if unit is None:
        known = ", ".join(f'"{k}"' for k in ("Ngày làm việc", "Ngày", "Giờ", "Tháng"))
        raise ValueError(f"unknown DonViTinh {don_vi_tinh!r}; known: {known}")
    return unit


def _procedure(raw: dict[str, Any]) -> Procedure:
    """A catalogue entry: its DonViTinh (`don_vi_tinh`, as the national catalogue gives it)
    mapped to `processing_unit`."""
    entry = {k: v for k, v in raw.items() if k != "don_vi_tinh"}
    entry["processing_unit"] = processing_unit_of(raw.get("don_vi_tinh", "Ngày làm việc"))
    return Procedure.model_validate(entry)


@cache
def procedures() -> tuple[Procedure, ...]:
    """The demo catalogue of administrative procedures (thủ tục hành chính)."""
    return tuple(_procedure(p) for p in _read("procedures.json")["procedures"])


class CalendarDay(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    date: dt.date
    reason: str
    sources: tuple[str, ...]
    confidence: Literal["high", "medium", "low"]


class CalendarYear(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    days_off: tuple[CalendarDay, ...]
    working_weekend_days: tuple[CalendarDay, ...]


class WorkingCalendar(BaseModel):
    """State bodies' working days: weekdays off and weekend days worked, by year."""

    model_config = ConfigDict(frozen=True)

    sources: dict[str, str]
    years: dict[int, CalendarYear]

    @model_validator(mode="after")
    def _consistent(self) -> WorkingCalendar:
        for year, days in self.years.items():
            for kind, entries, weekday in (
                ("days_off", days.days_off, True),
                ("working_weekend_days", days.working_weekend_days, False),
            ):
                for e in entries:
                    if e.date.year != year or (e.date.weekday() < 5) != weekday:
                        raise ValueError(f"{year} {kind}: {e.date} is misplaced")
                    unknown = set(e.sources) - set(self.sources)
                    if unknown:
                        raise ValueError(f"{e.date}: unknown sources {sorted(unknown)}")
        return self


@cache
def working_calendar() -> WorkingCalendar:
    """Việt Nam's public holidays and swapped working days, with their sources
    (working_calendar.json: every entry says where it comes from and how sure it is)."""
    return WorkingCalendar.model_validate(_read("working_calendar.json"))

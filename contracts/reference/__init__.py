"""Reference catalogues shared by the services (danh mục dùng chung), read from JSON here."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

HERE = Path(__file__).parent

OrganLevel = Literal["province", "province_organ", "district", "commune"]
OnlineMode = Literal["full", "partial", "none"]


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


@cache
def procedures() -> tuple[Procedure, ...]:
    """The demo catalogue of administrative procedures (thủ tục hành chính)."""
    return tuple(Procedure.model_validate(p) for p in _read("procedures.json")["procedures"])

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


@cache
def organs() -> dict[str, Organ]:
    """Bắc Giang's organs by QCVN 102 code (the codes are illustrative, see organs.json)."""
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


@cache
def directory_since() -> datetime:
    """The business time as of which the seeded organs are registered (see organs.json)."""
    return datetime.fromisoformat(_read("organs.json")["province"]["directory_since"])


@cache
def procedures() -> tuple[Procedure, ...]:
    """The demo catalogue of administrative procedures (thủ tục hành chính)."""
    return tuple(Procedure.model_validate(p) for p in _read("procedures.json")["procedures"])

"""The targets file: a province's published Phụ lục II figures, as counts (bac-giang-2023.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, model_validator

Level = Literal["province_organ", "district", "commune"]
LEVELS: tuple[Level, ...] = ("province_organ", "district", "commune")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ProcedureTargets(_Strict):
    full_online_eligible: NonNegativeInt = Field(description="6.1.1")
    full_online: NonNegativeInt = Field(description="6.1.2")
    with_dossiers: NonNegativeInt = Field(description="6.2.1")
    with_online_dossiers: NonNegativeInt = Field(description="6.2.2")
    fee_bearing: NonNegativeInt = Field(description="6.5.1")
    fee_bearing_online_payment: NonNegativeInt = Field(description="6.5.2")
    online_payment_used: NonNegativeInt = Field(
        description="TT.2.1: procedures with at least one online fee payment in the year"
    )

    @model_validator(mode="after")
    def _consistent(self) -> ProcedureTargets:
        if self.full_online > self.full_online_eligible:
            raise ValueError("6.1.2 (full online) cannot exceed 6.1.1 (eligible)")
        if self.with_online_dossiers > self.with_dossiers:
            raise ValueError("6.2.2 cannot exceed 6.2.1")
        if self.fee_bearing_online_payment > self.fee_bearing:
            raise ValueError("6.5.2 cannot exceed 6.5.1")
        if self.online_payment_used > self.fee_bearing_online_payment:
            raise ValueError("TT.2.1 (procedures paid online) cannot exceed 6.5.2")
        return self


class ModeCounts(_Strict):
    total: NonNegativeInt
    online: NonNegativeInt

    @model_validator(mode="after")
    def _online_within_total(self) -> ModeCounts:
        if self.online > self.total:
            raise ValueError("online dossiers cannot exceed all dossiers")
        return self


class DossierTargets(_Strict):
    full: ModeCounts = Field(description="6.3.1 / 6.3.2")
    partial: ModeCounts = Field(description="6.4.1 / 6.4.2")
    fee_bearing_resolved: NonNegativeInt
    paid_online: NonNegativeInt

    @model_validator(mode="after")
    def _paid_within_resolved(self) -> DossierTargets:
        if self.paid_online > self.fee_bearing_resolved:
            raise ValueError("paid_online cannot exceed fee_bearing_resolved")
        return self


class LevelCounts(_Strict):
    province_organ: NonNegativeInt
    district: NonNegativeInt
    commune: NonNegativeInt

    def get(self, level: Level) -> int:
        value: int = getattr(self, level)
        return value


class Connections(_Strict):
    qlvb: LevelCounts = Field(description="5.1.1–5.1.3: organs connected to document exchange")
    motcua: LevelCounts = Field(description="5.3.1–5.3.3: organs connected to the one-stop system")


class DocumentCounts(_Strict):
    sent: NonNegativeInt
    electronic: NonNegativeInt

    @model_validator(mode="after")
    def _electronic_within_sent(self) -> DocumentCounts:
        if self.electronic > self.sent:
            raise ValueError("electronic documents cannot exceed documents sent")
        return self


class DocumentTargets(_Strict):
    province_organ: DocumentCounts = Field(description="5.2.1")
    district: DocumentCounts = Field(description="5.2.2")
    commune: DocumentCounts = Field(description="5.2.3")

    def get(self, level: Level) -> DocumentCounts:
        value: DocumentCounts = getattr(self, level)
        return value


class Targets(_Strict):
    name: str
    year: int = Field(ge=2000, le=2100)
    timezone: str = "Asia/Ho_Chi_Minh"
    declared: dict[str, float | int] = Field(default_factory=dict, description="rows 1–4")
    procedures: ProcedureTargets
    dossiers: DossierTargets
    connections: Connections
    documents: DocumentTargets

    @model_validator(mode="after")
    def _payments_reach_the_procedures(self) -> Targets:
        if self.dossiers.paid_online < self.procedures.online_payment_used:
            raise ValueError("TT.2.1 procedures paid online need as many dossiers paid online")
        return self

    def scaled(self, scale: float) -> Targets:
        """Volumes and catalogue counts scaled and rounded (at least 1 where the target is not
        0); organ connections are structure, not volume, and stay as they are."""
        if scale == 1:
            return self
        if not 0 < scale <= 1:
            raise ValueError("scale must be in (0, 1]")

        def s(n: int) -> int:
            return 0 if n == 0 else max(1, round(n * scale))

        def scale_model(model: BaseModel) -> dict[str, object]:
            out: dict[str, object] = {}
            for key, value in model:
                out[key] = scale_model(value) if isinstance(value, BaseModel) else s(value)
            return out

        data = self.model_dump()
        procs = scale_model(self.procedures)
        dossiers = scale_model(self.dossiers)
        # Rounding alone can leave partial dossiers without a partial procedure to carry them
        # (827 → 1 full, 1094 → 1 with dossiers): raise the counts to the least that works.
        partial = dossiers["partial"]
        assert isinstance(partial, dict)
        for key, volume in (("with_dossiers", "total"), ("with_online_dossiers", "online")):
            if partial[volume] and procs[key] <= procs["full_online"]:  # type: ignore[operator]
                procs[key] = procs["full_online"] + 1  # type: ignore[operator]
        if procs["with_online_dossiers"] > procs["with_dossiers"]:  # type: ignore[operator]
            procs["with_dossiers"] = procs["with_online_dossiers"]
        data["procedures"] = procs
        data["dossiers"] = dossiers
        data["documents"] = scale_model(self.documents)
        return Targets.model_validate(data, strict=False)


def load(path: Path) -> Targets:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Targets.model_validate(raw)

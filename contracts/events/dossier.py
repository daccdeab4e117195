"""Events of the dossier service (`lgsp.dossier.*`)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.envelope import Envelope


class DossierSubmittedData(BaseModel):
    """A dossier (hồ sơ TTHC) was submitted: what reporting needs, fixed at that time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(description="MaHoSo")
    procedure_code: str = Field(description="MaTTHC")
    service_mode: Literal["full", "partial", "none"] = Field(
        description="online mode of the procedure when the dossier was submitted"
    )
    fee_bearing: bool
    organ_code: str = Field(description="DonViXuLy, the handling organ")
    organ_level: Literal["province", "province_organ", "district", "commune"]
    channel: Literal[1, 2, 3] = Field(description="KenhThucHien: 1 direct, 2 online, 3 postal")
    submitted_at: AwareDatetime = Field(description="NgayNopHoSo")


class DossierSubmitted(Envelope):
    event_type: ClassVar[str] = "lgsp.dossier.submitted"
    type: Literal["lgsp.dossier.submitted"] = "lgsp.dossier.submitted"
    data: DossierSubmittedData


EVENTS: tuple[type[Envelope], ...] = (DossierSubmitted,)

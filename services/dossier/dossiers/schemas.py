"""API shapes of dossiers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt

from lgsp_kit.fields import Text, one_of

ApplicantType = Annotated[StrictInt, *one_of(1, 2, 3, 4)]
Channel = Annotated[StrictInt, *one_of(1, 2, 3)]


class Applicant(BaseModel):
    """ChuHoSo: who submits the dossier."""

    model_config = ConfigDict(strict=True, extra="forbid")

    type: ApplicantType = Field(
        description="LoaiDoiTuong: 1 citizen, 2 enterprise, 3 state agency, 4 organisation"
    )
    name: Text = Field(min_length=1, max_length=200)
    identifier: Text = Field(
        min_length=1, max_length=64, description="citizen ID, tax code or organ code"
    )


class DossierCreate(BaseModel):
    """Submit a dossier (nộp hồ sơ)."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "procedure_code": "1.001193",
                    "organ_code": "000.01.31.H06",
                    "channel": 2,
                    "applicant": {"type": 1, "name": "Nguyễn Văn An", "identifier": "024090001234"},
                }
            ]
        },
    )

    procedure_code: str = Field(min_length=1, max_length=64, description="MaTTHC")
    organ_code: str = Field(min_length=1, max_length=32, description="DonViXuLy")
    channel: Channel = Field(
        description="KenhThucHien: 1 in person, 2 online, 3 public postal service"
    )
    applicant: Applicant
    submitted_at: AwareDatetime | None = Field(
        default=None, description="NgayNopHoSo; defaults to now, never in the future"
    )


class DossierOut(BaseModel):
    code: str = Field(description="MaHoSo")
    status: int = Field(description="TrangThaiHoSo")
    procedure_code: str
    organ_code: str
    channel: int
    applicant: Applicant
    submitted_at: datetime

"""Events that cross a service boundary: the CloudEvents 1.0 envelope and each event's data.

The NATS subject of an event is its `type` (`lgsp.<service>.<event>`); `time` is the business
time of the fact (when the dossier was submitted, say), not when it was published.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SPEC_VERSION = "1.0"


class Envelope(BaseModel):
    """CloudEvents 1.0 JSON envelope; subclasses fix `type` and the shape of `data`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str] = ""

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    subject: str | None = None
    time: AwareDatetime
    datacontenttype: Literal["application/json"] = "application/json"
    data: Any

    @property
    def nats_subject(self) -> str:
        return self.type


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


EVENT_TYPES: dict[str, type[Envelope]] = {cls.event_type: cls for cls in (DossierSubmitted,)}


class UnknownEventType(ValueError):
    pass


def parse_event(raw: bytes | str) -> Envelope:
    """Validate a CloudEvent against the model of its `type`."""
    generic = Envelope.model_validate_json(raw)
    model = EVENT_TYPES.get(generic.type)
    if model is None:
        raise UnknownEventType(generic.type)
    return model.model_validate_json(raw)


def event_time(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("event time must carry an offset")
    return value

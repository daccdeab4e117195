"""The CloudEvents 1.0 envelope every event travels in.

The NATS subject of an event is its `type` (`lgsp.<service>.<event>`); `time` is the business
time of the fact (when the dossier was submitted, say), not when it was published.
"""

from __future__ import annotations

import uuid
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


class UnknownEventType(ValueError):
    pass

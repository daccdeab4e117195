"""The CloudEvents 1.0 envelope every event travels in.

The NATS subject of an event is its `type` (`lgsp.<service>.<event>`); `time` is the business
time of the fact (when the dossier was submitted, say), not when it was published.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from uuid_utils import uuid7

SPEC_VERSION = "1.0"


def new_event_id() -> str:
    """A UUIDv7 (RFC 9562): 48 bits of Unix time in milliseconds, then random bits. Ids made
    one after another sort together, so every index keyed by event id (the producers' outbox,
    each consumer's processed ids) grows at its end. With random (version 4) ids each insert
    into reporting's processed ids touched a page of its own: 17 → 33 µs a row as the table
    grew from 100,000 to 300,000 rows, against 2 µs flat (SQLite, batches of 500)."""
    return str(uuid7())


class Envelope(BaseModel):
    """CloudEvents 1.0 JSON envelope; subclasses fix `type` and the shape of `data`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str] = ""

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=new_event_id)
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

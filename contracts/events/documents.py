"""Events of the documents service (`lgsp.documents.*`)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.envelope import Envelope

OrganLevel = Literal["province", "province_organ", "district", "commune", "national"]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrganRegisteredData(_Data):
    """An organ entered the directory (the denominators of rows 5.1 and 5.3)."""

    code: str = Field(description="mã định danh (QCVN 102)")
    name: str
    level: OrganLevel
    parent_code: str | None
    registered_at: AwareDatetime


class OrganRegistered(Envelope):
    event_type: ClassVar[str] = "lgsp.documents.organ_registered"
    type: Literal["lgsp.documents.organ_registered"] = "lgsp.documents.organ_registered"
    data: OrganRegisteredData


class OrganConnectionChangedData(_Data):
    """An organ was connected to, or disconnected from, a system at a business time."""

    code: str
    level: OrganLevel
    system: Literal["qlvb", "motcua"] = Field(
        description="qlvb: document exchange (QLVB&ĐHCV), motcua: the one-stop system"
    )
    connected: bool
    at: AwareDatetime


class OrganConnectionChanged(Envelope):
    event_type: ClassVar[str] = "lgsp.documents.organ_connection_changed"
    type: Literal["lgsp.documents.organ_connection_changed"] = (
        "lgsp.documents.organ_connection_changed"
    )
    data: OrganConnectionChangedData


class DocumentSentData(_Data):
    """A document left its sender for one or more recipients (row 5.2)."""

    id: str
    from_organ: str
    sender_level: OrganLevel
    to_organs: list[str]
    document_type: str
    electronic: bool = Field(description="signed and sent online (fully electronic)")
    sent_at: AwareDatetime


class DocumentSent(Envelope):
    event_type: ClassVar[str] = "lgsp.documents.document_sent"
    type: Literal["lgsp.documents.document_sent"] = "lgsp.documents.document_sent"
    data: DocumentSentData


class RecipientStatusChangedData(_Data):
    """A recipient's exchange status changed (edXML status codes 01…16)."""

    id: str = Field(description="the document")
    organ_code: str = Field(description="the recipient")
    from_status: str | None
    to_status: str
    at: AwareDatetime


class RecipientStatusChanged(Envelope):
    event_type: ClassVar[str] = "lgsp.documents.recipient_status_changed"
    type: Literal["lgsp.documents.recipient_status_changed"] = (
        "lgsp.documents.recipient_status_changed"
    )
    data: RecipientStatusChangedData


EVENTS: tuple[type[Envelope], ...] = (
    OrganRegistered,
    OrganConnectionChanged,
    DocumentSent,
    RecipientStatusChanged,
)

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from lgsp_kit.fields import Instant, LocalTime

# mã định danh, QCVN 102:2016: V1V2V3.Z1Z2.Y1Y2.Mxx (e.g. 000.00.31.H03)
ORGAN_CODE_PATTERN = r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$"
OrganCode = Annotated[str, StringConstraints(pattern=ORGAN_CODE_PATTERN)]
OrganLevel = Literal["province", "province_organ", "district", "commune", "national", "external"]
System = Literal["qlvb", "motcua"]


class Connections(BaseModel):
    qlvb: bool = Field(description="kết nối liên thông văn bản (QLVB&ĐHCV)")
    motcua: bool = Field(description="kết nối hệ thống Một cửa điện tử")


class ConnectionTimes(BaseModel):
    qlvb: LocalTime | None = Field(description="business time of the last qlvb change")
    motcua: LocalTime | None = Field(description="business time of the last motcua change")


class OrganOut(BaseModel):
    code: str = Field(description="mã định danh (QCVN 102)")
    name: str
    level: OrganLevel = Field(
        description="province, province_organ, district or commune; national: an organ outside "
        "the province from the national directory (a ministry, the government office, another "
        "province's UBND); external: an organ outside both, known from an edXML package it sent"
    )
    parent_code: str | None = Field(description="mã định danh of the organ above")
    connections: Connections
    connections_changed_at: ConnectionTimes


class OrganPage(BaseModel):
    items: list[OrganOut]
    next_cursor: str | None


class ConnectionChange(BaseModel):
    """Connect an organ to, or disconnect it from, a system (kết nối / ngắt kết nối)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"system": "qlvb", "connected": True, "at": "2023-03-01T08:00:00+07:00"}]
        },
    )

    system: System = Field(description="qlvb: liên thông văn bản, motcua: Một cửa điện tử")
    connected: StrictBool
    at: Instant | None = Field(
        default=None, description="business time of the change; now when omitted"
    )


class ConnectionResult(BaseModel):
    organ: OrganOut
    changed: bool = Field(
        description="false when the organ was already in that state (nothing recorded)"
    )


class CertificateIn(BaseModel):
    """The certificate of an organ whose documents are signed in another system."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"certificate_pem": "-----BEGIN CERTIFICATE-----\nMIIE…\n-----END CERTIFICATE-----"}
            ]
        },
    )

    certificate_pem: str = Field(min_length=1, max_length=20_000)


class CertificateOut(BaseModel):
    organ_code: str
    certificate_pem: str = Field(description="X.509 chứng thư số, PEM")
    fingerprint_sha256: str
    managed_here: bool = Field(description="true when this service holds the private key")
    registered_at: LocalTime

"""API shapes of the consumer administration."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from lgsp_kit.fields import LocalTime, Text, text_pattern

Tier = Literal["Bronze", "Silver", "Gold", "Unlimited"]
OrganCode = Annotated[
    str, StringConstraints(pattern=r"^[0-9A-Z]{2,3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}$")
]
ApiContext = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
Scope = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,63}:[a-z]{1,16}$")]


class ConsumerCreate(BaseModel):
    """A new consumer (ứng dụng khai thác): its organ, subscriptions, scopes and tier."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Cổng Dịch vụ công tỉnh",
                    "organ_code": "000.00.00.H03",
                    "apis": ["dossier", "documents"],
                    "tier": "Gold",
                }
            ]
        },
    )

    name: Annotated[Text, Field(max_length=200, description="tên ứng dụng"), *text_pattern(r"\S")]
    organ_code: OrganCode = Field(description="mã định danh of the consumer's organ (QCVN 102)")
    apis: list[ApiContext] = Field(
        min_length=0, max_length=20, description="subscribed API contexts (đăng ký sử dụng API)"
    )
    scopes: list[Scope] | None = Field(
        default=None,
        max_length=50,
        description=(
            "granted scopes; read and write of every subscribed API when omitted; the finer "
            "dossier:catalogue, reporting:declare and documents:axis only when named"
        ),
    )
    tier: Tier = Field(default="Bronze", description="throttling tier (gói giới hạn truy cập)")


class ConsumerOut(BaseModel):
    """A registered consumer; its secret is never shown again."""

    client_id: str
    name: str
    organ_code: str
    apis: list[str]
    scopes: list[str]
    tier: str
    enabled: bool
    created_at: LocalTime

    @classmethod
    def from_row(cls, row: Any) -> Self:
        return cls(
            client_id=row.client_id,
            name=row.name,
            organ_code=row.organ_code,
            apis=row.apis.split(),
            scopes=row.scopes.split(),
            tier=row.tier,
            enabled=row.enabled,
            created_at=row.created_at,
        )


class ConsumerCreated(ConsumerOut):
    client_secret: str = Field(description="shown once: store it now")


class NewSecret(BaseModel):
    client_id: str
    client_secret: str = Field(description="shown once; the previous secret no longer works")


class ConsumerPage(BaseModel):
    items: list[ConsumerOut]
    next_cursor: str | None


class SigningKeyOut(BaseModel):
    kid: str
    created_at: LocalTime
    signing: bool = Field(description="this key signs new tokens")


class RetiredSigningKey(SigningKeyOut):
    """A key taken out of the JWKS: tokens it signed no longer verify."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kid": "3f9c2a7be1d04c58",
                    "created_at": "2026-08-01T09:00:00+07:00",
                    "signing": False,
                    "retired": True,
                }
            ]
        }
    )

    retired: Literal[True] = Field(description="no longer published or accepted")


class SigningKeys(BaseModel):
    """Token signing keys: the newest signs, all stay published in the JWKS."""

    items: list[SigningKeyOut]

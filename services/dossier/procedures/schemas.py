"""API shapes of the procedures catalogue (danh mục TTHC)."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    model_validator,
)

from contracts.reference import ProcessingUnit
from lgsp_kit.fields import INTEGRAL, NON_BLANK, Instant, LocalTime, Text, text_pattern

ProcedureLevel = Literal["province", "district", "commune"]
OnlineMode = Literal["full", "partial", "none"]
PROCEDURE_CODE_PATTERN = r"^[0-9]\.[0-9]{6}(\.[0-9A-Za-z]{1,8})*$"


class ProcedureIn(BaseModel):
    """A procedure's whole state (thủ tục hành chính), as created or replaced."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            # The two rules of `_consistent`, stated in the contract (JSON Schema if/then).
            "allOf": [
                {
                    "if": {
                        "properties": {"online_mode": {"const": "full"}},
                        "required": ["online_mode"],
                    },
                    "then": {"properties": {"full_online_eligible": {"const": True}}},
                },
                {
                    "if": {
                        "properties": {"online_payment": {"const": True}},
                        "required": ["online_payment"],
                    },
                    "then": {"properties": {"fee_bearing": {"const": True}}},
                },
            ],
            "examples": [
                {
                    "name": "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ",
                    "field": "Xây dựng",
                    "level": "district",
                    "online_mode": "partial",
                    "full_online_eligible": False,
                    "fee_bearing": True,
                    "online_payment": True,
                    "processing_days": 15,
                    "processing_unit": "working_day",
                }
            ],
        },
    )

    name: Annotated[Text, *text_pattern(NON_BLANK)] = Field(
        min_length=1, max_length=500, description="TenTTHC"
    )
    field: Annotated[Text, *text_pattern(NON_BLANK)] = Field(
        min_length=1, max_length=200, description="lĩnh vực (MaLinhVuc)"
    )
    level: ProcedureLevel = Field(description="cấp thực hiện: tỉnh, huyện, xã")
    online_mode: OnlineMode = Field(
        description="full: dịch vụ công trực tuyến toàn trình, partial: một phần, none: none"
    )
    full_online_eligible: StrictBool = Field(description="đủ điều kiện cung cấp toàn trình")
    fee_bearing: StrictBool = Field(description="có thu phí, lệ phí")
    online_payment: StrictBool = Field(description="thanh toán trực tuyến integrated")
    processing_days: Annotated[StrictInt, Field(ge=0, le=365), INTEGRAL] = Field(
        description="thời hạn giải quyết (the catalogue's THOIGIANGIAIQUYET), counted in "
        "`processing_unit`: working days by default, else calendar days, hours or months (the "
        "name is kept from when every time limit was in working days)"
    )
    processing_unit: ProcessingUnit = Field(
        default="working_day",
        description="the unit of `processing_days`, the catalogue's DonViTinh: `working_day` "
        "(Ngày làm việc: Monday to Friday minus public holidays and swapped days, plus "
        "weekend days worked), `day` (Ngày: calendar days; a last day off moves to the next "
        "working day), `hour` (Giờ: clock hours), `month` (Tháng: the same day n months "
        "later; a last day off moves to the next working day)",
    )
    at: Instant | None = Field(
        default=None,
        description="business time of the change (when the decision publishing it took "
        "effect); defaults to now, never in the future nor before the previous change",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.online_mode == "full" and not self.full_online_eligible:
            raise ValueError("a full online procedure must be eligible for full online")
        if self.online_payment and not self.fee_bearing:
            raise ValueError("online payment needs a fee-bearing procedure")
        return self


class ProcedureOut(BaseModel):
    code: str = Field(description="MaTTHC")
    name: str
    field: str
    level: ProcedureLevel
    online_mode: OnlineMode
    full_online_eligible: bool
    fee_bearing: bool
    online_payment: bool
    processing_days: int = Field(description="thời hạn giải quyết, in `processing_unit`s")
    processing_unit: ProcessingUnit = Field(description="the unit of `processing_days`")
    updated_at: LocalTime


class ProcedurePage(BaseModel):
    items: list[ProcedureOut]
    next_cursor: str | None

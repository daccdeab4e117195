"""The NGSP shared-data services (NGSP.md §2–3), on synthetic, deterministic records.

`POST /apiCSDLDanCu/ChiaSeThongTinCongDan` (the population database as a provincial LGSP
re-exposes it): body `{HoVaTen, SoDinhDanh, SoCMND, NgayThangNam, Nam, MaTichHop, MaDVC,
MaCanBo, MaYeuCau}`, answer `{error_code, message}` where `message` is the SOAP envelope
`Envelope/Body/CongdanCollection/CongDan` (ns `http://www.mic.gov.vn/dancu/1.0`) as a string.
Error codes (the simulator's; NGSP.md gives none): "-1" invalid request, "-2" no such citizen,
"-3" the name, old ID number or birth date given does not match the record.

`GET /apiCSDLDKDN/1.0/chiTietDoanhNghiep?msdn=` (business registration): `{Data: {MainInformation,
Representatives}, DataCount, Status, Message}`; `Status` 0 and `DataCount` 0 when there is no
such enterprise or `msdn` is malformed.

Both need the national gateway's Bearer token; both answer HTTP 200 with their own error shape.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Annotated, Any
from xml.sax.saxutils import escape

from fastapi import Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, StringConstraints

from lgsp_kit.responses import problem_responses
from lgsp_kit.sessions import APIRouter
from services.national.auth import NEEDS_TOKEN, Caller
from services.national.dependencies import SettingsDep
from services.national.dvcqg.router import PortalRoute, portal_message
from services.national.faults import checked, dvcqg_error
from services.national.models import Fault
from services.national.ngsp import synthetic

NS_DANCU = "http://www.mic.gov.vn/dancu/1.0"
NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"

Code = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class CongDanQuery(BaseModel):
    """The lookup as the Thanh Hóa one-stop system sends it (samples/08): every value a string."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {
                    "HoVaTen": "",
                    "SoDinhDanh": "024090001234",
                    "SoCMND": "",
                    "NgayThangNam": "",
                    "Nam": "",
                    "MaTichHop": "037",
                    "MaDVC": "VPCP",
                    "MaCanBo": "VPUB_BACGIANG",
                    "MaYeuCau": "BGG_DVC_0001",
                }
            ]
        },
    )

    HoVaTen: Annotated[str, StringConstraints(max_length=200)] = ""
    SoDinhDanh: Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
    SoCMND: Annotated[str, StringConstraints(pattern=r"^$|^[0-9]{9}$")] = ""
    NgayThangNam: Annotated[str, StringConstraints(pattern=r"^$|^[0-9]{8}$")] = ""
    Nam: Annotated[str, StringConstraints(pattern=r"^$|^[0-9]{4}$")] = ""
    MaTichHop: Code
    MaDVC: Code
    MaCanBo: Code
    MaYeuCau: Code


class CongDanAnswer(BaseModel):
    error_code: str
    message: str


def _fold(text: str) -> str:
    """Case, spacing and the form of the diacritics do not matter when comparing names."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _el(name: str, value: str) -> str:
    return f"<{name}>{escape(value)}</{name}>"


def _address(name: str, a: synthetic.Address, province_name: str) -> str:
    return (
        f"<{name}>"
        + _el("MaTinhThanh", a.province)
        + _el("MaQuanHuyen", a.district)
        + _el("MaPhuongXa", a.ward)
        + _el("ChiTiet", f"{a.detail}, {province_name}")
        + _el("QuocGia", "VN")
        + f"</{name}>"
    )


def _relative(name: str, r: synthetic.Relative) -> str:
    return (
        f"<{name}>"
        + _el("HoVaTen", r.name)
        + _el("QuocTich", "VN")
        + _el("SoDinhDanh", r.number)
        + _el("SoCMND", "")
        + f"</{name}>"
    )


def soap_of(c: synthetic.Citizen) -> str:
    """The SOAP envelope of one citizen, as the population database answers it."""
    born = synthetic.PROVINCES[c.number[:3]]
    now = synthetic.PROVINCES.get("0" + c.resident.province, born)
    body = (
        "<CongDan>"
        + _el("SoDinhDanh", c.number)
        + _el("SoCMND", c.old_number)
        + "<HoVaTen>"
        + _el("Ho", c.family)
        + _el("ChuDem", c.middle)
        + _el("Ten", c.given)
        + "</HoVaTen>"
        + _el("GioiTinh", c.sex)
        + _el("DanToc", "01")
        + _el("TonGiao", "00")
        + _el("TinhTrangHonNhan", "1")
        + _el("NhomMau", "")
        + "<NgayThangNamSinh>"
        + _el("Nam", f"{c.born.year:04d}")
        + _el("NgayThangNam", c.born.strftime("%Y%m%d"))
        + "</NgayThangNamSinh>"
        + _address("NoiDangKyKhaiSinh", c.home, born)
        + _el("QuocTich", "VN")
        + _address("QueQuan", c.home, born)
        + _address("ThuongTru", c.resident, now)
        + _address("NoiOHienTai", c.resident, now)
        + _relative("Cha", c.father)
        + _relative("Me", c.mother)
        + "<ChuHo>"
        + _el("QuanHe", "Chủ hộ")
        + _el("SoDinhDanh", c.number)
        + _el("SoCMND", c.old_number)
        + _el("HoVaTen", c.full_name)
        + "</ChuHo>"
        + _el("SoSoHoKhau", c.household_book)
        + "</CongDan>"
    )
    return (
        f'<soap:Envelope xmlns:soap="{NS_SOAP}"><soap:Body>'
        f'<CongdanCollection xmlns="{NS_DANCU}">{body}</CongdanCollection>'
        "</soap:Body></soap:Envelope>"
    )


dancu = APIRouter(prefix="/apiCSDLDanCu", tags=["ngsp"], route_class=PortalRoute)
ANSWERS: dict[int | str, dict[str, Any]] = {**NEEDS_TOKEN, **problem_responses(503)}


@dancu.post(
    "/ChiaSeThongTinCongDan",
    response_model=CongDanAnswer,
    summary="Population database: a citizen's record (synthetic)",
    responses=ANSWERS,
    dependencies=[Depends(checked("ngsp", dvcqg_error))],
)
def ChiaSeThongTinCongDan(query: CongDanQuery, consumer: Caller) -> CongDanAnswer:  # noqa: N802
    """The citizen of `SoDinhDanh` as a SOAP string in `message` (error_code "0"); the name,
    old ID number, birth date and year, when given, must match the record ("-3")."""
    found = synthetic.citizen(query.SoDinhDanh, today=date.today())
    if found is None:
        return CongDanAnswer(
            error_code="-2", message=f"Không tìm thấy công dân có số định danh {query.SoDinhDanh}"
        )
    wrong = [
        name
        for name, given, actual in (
            ("HoVaTen", _fold(query.HoVaTen), _fold(found.full_name)),
            ("SoCMND", query.SoCMND, found.old_number),
            ("NgayThangNam", query.NgayThangNam, found.born.strftime("%Y%m%d")),
            ("Nam", query.Nam, f"{found.born.year:04d}"),
        )
        if given and given != actual
    ]
    if wrong:
        return CongDanAnswer(
            error_code="-3", message=f"Thông tin không khớp với CSDL dân cư: {', '.join(wrong)}"
        )
    return CongDanAnswer(error_code="0", message=soap_of(found))


def business_invalid(errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Data": {}, "DataCount": 0, "Status": 0, "Message": portal_message(errors)}


class BusinessRoute(PortalRoute):
    invalid = staticmethod(business_invalid)


def business_error(fault: Fault) -> JSONResponse:
    return JSONResponse(
        {"Data": {}, "DataCount": 0, "Status": 0, "Message": f"{fault.error_code}: {fault.message}"}
    )


dkdn = APIRouter(prefix="/apiCSDLDKDN", tags=["ngsp"], route_class=BusinessRoute)


class BusinessAnswer(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "Data": {
                        "MainInformation": {"ENTERPRISE_GDT_CODE": "0100109106", "NAME": "…"},
                        "Representatives": {"FULL_NAME": "…"},
                    },
                    "DataCount": 1,
                    "Status": 1,
                    "Message": "Thành công",
                }
            ]
        }
    )

    Data: dict[str, Any]
    DataCount: int
    Status: int
    Message: str


def _main_information(e: synthetic.Enterprise, settings_province: str) -> dict[str, Any]:
    return {
        "ENTERPRISE_ID": e.code.replace("-", ""),
        "ENTERPRISE_GDT_CODE": e.code,
        "NAME": e.name,
        "SHORT_NAME": e.short_name,
        "FOUNDING_DATE": e.founded.strftime("%d/%m/%Y"),
        "ENTERPRISE_STATUS": "Đang hoạt động",
        "LEGAL_NAMES": e.name,
        "CAPITAL_AMOUNT": e.capital,
        "HOAdress": {
            "CityID": e.address.province,
            "DistrictID": e.address.district,
            "WardID": e.address.ward,
            "AddressFullText": f"{e.address.detail}, tỉnh {settings_province}",
        },
        "BusinessActivity": [
            {"CODE": code, "NAME": name, "IS_MAIN": main} for code, name, main in e.activities
        ],
        "Member": [],
    }


@dkdn.get(
    "/1.0/chiTietDoanhNghiep",
    response_model=BusinessAnswer,
    summary="Business registration: an enterprise's details (synthetic)",
    responses=ANSWERS,
    dependencies=[Depends(checked("ngsp", business_error))],
)
def chiTietDoanhNghiep(  # noqa: N802
    consumer: Caller,
    settings: SettingsDep,
    msdn: Annotated[str, Query(min_length=1, max_length=20, description="mã số doanh nghiệp")],
) -> BusinessAnswer:
    """`Status` 1 with the enterprise, or 0 (`DataCount` 0) when the register has none."""
    found = synthetic.enterprise(msdn, today=datetime.now().date())
    if found is None:
        return BusinessAnswer(
            Data={}, DataCount=0, Status=0, Message=f"Không tìm thấy doanh nghiệp có mã số {msdn}"
        )
    return BusinessAnswer(
        Data={
            "MainInformation": _main_information(found, "Bắc Giang"),
            "Representatives": {"FULL_NAME": found.representative, "POSITION": "Giám đốc"},
        },
        DataCount=1,
        Status=1,
        Message="Thành công",
    )

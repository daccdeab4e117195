"""The DVCQG dossier-sync objects with their real field names (../shared/national/DVCQG.md §2).

Every scalar is a JSON string (an integer, a boolean or a number where a string is due is
refused), times are `yyyyMMddHHmmss` (Asia/Ho_Chi_Minh) and a missing time is `""`; the code
lists are those of DVCQG.md §3. A field the portal does not know is refused: a misspelt field
would otherwise vanish silently. Required fields are those every known caller sends (OpenCPS,
the Thanh Hóa and Hà Giang systems); a field only some of them send is optional.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic.json_schema import JsonDict

TIME_FORMAT = "%Y%m%d%H%M%S"

# TrangThaiHoSo / TrangThai (DVCQG.md §3).
TRANG_THAI = {
    "1": "Mới đăng ký",
    "2": "Được tiếp nhận",
    "3": "Không được tiếp nhận",
    "4": "Đang xử lý",
    "5": "Yêu cầu bổ sung giấy tờ",
    "6": "Yêu cầu thực hiện nghĩa vụ tài chính",
    "7": "Công dân yêu cầu rút hồ sơ",
    "8": "Dừng xử lý",
    "9": "Đã xử lý xong",
    "10": "Đã trả kết quả",
}
KENH_THUC_HIEN = {"1": "Trực tiếp", "2": "Trực tuyến", "3": "Bưu chính công ích"}
LOAI_DOI_TUONG = {
    "1": "Công dân",
    "2": "Doanh nghiệp",
    "3": "Cơ quan nhà nước",
    "4": "Tổ chức/Khác",
}
HINH_THUC = {"0": "Trực tiếp", "1": "Qua bưu chính"}


def _parsed(value: str) -> datetime:
    """`strptime(value, TIME_FORMAT)` without its regular expression where the two agree: 14
    ASCII digits leave `strptime` no choice of field widths, so only the calendar decides
    (it costs most of a dossier's validation otherwise). Anything else goes to `strptime`,
    which also takes a shorter time with one-digit fields."""
    if len(value) == 14 and value.isascii() and value.isdigit():
        return datetime(
            int(value[:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[8:10]),
            int(value[10:12]),
            int(value[12:]),
        )
    return datetime.strptime(value, TIME_FORMAT)


def _time(value: str) -> str:
    try:
        _parsed(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a yyyyMMddHHmmss time") from exc
    return value


def _optional_time(value: str | None) -> str | None:
    return value if value in (None, "") else _time(value)


def _one_of(codes: dict[str, str]) -> AfterValidator:
    def check(value: str | None) -> str | None:
        if value is not None and value not in codes:
            raise ValueError(f"{value!r} is not one of {', '.join(codes)}")
        return value

    return AfterValidator(check)


Text = Annotated[str, StringConstraints(max_length=4000)]
Required = Annotated[str, StringConstraints(min_length=1, max_length=1000, strip_whitespace=False)]
Time = Annotated[str, StringConstraints(min_length=14, max_length=14), AfterValidator(_time)]
OptionalTime = Annotated[str | None, Field(max_length=14), AfterValidator(_optional_time)]
TrangThaiCode = Annotated[str, _one_of(TRANG_THAI)]
MaTTHCCode = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]\.[0-9]{6}(\.[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2})?$"),
]
MaHoSoCode = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^\S+$")]
Flag = Annotated[str | None, _one_of({"0": "Không", "1": "Có"})]
EmailText = Annotated[
    str | None, StringConstraints(max_length=200, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")
]

_STRICT = ConfigDict(extra="forbid", strict=True, populate_by_name=False)


class TepNop(BaseModel):
    """A submitted file (TaiLieuNop[]), v2 digitisation flags included."""

    model_config = _STRICT

    TepDinhKemId: Text
    TenTepDinhKem: Text
    IsDeleted: Annotated[str, _one_of({"True": "", "False": "", "1": "", "0": ""})] | bool
    MaThanhPhanHoSo: Text
    DuongDanTaiTepTin: Text
    DuocSoHoa: Flag = None
    DuocTaiSuDung: Annotated[str | None, _one_of({"0": "", "1": "", "2": ""})] = None
    DuocLayTuKhoDMQG: Flag = None
    MaKetQuaThayThe: Text | None = None


class LePhi(BaseModel):
    model_config = _STRICT

    TenPhiLePhi: Text
    MaPhiLePhi: Text
    HinhThucThu: Text
    Gia: Annotated[str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)?$")]
    LoaiPhiLePhi: Text


class TepDinhKemKhac(BaseModel):
    """Typed as the Thanh Hóa DTO has them: SoLuong and LoaiGiayTo are integers."""

    model_config = _STRICT

    TenGiayTo: Text
    SoLuong: int = Field(ge=0)
    LoaiGiayTo: int


class GiayToKetQua(BaseModel):
    model_config = _STRICT

    TenGiayTo: Text
    MaThanhPhanHoSo: Text
    GiayToId: Text
    DuongDanTepTinKetQua: Text
    MaGiayToKetQua: Text | None = None


class DinhDanh(BaseModel):
    """LoaiDinhDanh 1 goes with a 12-digit number, 2 with a 9-digit one (DVCQG.md §2)."""

    model_config = _STRICT

    LoaiDinhDanh: Annotated[str, _one_of({"1": "12 chữ số", "2": "9 chữ số"})]
    SoDinhDanh: Annotated[str, StringConstraints(pattern=r"^[0-9]{9}([0-9]{3})?$")]

    @model_validator(mode="after")
    def _length_of_kind(self) -> DinhDanh:
        if len(self.SoDinhDanh) != (12 if self.LoaiDinhDanh == "1" else 9):
            raise ValueError("SoDinhDanh must have 12 digits for LoaiDinhDanh 1, 9 for 2")
        return self


class KetNoiCSDL(BaseModel):
    model_config = _STRICT

    MaCSDL: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,4}$")]


# The examples of the records (each body is an array of them).
HOSO_EXAMPLE: JsonDict = {
    "MaHoSo": "000.00.31.H03-250107-0001",
    "MaTTHC": "1.001612.000.00.00.H03",
    "TenTTHC": "Đăng ký thành lập hộ kinh doanh",
    "MaLinhVuc": "G12-DKKD",
    "TenLinhVuc": "Thành lập và hoạt động của hộ kinh doanh",
    "KenhThucHien": "2",
    "ChuHoSo": "Nguyễn Văn A",
    "LoaiDoiTuong": "1",
    "TrichYeuHoSo": "Đăng ký thành lập hộ kinh doanh",
    "NgayTiepNhan": "20250107083000",
    "NgayHenTra": "20250110170000",
    "TrangThaiHoSo": "2",
    "HinhThuc": "0",
    "DonViXuLy": "UBND Thành phố Bắc Giang",
}
TIENDO_EXAMPLE: JsonDict = {
    "MaHoSo": "000.00.31.H03-250107-0001",
    "NguoiXuLy": "Cán bộ một cửa",
    "ChucDanh": "",
    "ThoiDiemXuLy": "20250107083000",
    "PhongBanXuLy": "",
    "NoiDungXuLy": "Tiếp nhận hồ sơ",
    "TrangThai": "2",
    "NgayBatDau": "",
    "NgayKetThucTheoQuyDinh": "",
}


class HoSo(BaseModel):
    """One dossier of `DongBoHoSoMC` (the body is a JSON array of them)."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [HOSO_EXAMPLE]},
    )

    MaHoSo: MaHoSoCode
    MaTTHC: MaTTHCCode
    TenTTHC: Required
    MaLinhVuc: Required
    TenLinhVuc: Required
    SoBienNhan: Text | None = None
    KenhThucHien: Annotated[str | None, _one_of(KENH_THUC_HIEN)] = None
    SoGiayToChuHoSo: Text | None = None
    ChuHoSo: Text | None = None
    LoaiDoiTuong: Annotated[str, _one_of(LOAI_DOI_TUONG)]
    MaDoiTuong: Text | None = None
    ThongTinKhac: Text | None = None
    Email: EmailText = None
    Fax: Text | None = None
    SoDienThoai: Annotated[str | None, StringConstraints(max_length=50)] = None
    # The Thanh Hóa system cuts it at 1000 characters: the portal's limit.
    TrichYeuHoSo: Annotated[str | None, StringConstraints(max_length=1000)] = None
    NgayTiepNhan: Time
    NgayHenTra: OptionalTime = None
    TrangThaiHoSo: TrangThaiCode
    NgayTra: OptionalTime = None
    ThongTinTra: Text | None = None
    HinhThuc: Annotated[str, _one_of(HINH_THUC)]
    NgayKetThucXuLy: OptionalTime = None
    DonViXuLy: Required
    GhiChu: Text | None = None
    TaiLieuNop: list[TepNop] = Field(default_factory=list, max_length=200)
    DanhSachLePhi: list[LePhi] = Field(default_factory=list, max_length=100)
    DanhSachTepDinhKemKhac: list[TepDinhKemKhac] = Field(default_factory=list, max_length=200)
    # Objects of the Thanh Hóa DTO (ids, dates and flags typed as C# has them): kept as received.
    DanhSachHoSoBoSung: list[dict[str, Any]] = Field(default_factory=list, max_length=100)
    DanhSachGiayToKetQua: list[GiayToKetQua] = Field(default_factory=list, max_length=200)
    NoiNopHoSo: Annotated[str | None, StringConstraints(pattern=r"^[0-9]{1,2}$")] = None
    HoSoCoThanhPhanSoHoa: Flag = None
    TaiKhoanDuocXacThucVoiVNeID: Flag = None
    DuocThanhToanTrucTuyen: Annotated[str | None, _one_of({"0": "", "1": "", "2": ""})] = None
    NgayTuChoi: OptionalTime = None
    DinhDanhCHS: list[DinhDanh] = Field(default_factory=list, max_length=10)
    NgayNopHoSo: OptionalTime = None
    DSKetNoiCSDL: list[KetNoiCSDL] = Field(default_factory=list, max_length=20)


class TienDo(BaseModel):
    """One progress row of `CapNhatTienDoHoSoMC` (the body is a JSON array of them)."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [TIENDO_EXAMPLE]},
    )

    MaHoSo: MaHoSoCode
    # The Thanh Hóa system cuts it at 50 characters: the portal's limit.
    NguoiXuLy: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    ChucDanh: Text | None = None
    ThoiDiemXuLy: Time
    PhongBanXuLy: Text | None = None
    NoiDungXuLy: Required
    TrangThai: TrangThaiCode
    NgayBatDau: OptionalTime = None
    NgayKetThucTheoQuyDinh: OptionalTime = None


class TraCuuHoSo(BaseModel):
    """`mahoso` as the 2020 OpenCPS sends it, `MaHoSo` as the 2019 one did: one of them."""

    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [{"mahoso": "X-250107-0001"}]}
    )

    mahoso: MaHoSoCode | None = None
    MaHoSo: MaHoSoCode | None = None

    @model_validator(mode="after")
    def _one_key(self) -> TraCuuHoSo:
        if (self.mahoso is None) == (self.MaHoSo is None):
            raise ValueError("give exactly one of mahoso and MaHoSo")
        return self

    @property
    def code(self) -> str:
        code = self.mahoso or self.MaHoSo
        assert code is not None
        return code


class Answer(BaseModel):
    """The portal's answer: `error_code` "0" when done, else the reason in `message`."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"error_code": "0", "message": "Đồng bộ hồ sơ thành công"}]}
    )

    error_code: str = Field(description='"0" done; see services/national/README.md')
    message: str


class LookupAnswer(Answer):
    """`TraCuuHoSo`: `result` holds the dossier as DVCQG has it, empty when it has none."""

    # Absent from a refusal (`error_code` "-1": `{error_code, message}` only).
    result: list[dict[str, Any]] = Field(default_factory=list)


IsUpdating = Literal["True", "False"]

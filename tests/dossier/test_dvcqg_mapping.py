"""The dossier → DVCQG mapping against ../shared/national: DVCQG.md's field names, string
values, yyyyMMddHHmmss times and code lists, as the national simulator's strict models check
them, and the key set of the samples rebuilt from the real callers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.dossier.national.mapping import Facts, Step, progress, record
from services.national.dvcqg.schemas import HoSo, TienDo

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "national" / "samples"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"no samples at {SAMPLES}")
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CODE = "000.00.31.H03-250107-000001"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    # UTC: 01:30 UTC is 08:30 in Hà Nội.
    return datetime(2025, 1, day, hour, minute, tzinfo=UTC)


def facts(**changes: Any) -> Facts:
    base: dict[str, Any] = {
        "code": CODE,
        "procedure_code": "1.001612.000.00.00.H03",
        "procedure_name": "Đăng ký thành lập hộ kinh doanh",
        "procedure_field": "Đăng ký kinh doanh",
        "organ_name": "UBND Thành phố Bắc Giang",
        "channel": 2,
        "applicant_type": 1,
        "applicant_name": "Nguyễn Văn A",
        "applicant_identifier": "024090001234",
        "fees": [{"name": "Lệ phí đăng ký", "amount": 100000}],
        "status": 2,
        "submitted_at": at(7, 1),
        "received_at": at(7, 1, 30),
        "due_at": at(10, 10),
        "resolved_at": None,
        "returned_at": None,
    }
    base.update(changes)
    return Facts(**base)


SUBMITTED = Step(1, None, 1, at(7, 1), "Nguyễn Văn A")
RECEIVED = Step(2, 1, 2, at(7, 1, 30), "Cán bộ một cửa")


def test_a_received_dossier_maps_to_a_valid_record_with_string_values_and_local_times() -> None:
    out = record(facts(), [SUBMITTED, RECEIVED], TZ)
    assert out is not None
    HoSo.model_validate(out)  # the portal's strict model: names, strings, formats, code lists
    assert out["MaHoSo"] == CODE
    assert out["TrangThaiHoSo"] == "2"
    assert out["NgayTiepNhan"] == "20250107083000"  # 01:30 UTC in Asia/Ho_Chi_Minh
    assert out["NgayNopHoSo"] == "20250107080000"
    assert out["NgayHenTra"] == "20250110170000"
    assert (out["NgayKetThucXuLy"], out["NgayTra"], out["NgayTuChoi"]) == ("", "", "")
    assert out["KenhThucHien"] == "2" and out["LoaiDoiTuong"] == "1"
    assert out["DanhSachLePhi"] == [
        {
            "TenPhiLePhi": "Lệ phí đăng ký",
            "MaPhiLePhi": "1",
            "HinhThucThu": "1",
            "Gia": "100000",
            "LoaiPhiLePhi": "1",
        }
    ]
    assert out["DinhDanhCHS"] == [{"LoaiDinhDanh": "1", "SoDinhDanh": "024090001234"}]
    assert out["DuocThanhToanTrucTuyen"] == "0"

    def strings(value: Any) -> bool:
        if isinstance(value, dict):
            return all(strings(v) for v in value.values())
        if isinstance(value, list):
            return all(strings(v) for v in value)
        return isinstance(value, str)

    assert strings(out)


def test_nothing_goes_before_the_reception_decision() -> None:
    assert record(facts(status=1, received_at=None, due_at=None), [SUBMITTED], TZ) is None
    withdrawn = [SUBMITTED, Step(2, 1, 7, at(7, 2), "Nguyễn Văn A")]
    assert record(facts(status=7, received_at=None, due_at=None), withdrawn, TZ) is None


def test_a_refused_dossier_is_received_and_refused_at_the_refusal() -> None:
    refused = Step(2, 1, 3, at(7, 3), "Cán bộ một cửa", "Thiếu giấy tờ")
    out = record(facts(status=3, received_at=None, due_at=None), [SUBMITTED, refused], TZ)
    assert out is not None
    HoSo.model_validate(out)
    assert (out["TrangThaiHoSo"], out["NgayTiepNhan"], out["NgayTuChoi"]) == (
        "3",
        "20250107100000",
        "20250107100000",
    )
    assert out["NgayHenTra"] == ""


def test_the_end_of_handling_and_the_return() -> None:
    resolved = Step(3, 2, 9, at(9, 2), "Chuyên viên")
    returned = Step(4, 9, 10, at(9, 4), "Cán bộ một cửa")
    out = record(
        facts(status=10, resolved_at=at(9, 2), returned_at=at(9, 4)),
        [SUBMITTED, RECEIVED, resolved, returned],
        TZ,
    )
    assert out is not None
    HoSo.model_validate(out)
    assert (out["NgayKetThucXuLy"], out["NgayTra"]) == ("20250109090000", "20250109110000")
    stopped = Step(3, 2, 8, at(8, 2), "Lãnh đạo")
    out = record(facts(status=8), [SUBMITTED, RECEIVED, stopped], TZ)
    assert out is not None and out["NgayKetThucXuLy"] == "20250108090000"


@pytest.mark.parametrize(
    ("payments", "expected"), [((), "0"), ((None,), "1"), ((2,), "2"), ((1, 2), "1")]
)
def test_online_payment(payments: tuple[int | None, ...], expected: str) -> None:
    out = record(facts(online_payments=payments), [SUBMITTED, RECEIVED], TZ)
    assert out is not None and out["DuocThanhToanTrucTuyen"] == expected


@pytest.mark.parametrize(
    ("kind", "identifier", "expected"),
    [
        (1, "024090001", [{"LoaiDinhDanh": "2", "SoDinhDanh": "024090001"}]),
        (1, "CMND-12", []),
        (2, "0101234567", []),
    ],
)
def test_identities(kind: int, identifier: str, expected: list[dict[str, str]]) -> None:
    out = record(facts(applicant_type=kind, applicant_identifier=identifier), [RECEIVED], TZ)
    assert out is not None
    HoSo.model_validate(out)
    assert out["DinhDanhCHS"] == expected


def test_progress_rows_are_valid_with_a_long_actor_cut_as_thanh_hoa_does() -> None:
    long_actor = "Phòng Tài nguyên và Môi trường thành phố Bắc Giang, tổ một cửa"
    steps = [SUBMITTED, RECEIVED, Step(3, 2, 4, at(8, 1), long_actor, "Chuyển phòng chuyên môn")]
    rows = progress(CODE, steps, TZ)
    for row in rows:
        TienDo.model_validate(row)
    assert [(r["TrangThai"], r["NoiDungXuLy"], r["ThoiDiemXuLy"]) for r in rows] == [
        ("1", "Mới đăng ký", "20250107080000"),
        ("2", "Được tiếp nhận", "20250107083000"),
        ("4", "Chuyển phòng chuyên môn", "20250108080000"),
    ]
    assert len(rows[2]["NguoiXuLy"]) == 49 and rows[2]["NguoiXuLy"].endswith("...")


@needs_samples
def test_the_keys_are_those_of_the_real_callers() -> None:
    """Every key the mapping writes is one the Thanh Hóa system sends (sample 05, the newest
    field set), and each key every known caller sends (samples 02, 05 and 07) is written."""

    def keys(name: str) -> set[str]:
        body = json.loads((SAMPLES / name).read_text())["request_body"]
        first = body["data"][0] if isinstance(body, dict) else body[0]
        return set(first)

    out = record(facts(), [SUBMITTED, RECEIVED], TZ)
    assert out is not None
    newest = keys("05_thanhhoa_td_HoSo_ThemMoi_CapNhat.json")
    assert set(out) <= newest
    everyone = (
        newest & keys("02_opencps_DongBoHoSoMC.json") & keys("07_hagiang_lgsp_DongBoHoSoMC.json")
    )
    # Files and results: the platform keeps no documents of a dossier; MaDoiTuong is the
    # applicant's DVCQG account (TechID), which the platform does not know.
    missing = {"TaiLieuNop", "DanhSachGiayToKetQua", "SoBienNhan", "MaDoiTuong"}
    assert everyone - set(out) <= missing
    row_keys = set(
        json.loads((SAMPLES / "06_thanhhoa_td_TienTrinh.json").read_text())["request_body"][0]
    )
    assert set(progress(CODE, [RECEIVED], TZ)[0]) == row_keys

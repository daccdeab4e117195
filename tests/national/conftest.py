"""Fixtures of the national simulator's tests: the app on a real database, a national token,
and the request bodies of ../shared/national/samples with their placeholders filled in."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.national.main import create_app
from services.national.settings import (
    DEV_ADMIN_SECRET,
    DEV_CONSUMER_KEY,
    DEV_CONSUMER_SECRET,
    Settings,
)
from tests.conftest import serve

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "national" / "samples"
needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"the national samples are not at {SAMPLES}"
)
ADMIN = {"Authorization": f"Bearer {DEV_ADMIN_SECRET}"}

# A valid value for each field whose sample value is a placeholder (`<...>`): only the values
# change, never the keys, nor the literals the samples hold.
TIME = "20250107083000"
FILL: dict[str, str] = {
    "MaHoSo": "000.00.31.H03-250107-0001",
    "MaTTHC": "1.001612.000.00.00.H03",
    "Email": "chuhoso@example.vn",
    "SoDienThoai": "0912345678",
    "Fax": "",
    "TrangThaiHoSo": "2",
    "TrangThai": "4",
    "KenhThucHien": "2",
    "LoaiDoiTuong": "1",
    "HinhThuc": "0",
    "MaDoiTuong": "",
    "SoGiayToChuHoSo": "024090001234",
    "IsDeleted": "False",
    "DuocTaiSuDung": "0",
    "DuocLayTuKhoDMQG": "0",
    "HoSoCoThanhPhanSoHoa": "1",
    "DuocThanhToanTrucTuyen": "0",
    "LoaiDinhDanh": "1",
    "SoDinhDanh": "024090001234",
    "Gia": "50000",
    "NguoiXuLy": "Cán bộ xử lý",
    "SoCMND": "",
    "NgayThangNam": "",
    "Nam": "",
    "HoVaTen": "",
    "MaYeuCau": "BGG_DVC_0001",
}
TIMES = {
    "NgayTiepNhan", "NgayHenTra", "NgayTra", "NgayKetThucXuLy", "NgayTuChoi", "NgayNopHoSo",
    "ThoiDiemXuLy", "NgayKetThucTheoQuyDinh",
}  # fmt: skip


def fill(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: fill(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, key) for v in value]
    if isinstance(value, str) and value.startswith("<"):
        if key in TIMES:
            return TIME
        return FILL.get(key, f"Giá trị {key}")
    return value


def sample(name: str) -> Any:
    """A sample's request body, placeholders filled."""
    return fill(json.loads((SAMPLES / name).read_text())["request_body"])


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url, axis_enabled=False)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(create_app(settings)) as c:
        yield c


async def token(client: httpx.AsyncClient) -> dict[str, str]:
    resp = await client.post(
        "/token",
        data={"grant_type": "client_credentials"},
        auth=(DEV_CONSUMER_KEY, DEV_CONSUMER_SECRET),
    )
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


@pytest.fixture
async def auth(client: httpx.AsyncClient) -> dict[str, str]:
    return await token(client)

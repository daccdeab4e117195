"""The platform's dossier as DVCQG takes it (../shared/national/DVCQG.md): pure, no storage.

`record` gives the `DongBoHoSoMC` object of a dossier, `progress` the `CapNhatTienDoHoSoMC`
rows of its history. The portal's field names are Vietnamese, every scalar is a string, times
are `yyyyMMddHHmmss` in the province's zone with `""` for a missing one, codes are those of
DVCQG.md §3 (the platform's TrangThaiHoSo, KenhThucHien and LoaiDoiTuong are those codes).

Choices where the documents say nothing (docs/national.md repeats them):
- A dossier reaches DVCQG with its reception decision: received (2) or refused at reception
  (3). Before it (status 1, or withdrawn before reception) `record` is None: every known caller
  sends `NgayTiepNhan` and the portal requires it. A refused dossier's `NgayTiepNhan` and
  `NgayTuChoi` are the time of the refusal.
- `NgayKetThucXuLy`: the time of resolution (9), else of the first end of handling after
  reception (7 withdrawn, 8 stopped), as 766 §2.1 reads it.
- `MaLinhVuc` and `TenLinhVuc`: the catalogue holds the field's name only, so both carry it.
- `HinhThuc` (how the result is delivered): "0" (in person); the platform does not record a
  delivery by post.
- `DanhSachLePhi`: `MaPhiLePhi`, `HinhThucThu` and `LoaiPhiLePhi` are "1", as the Thanh Hóa
  system sends them (their code lists are not public).
- `DuocThanhToanTrucTuyen`: the gateway of the first online payment (1 the national portal,
  2 the province's), "1" when it was not given (the Thanh Hóa system's value for "paid"),
  "0" without an online payment.
- `DinhDanhCHS`: for a citizen (LoaiDoiTuong 1) whose identifier has 12 digits (LoaiDinhDanh
  1) or 9 (2); nothing otherwise.
- Progress: one row per history entry, `NguoiXuLy` the actor (at most 50 characters: 46 and
  "..." as the Thanh Hóa system cuts it), `NoiDungXuLy` the note or the status's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.dossier.dossiers.lifecycle import (
    RECEIVED,
    REFUSED,
    RESOLVED,
    STATUS_NAMES,
    STOPPED,
    WITHDRAWN,
)

TIME_FORMAT = "%Y%m%d%H%M%S"
RECEPTION = frozenset({RECEIVED, REFUSED})
ENDS = (WITHDRAWN, STOPPED, RESOLVED)
ACTOR_LIMIT = 50
SUMMARY_LIMIT = 1000
# TrangThaiHoSo (DVCQG.md §3): a progress row without a note says the status's name
# (`STATUS_NAMES`, the dossier lifecycle's).


@dataclass(frozen=True)
class Step:
    """One history entry of a dossier (`dossier_history`)."""

    id: int
    from_status: int | None
    to_status: int
    at: datetime
    actor: str
    note: str | None = None


@dataclass(frozen=True)
class Facts:
    """What the mapping reads of a dossier, its procedure, its organ and its payments."""

    code: str
    procedure_code: str
    procedure_name: str
    procedure_field: str
    organ_name: str
    channel: int
    applicant_type: int
    applicant_name: str
    applicant_identifier: str
    fees: Sequence[dict[str, Any]]
    status: int
    submitted_at: datetime
    received_at: datetime | None
    due_at: datetime | None
    resolved_at: datetime | None
    returned_at: datetime | None
    # The gateway of each online payment (None when not given), in payment order.
    online_payments: Sequence[int | None] = ()


def stamp(at: datetime | None, tz: ZoneInfo) -> str:
    """`yyyyMMddHHmmss` in the province's zone; `""` for no time."""
    return "" if at is None else at.astimezone(tz).strftime(TIME_FORMAT)


def actor(name: str) -> str:
    name = name.strip() or "Chuyên viên"
    return name if len(name) <= ACTOR_LIMIT else name[:46] + "..."


def reception(history: Sequence[Step]) -> Step | None:
    """The dossier's reception decision (received or refused), if it has one."""
    return next((s for s in history if s.to_status in RECEPTION), None)


def end_of_handling(facts: Facts, history: Sequence[Step]) -> datetime | None:
    if facts.resolved_at is not None:
        return facts.resolved_at
    return next((s.at for s in history if s.to_status in ENDS and s.from_status != 1), None)


def paid_online(facts: Facts) -> str:
    if not facts.online_payments:
        return "0"
    first = facts.online_payments[0]
    return str(first) if first in (1, 2) else "1"


def identities(facts: Facts) -> list[dict[str, str]]:
    number = facts.applicant_identifier
    if facts.applicant_type != 1 or not number.isdigit() or len(number) not in (9, 12):
        return []
    return [{"LoaiDinhDanh": "1" if len(number) == 12 else "2", "SoDinhDanh": number}]


def record(facts: Facts, history: Sequence[Step], tz: ZoneInfo) -> dict[str, Any] | None:
    """The `DongBoHoSoMC` object of a dossier as it stands; None before its reception decision."""
    decided = reception(history)
    if decided is None:
        return None
    refused = decided.to_status == REFUSED
    received_at = facts.received_at if not refused else decided.at
    return {
        "MaHoSo": facts.code,
        "MaTTHC": facts.procedure_code,
        "TenTTHC": facts.procedure_name,
        "MaLinhVuc": facts.procedure_field,
        "TenLinhVuc": facts.procedure_field,
        "KenhThucHien": str(facts.channel),
        "SoGiayToChuHoSo": facts.applicant_identifier,
        "ChuHoSo": facts.applicant_name,
        "LoaiDoiTuong": str(facts.applicant_type),
        "TrichYeuHoSo": facts.procedure_name[:SUMMARY_LIMIT],
        "NgayNopHoSo": stamp(facts.submitted_at, tz),
        "NgayTiepNhan": stamp(received_at, tz),
        "NgayHenTra": stamp(facts.due_at, tz),
        "TrangThaiHoSo": str(facts.status),
        "NgayTuChoi": stamp(decided.at, tz) if refused else "",
        "NgayKetThucXuLy": stamp(end_of_handling(facts, history), tz),
        "NgayTra": stamp(facts.returned_at, tz),
        "HinhThuc": "0",
        "DonViXuLy": facts.organ_name,
        "DanhSachLePhi": [
            {
                "TenPhiLePhi": str(fee["name"]),
                "MaPhiLePhi": "1",
                "HinhThucThu": "1",
                "Gia": str(int(fee["amount"])),
                "LoaiPhiLePhi": "1",
            }
            for fee in facts.fees
        ],
        "DuocThanhToanTrucTuyen": paid_online(facts),
        "DinhDanhCHS": identities(facts),
    }


def progress(code: str, steps: Sequence[Step], tz: ZoneInfo) -> list[dict[str, str]]:
    """The `CapNhatTienDoHoSoMC` rows of history entries, in their order."""
    return [
        {
            "MaHoSo": code,
            "NguoiXuLy": actor(s.actor),
            "ChucDanh": "",
            "ThoiDiemXuLy": stamp(s.at, tz),
            "PhongBanXuLy": "",
            "NoiDungXuLy": ((s.note or "").strip() or STATUS_NAMES[s.to_status])[:SUMMARY_LIMIT],
            "TrangThai": str(s.to_status),
            "NgayBatDau": "",
            "NgayKetThucTheoQuyDinh": "",
        }
        for s in steps
    ]

"""The portal's rules for the dossier-sync services, one unit of work each.

Error codes (the official table is not public, DVCQG.md §1c; these are the simulator's):
`"0"` done ("… thành công"), `"-1"` invalid data (the message names the dossier and the field),
`"-2"` the dossier is not on DVCQG (an update or progress for an unknown `MaHoSo`), `"-3"` the
dossier already exists (a create of a known `MaHoSo`: the message says "đã tồn tại", the cue
the Thanh Hóa system resends on as an update). A call is all or nothing: one refused dossier and
none is stored.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, func, insert, update
from sqlmodel import Session, col, select

from lgsp_kit.errors import NotFound
from services.national.dvcqg.schemas import Answer, HoSo, LookupAnswer, TienDo
from services.national.models import DvcqgCall, DvcqgHoSo, DvcqgTienDo

OK = "0"
INVALID = "-1"
UNKNOWN = "-2"
EXISTS = "-3"


def _dump(value: Any) -> str:
    return orjson.dumps(value).decode()


def _log(
    session: Session,
    service: str,
    consumer: str,
    body: Any,
    answer: Answer,
    is_updating: str | None,
) -> Answer:
    # A Core insert: the ORM's unit of work would cost more than the row on every call.
    session.execute(
        insert(DvcqgCall.__table__),  # type: ignore[attr-defined]
        {
            "service": service,
            "is_updating": is_updating,
            "consumer": consumer,
            "body": _dump(body),
            "error_code": answer.error_code,
            "message": answer.message,
            "received_at": datetime.now(UTC),
        },
    )
    return answer


def _duplicates(codes: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    return sorted({c for c in codes if c in seen or seen.add(c)})  # type: ignore[func-returns-value]


def sync(session: Session, dossiers: list[HoSo], *, is_updating: bool, consumer: str) -> Answer:
    """`DongBoHoSoMC`: create (`isUpdating` "False") or replace (`"True"`) each dossier."""
    records = [d.model_dump(mode="json", exclude_unset=True) for d in dossiers]
    flag = "True" if is_updating else "False"

    def answer(code: str, message: str) -> Answer:
        return _log(
            session,
            "DongBoHoSoMC",
            consumer,
            records,
            Answer(error_code=code, message=message),
            flag,
        )

    if not dossiers:
        return answer(INVALID, "Dữ liệu không hợp lệ: danh sách hồ sơ rỗng")
    codes = [d.MaHoSo for d in dossiers]
    if twice := _duplicates(codes):
        return answer(INVALID, f"Dữ liệu không hợp lệ: hồ sơ {', '.join(twice)} gửi hai lần")
    # The keys alone: whole rows would load every stored record only to be replaced.
    known = set(session.exec(select(DvcqgHoSo.ma_ho_so).where(col(DvcqgHoSo.ma_ho_so).in_(codes))))
    if not is_updating and known:
        return answer(EXISTS, f"Hồ sơ {', '.join(sorted(known))} đã tồn tại trên hệ thống")
    if is_updating and (missing := sorted(set(codes) - known)):
        return answer(UNKNOWN, f"Hồ sơ {', '.join(missing)} không tồn tại trên hệ thống")
    now = datetime.now(UTC)
    table = DvcqgHoSo.__table__  # type: ignore[attr-defined]
    values = [
        {
            "ma_ho_so": d.MaHoSo,
            "ma_tthc": d.MaTTHC,
            "trang_thai": d.TrangThaiHoSo,
            "ngay_tiep_nhan": d.NgayTiepNhan,
            "record": _dump(record),
            "updated_at": now,
        }
        for d, record in zip(dossiers, records, strict=True)
    ]
    # One statement for the whole call, executed for every dossier (executemany).
    if is_updating:
        session.execute(
            update(table)
            .where(table.c.ma_ho_so == bindparam("key"))
            .values(
                ma_tthc=bindparam("ma_tthc"),
                trang_thai=bindparam("trang_thai"),
                ngay_tiep_nhan=bindparam("ngay_tiep_nhan"),
                record=bindparam("record"),
                updated_at=bindparam("updated_at"),
                updates=table.c.updates + 1,
            ),
            [{**v, "key": v["ma_ho_so"]} for v in values],
            execution_options={"synchronize_session": False},
        )
    else:
        session.execute(insert(table), [{**v, "created_at": now, "updates": 0} for v in values])
    verb = "Cập nhật" if is_updating else "Đồng bộ"
    return answer(OK, f"{verb} {len(dossiers)} hồ sơ thành công")


def progress(session: Session, rows: list[TienDo], *, consumer: str) -> Answer:
    """`CapNhatTienDoHoSoMC`: add progress rows to known dossiers. A row received again (the
    same content) is counted on the row already there, not added twice."""
    received = [r.model_dump(mode="json", exclude_unset=True) for r in rows]

    def answer(code: str, message: str) -> Answer:
        return _log(
            session,
            "CapNhatTienDoHoSoMC",
            consumer,
            received,
            Answer(error_code=code, message=message),
            None,
        )

    if not rows:
        return answer(INVALID, "Dữ liệu không hợp lệ: danh sách tiến độ rỗng")
    codes = sorted({r.MaHoSo for r in rows})
    known = set(session.exec(select(DvcqgHoSo.ma_ho_so).where(col(DvcqgHoSo.ma_ho_so).in_(codes))))
    if missing := [c for c in codes if c not in known]:
        return answer(UNKNOWN, f"Hồ sơ {', '.join(missing)} không tồn tại trên hệ thống")
    now = datetime.now(UTC)
    table = DvcqgTienDo.__table__  # type: ignore[attr-defined]
    there = {
        (code, digest): row_id
        for row_id, code, digest in session.execute(
            select(table.c.id, table.c.ma_ho_so, table.c.digest).where(table.c.ma_ho_so.in_(codes))
        )
    }
    again: dict[int, int] = {}
    new: dict[tuple[str, str], dict[str, Any]] = {}
    for row, record in zip(rows, received, strict=True):
        digest = hashlib.sha256(orjson.dumps(record, option=orjson.OPT_SORT_KEYS)).hexdigest()
        key = (row.MaHoSo, digest)
        if key in there:
            again[there[key]] = again.get(there[key], 0) + 1
        elif key in new:
            new[key]["received"] += 1
        else:
            new[key] = {
                "ma_ho_so": row.MaHoSo,
                "digest": digest,
                "trang_thai": row.TrangThai,
                "thoi_diem_xu_ly": row.ThoiDiemXuLy,
                "row": _dump(record),
                "received": 1,
                "first_received_at": now,
                "last_received_at": now,
            }
    if new:
        session.execute(insert(table), list(new.values()))
    if again:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("key"))
            .values(received=table.c.received + bindparam("times"), last_received_at=now),
            [{"key": k, "times": n} for k, n in again.items()],
            execution_options={"synchronize_session": False},
        )
    return answer(OK, f"Cập nhật tiến độ {len(rows)} bản ghi thành công")


def lookup(session: Session, code: str, *, consumer: str) -> LookupAnswer:
    """`TraCuuHoSo`: the dossier in `result`, or an empty `result`."""
    row = session.get(DvcqgHoSo, code)
    result = [orjson.loads(row.record)] if row is not None else []
    message = "Tra cứu hồ sơ thành công" if result else f"Không tìm thấy hồ sơ {code}"
    answer = LookupAnswer(error_code=OK, message=message, result=result)
    _log(session, "TraCuuHoSo", consumer, {"mahoso": code}, answer, None)
    return answer


def record(session: Session, code: str) -> dict[str, Any]:
    row = session.get(DvcqgHoSo, code)
    if row is None:
        raise NotFound(f"DVCQG has no dossier {code}", code="dossier_not_synced")
    value: dict[str, Any] = orjson.loads(row.record)
    return value


def progress_rows(session: Session, code: str) -> list[DvcqgTienDo]:
    if session.get(DvcqgHoSo, code) is None:
        raise NotFound(f"DVCQG has no dossier {code}", code="dossier_not_synced")
    query = (
        select(DvcqgTienDo)
        .where(col(DvcqgTienDo.ma_ho_so) == code)
        .order_by(col(DvcqgTienDo.thoi_diem_xu_ly), col(DvcqgTienDo.id))
    )
    return list(session.exec(query))


def dossiers(session: Session, *, after: str | None, limit: int) -> list[DvcqgHoSo]:
    query = select(DvcqgHoSo).order_by(col(DvcqgHoSo.ma_ho_so)).limit(limit + 1)
    if after is not None:
        query = query.where(col(DvcqgHoSo.ma_ho_so) > after)
    return list(session.exec(query))


def progress_counts(session: Session, codes: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Per MaHoSo: progress rows stored, and rows received in all (a row sent again counts)."""
    if not codes:
        return {}
    query = (
        select(
            col(DvcqgTienDo.ma_ho_so),
            func.count(),
            func.coalesce(func.sum(DvcqgTienDo.received), 0),
        )
        .where(col(DvcqgTienDo.ma_ho_so).in_(list(codes)))
        .group_by(col(DvcqgTienDo.ma_ho_so))
    )
    return {code: (int(n), int(got)) for code, n, got in session.exec(query)}


def creates(session: Session) -> tuple[int, dict[str, int]]:
    """From the call log: the `DongBoHoSoMC` creates DVCQG accepted, and how many of them
    named each MaHoSo (the rule refuses a second create; this counts what really happened)."""
    query = select(DvcqgCall.body).where(
        col(DvcqgCall.service) == "DongBoHoSoMC",
        col(DvcqgCall.is_updating) == "False",
        col(DvcqgCall.error_code) == OK,
    )
    calls, counts = 0, Counter[str]()
    for body in session.exec(query):
        calls += 1
        counts.update(str(record.get("MaHoSo")) for record in orjson.loads(body))
    return calls, dict(counts)

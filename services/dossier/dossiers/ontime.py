"""Whether a dossier is on time, by the rules of Decision 766/QĐ-TTg (its indicator 2.1).

One pure function, `verdict`, over what the formula reads of a dossier. The formula
description ("Mô tả công thức tính chỉ số 766", indicator 2.1 "Tỷ lệ hồ sơ xử lý trước hạn, đúng
hạn") says, and the rules below follow it sentence by sentence:

1. "đúng hạn, trong hạn khi: Thời gian kết thúc xử lý (NgayKetThucXuLy) <= Ngày hẹn trả
   (NgayHenTra)": on time when the end of handling is not after the due date.
2. "Thời gian kết thúc xử lý là thời điểm tương ứng với trạng thái kết thúc xử lý hồ sơ (Từ chối,
   Dừng xử lý, Đã xử lý xong, Đã trả kết quả, Công dân yêu cầu rút hồ sơ - chỉ tính các hồ sơ
   đã được tiếp nhận)": the end of handling is the first of stopped (8), resolved (9), returned
   (10) or withdrawn (7), and only a dossier that was received is judged. A dossier refused at
   reception (3) or withdrawn before reception was never received: no verdict (`None`), so it
   is in neither the on-time nor the late count.
3. "Nếu tiến trình xử lý có đồng thời trạng thái Đã xử lý xong, Đã trả kết quả thì hệ thống ưu
   tiên lấy thời gian Đã xử lý xong": 9 comes before 10, so the first end is 9's time.
4. "Nếu hồ sơ đang yêu cầu bổ sung, công dân chưa quay lại bổ sung hồ sơ thì lấy ngày cán bộ yêu
   cầu bổ sung hồ sơ là Thời gian kết thúc xử lý": a dossier waiting for a supplement is judged
   at the time the supplement was requested.
5. "trừ trường hợp “Yêu cầu bổ sung hồ sơ” hơn 01 lần thì tính quá hạn": more than one
   supplement request counts late. The sentence stands in the rule for a dossier waiting for
   a supplement; the platform reads it for every dossier (a dossier asked twice for documents
   is late whatever its end), as the issue that brought these rules in states it.
6. "Thời gian bổ sung hồ sơ = Thời điểm hoàn thành bổ sung - Thời điểm Yêu cầu bổ sung" is taken
   off: the due date moves by the time waited (`lgsp_kit.workcalendar.resume`), so `due_at`
   here is already the moved one.

A dossier still in handling, not waiting for a supplement, has no verdict yet (`None`): the
formula judges it at the end of a reporting period ("Chưa có trạng thái hoàn thành → lấy ngày
cuối kỳ báo cáo"), which `verdict(..., as_of=end of period)` gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Timeline:
    """What the formula reads of a dossier at one moment."""

    received_at: datetime | None
    """NgayTiepNhan; None if the dossier was never received (refused, or withdrawn before)."""
    due_at: datetime | None
    """NgayHenTra, moved by the time waited for supplements already returned."""
    ended_at: datetime | None = None
    """The first end of handling after reception (7, 8, 9 or 10), if any."""
    waiting_since: datetime | None = None
    """When the supplement the dossier is waiting for was requested, if it is waiting."""
    supplement_requests: int = 0


def verdict(t: Timeline, *, as_of: datetime | None = None) -> bool | None:
    """True on time, False late, None not judged (never received, or still in handling and no
    `as_of` given). `as_of` judges a dossier still in handling as of that time."""
    if t.received_at is None:
        return None  # rule 2: only received dossiers
    if t.supplement_requests > 1:
        return False  # rule 5
    if t.ended_at is not None:
        moment = t.ended_at  # rules 1-3
    elif t.waiting_since is not None:
        moment = t.waiting_since  # rule 4
    elif as_of is not None:
        moment = as_of
    else:
        return None
    # A received dossier always has a due date (set at reception); without one nothing was
    # promised, so nothing is late.
    return t.due_at is None or moment <= t.due_at

"""The rows of Phụ lục II (Thống kê số liệu chuyên đề về Chính phủ điện tử, Chính phủ số).

One definition per row, in the annex's order: STT, the Vietnamese name as printed in the annex,
the unit, where the figure comes from (computed from events or declared by an official) and
the formula. Count rows (6.1.1, 6.1.2, …) are the numerators and denominators of their ratio.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Source = Literal["computed", "declared"]
Kind = Literal["ratio", "count", "declared", "heading"]


@dataclass(frozen=True)
class Indicator:
    stt: str
    name: str
    unit: str
    source: Source | None
    kind: Kind
    formula: str
    # Declared rows: the values an official may enter (None: any value in [low, high]).
    allowed: tuple[float, ...] | None = None
    low: float = 0.0
    high: float = 100.0
    in_annex: bool = True
    parts: tuple[str, str] | None = field(default=None)  # (numerator stt, denominator stt)


def _ratio(stt: str, name: str, formula: str, parts: tuple[str, str] | None = None) -> Indicator:
    return Indicator(stt, name, "%", "computed", "ratio", formula, parts=parts)


def _count(stt: str, name: str, unit: str, formula: str) -> Indicator:
    return Indicator(stt, name, unit, "computed", "count", formula)


def _heading(stt: str, name: str) -> Indicator:
    return Indicator(stt, name, "", None, "heading", "")


PAID_ONLINE = "TT.1"

INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "1",
        "Cập nhật Kiến trúc chính quyền điện tử phiên bản mới nhất",
        "Chưa = 0; Hoàn thành = 1",
        "declared",
        "declared",
        "declared by an official",
        allowed=(0, 1),
    ),
    Indicator(
        "2",
        "Xây dựng và vận hành Hệ thống họp trực tuyến",
        "Chưa có = 0; 2 cấp = 1; 3 cấp = 2",
        "declared",
        "declared",
        "declared by an official",
        allowed=(0, 1, 2),
    ),
    Indicator(
        "3",
        "Tỷ lệ báo cáo định kỳ được gửi, nhận qua Hệ thống thông tin báo cáo quốc gia",
        "%",
        "declared",
        "declared",
        "declared by an official, 0–100",
    ),
    Indicator(
        "4",
        "Triển khai xây dựng nền tảng chia sẻ, tích hợp dùng chung (LGSP)",
        "Chưa = 0; Đang làm = 1; Hoàn thành = 2",
        "declared",
        "declared",
        "declared by an official",
        allowed=(0, 1, 2),
    ),
    _heading("5", "Số liệu về trao đổi văn bản điện tử"),
    _heading(
        "5.1",
        "Thực hiện kết nối, liên thông các Hệ thống quản lý văn bản điều hành "
        "từ cấp tỉnh đến cấp xã",
    ),
    _ratio(
        "5.1.1",
        "Tỷ lệ sở, ngành đã kết nối, liên thông với UBND tỉnh",
        "province organs connected to qlvb ÷ province organs, at the end of the period",
    ),
    _ratio(
        "5.1.2",
        "Tỷ lệ UBND cấp huyện đã kết nối, liên thông với UBND tỉnh",
        "district UBNDs connected to qlvb ÷ district UBNDs, at the end of the period",
    ),
    _ratio(
        "5.1.3",
        "Tỷ lệ UBND cấp xã đã kết nối, liên thông với UBND huyện",
        "commune UBNDs connected to qlvb ÷ commune UBNDs, at the end of the period",
    ),
    _ratio(
        "5.2",
        "Tỷ lệ sử dụng văn bản điện tử của địa phương",
        "documents sent fully electronically ÷ documents sent, in the period",
    ),
    _ratio(
        "5.2.1",
        "Tỷ lệ sử dụng văn bản điện tử của các sở, ban, ngành cấp tỉnh",
        "the same, senders of level province_organ or province (UBND tỉnh)",
    ),
    _ratio(
        "5.2.2",
        "Tỷ lệ sử dụng văn bản điện tử của UBND cấp huyện",
        "the same, senders of level district",
    ),
    _ratio(
        "5.2.3",
        "Tỷ lệ sử dụng văn bản điện tử của UBND cấp xã",
        "the same, senders of level commune",
    ),
    _heading("5.3", "Xây dựng, vận hành Hệ thống thông tin một cửa điện tử tập trung của tỉnh"),
    _ratio(
        "5.3.1",
        "Tỷ lệ sở, ngành đã kết nối liên thông với Hệ thống",
        "province organs connected to motcua ÷ province organs, at the end of the period",
    ),
    _ratio(
        "5.3.2",
        "Tỷ lệ đơn vị cấp huyện đã kết nối liên thông với Hệ thống",
        "district units connected to motcua ÷ district units, at the end of the period",
    ),
    _ratio(
        "5.3.3",
        "Tỷ lệ đơn vị cấp xã đã kết nối liên thông với Hệ thống",
        "commune units connected to motcua ÷ commune units, at the end of the period",
    ),
    _heading("6", "Cung cấp DVC trực tuyến"),
    _ratio("6.1", "Tỷ lệ DVCTT toàn trình đủ điều kiện", "6.1.2 ÷ 6.1.1", ("6.1.2", "6.1.1")),
    _count(
        "6.1.1",
        "Tổng số DVC đủ điều kiện lên trực tuyến toàn trình",
        "DVC",
        "procedures with full_online_eligible, catalogue at the end of the period",
    ),
    _count(
        "6.1.2",
        "Số lượng DVCTT toàn trình",
        "DVC",
        "of those, procedures with online_mode full",
    ),
    _ratio(
        "6.2",
        "Tỷ lệ DVC có phát sinh hồ sơ nộp trực tuyến (toàn trình + một phần)",
        "6.2.2 ÷ 6.2.1",
        ("6.2.2", "6.2.1"),
    ),
    _count(
        "6.2.1",
        "Tổng số DVCTT có phát sinh hồ sơ (gồm các DVCTT có phát sinh hồ sơ trực tuyến hoặc "
        "trực tiếp hoặc cả 2 hình thức)",
        "DVC",
        "online procedures (full or partial) with a dossier received in the period",
    ),
    _count(
        "6.2.2",
        "Số DVCTT có phát sinh hồ sơ trực tuyến",
        "DVC",
        "procedures with at least one online dossier (channel 2) received in the period",
    ),
    _ratio("6.3", "Tỷ lệ hồ sơ trực tuyến toàn trình", "6.3.2 ÷ 6.3.1", ("6.3.2", "6.3.1")),
    _count(
        "6.3.1",
        "Tổng số hồ sơ của DVCTT toàn trình (gồm hồ sơ nộp trực tuyến + trực tiếp)",
        "Hồ sơ",
        "dossiers of full-online procedures received in the period",
    ),
    _count(
        "6.3.2",
        "Số hồ sơ nộp trực tuyến của các DVCTT toàn trình",
        "Hồ sơ",
        "of those, received online (channel 2)",
    ),
    _ratio("6.4", "Tỷ lệ hồ sơ trực tuyến một phần", "6.4.2 ÷ 6.4.1", ("6.4.2", "6.4.1")),
    _count(
        "6.4.1",
        "Tổng số hồ sơ của DVCTT một phần (gồm hồ sơ nộp trực tuyến + trực tiếp)",
        "Hồ sơ",
        "dossiers of partial-online procedures received in the period",
    ),
    _count(
        "6.4.2",
        "Số hồ sơ nộp trực tuyến của các DVCTT một phần",
        "Hồ sơ",
        "of those, received online (channel 2)",
    ),
    _ratio(
        "6.5",
        "Tỷ lệ TTHC được tích hợp, triển khai thanh toán trực tuyến",
        "6.5.2 ÷ 6.5.1",
        ("6.5.2", "6.5.1"),
    ),
    _count(
        "6.5.1",
        "Tổng số TTHC có yêu cầu nghĩa vụ tài chính "
        "(tất cả các TTHC có phát sinh phí, lệ phí, ...)",
        "Thủ tục",
        "fee-bearing procedures, catalogue at the end of the period",
    ),
    _count(
        "6.5.2",
        "Số TTHC đã được tích hợp, triển khai thanh toán trực tuyến trên Cổng DVC quốc gia "
        "hoặc trên Cổng DVC của tỉnh",
        "Thủ tục",
        "of those, procedures with online_payment",
    ),
    Indicator(
        PAID_ONLINE,
        "Tỷ lệ hồ sơ thanh toán trực tuyến (số hồ sơ có phát sinh giao dịch thanh toán trực "
        "tuyến ÷ tổng số hồ sơ đã giải quyết của các TTHC có phát sinh phí, lệ phí)",
        "%",
        "computed",
        "ratio",
        "dossiers of fee-bearing procedures resolved (status 9) in the period with paid_online "
        "÷ all of them; from the report's text, not a row of the annex",
        in_annex=False,
    ),
)

BY_STT: dict[str, Indicator] = {i.stt: i for i in INDICATORS}
DECLARED: tuple[str, ...] = tuple(i.stt for i in INDICATORS if i.source == "declared")

"""The rows of Phụ lục II (Thống kê số liệu chuyên đề về Chính phủ điện tử, Chính phủ số).

One definition per row, in the annex's order: STT, the Vietnamese name as printed in the annex,
the unit, where the figure comes from (computed from events or declared by an official), the
formula, the counting basis (which date puts a fact in a period; printed under every table) and
the sentence of the seed report (Bắc Giang 2023, ../shared/seed) the row stands for. Count rows
(6.1.1, 6.1.2, …) are the numerators and denominators of their ratio. Rows TT.x are the report
body's figures that the annex does not carry.
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
    basis: str = ""
    seed: str = ""


def _ratio(
    stt: str,
    name: str,
    formula: str,
    parts: tuple[str, str] | None = None,
    *,
    basis: str,
    seed: str,
    in_annex: bool = True,
) -> Indicator:
    return Indicator(
        stt,
        name,
        "%",
        "computed",
        "ratio",
        formula,
        parts=parts,
        basis=basis,
        seed=seed,
        in_annex=in_annex,
    )


def _count(
    stt: str, name: str, unit: str, formula: str, *, basis: str, seed: str, in_annex: bool = True
) -> Indicator:
    return Indicator(
        stt, name, unit, "computed", "count", formula, basis=basis, seed=seed, in_annex=in_annex
    )


def _heading(stt: str, name: str) -> Indicator:
    return Indicator(stt, name, "", None, "heading", "")


PAID_ONLINE = "TT.1"
ONLINE_PAYMENT_USED = "TT.2"

# Counting bases: which date puts a fact in a period (printed under every table).
DECLARED_BASIS = "Do cán bộ kê khai cho kỳ báo cáo (hoặc cho mọi kỳ chưa có số riêng)."
STATE_BASIS = "Trạng thái tại thời điểm kết thúc kỳ (0 giờ ngày sau ngày cuối kỳ, giờ Việt Nam)."
SENT_BASIS = "Văn bản tính theo ngày gửi trong kỳ (giờ Việt Nam)."
RECEIVED_BASIS = (
    "Hồ sơ tính theo ngày tiếp nhận (NgayTiepNhan, trạng thái 2) trong kỳ; thân báo cáo gọi là "
    '"hồ sơ giải quyết", bảng Phụ lục II gọi là "hồ sơ nộp": cùng một số đếm.'
)
RESOLVED_BASIS = (
    "Hồ sơ của TTHC có thu phí, lệ phí tính theo ngày giải quyết xong (trạng thái 9) trong kỳ, "
    "chỉ hồ sơ có giao dịch phí, lệ phí (số tiền > 0) ở bất kỳ trạng thái nào, kể cả khi trả kết "
    "quả; hồ sơ được miễn (không có giao dịch) không tính."
)
PAYMENT_BASIS = (
    "TTHC có giao dịch thanh toán trực tuyến (số tiền > 0) tính theo ngày thanh toán trong kỳ; "
    "mẫu số là 6.5.2 tại thời điểm kết thúc kỳ."
)

_ANNEX = "Phụ lục II: "


def _declared(
    stt: str, name: str, unit: str, formula: str, seed: str, allowed: tuple[float, ...] | None
) -> Indicator:
    return Indicator(
        stt,
        name,
        unit,
        "declared",
        "declared",
        formula,
        allowed=allowed,
        basis=DECLARED_BASIS,
        seed=seed,
    )


INDICATORS: tuple[Indicator, ...] = (
    _declared(
        "1",
        "Cập nhật Kiến trúc chính quyền điện tử phiên bản mới nhất",
        "Chưa = 0; Hoàn thành = 1",
        "declared by an official",
        _ANNEX + "Cập nhật Kiến trúc chính quyền điện tử phiên bản mới nhất … 1",
        (0, 1),
    ),
    _declared(
        "2",
        "Xây dựng và vận hành Hệ thống họp trực tuyến",
        "Chưa có = 0; 2 cấp = 1; 3 cấp = 2",
        "declared by an official",
        _ANNEX + "Xây dựng và vận hành Hệ thống hợp trực tuyến … 2",
        (0, 1, 2),
    ),
    _declared(
        "3",
        "Tỷ lệ báo cáo định kỳ được gửi, nhận qua Hệ thống thông tin báo cáo quốc gia",
        "%",
        "declared by an official, 0–100",
        _ANNEX + "Tỷ lệ báo cáo định kỳ được gửi, nhận qua Hệ thống thông tin báo cáo quốc gia "
        "… 100",
        None,
    ),
    _declared(
        "4",
        "Triển khai xây dựng nền tảng chia sẻ, tích hợp dùng chung (LGSP)",
        "Chưa = 0; Đang làm = 1; Hoàn thành = 2",
        "declared by an official",
        _ANNEX + "Triển khai xây dựng nền tảng chia sẻ, tích hợp dùng chung (LGSP). … 2",
        (0, 1, 2),
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
        basis=STATE_BASIS,
        seed=_ANNEX + "Tỷ lệ sở, ngành đã kết nối, liên thông với UBND tỉnh … 100",
    ),
    _ratio(
        "5.1.2",
        "Tỷ lệ UBND cấp huyện đã kết nối, liên thông với UBND tỉnh",
        "district UBNDs connected to qlvb ÷ district UBNDs, at the end of the period",
        basis=STATE_BASIS,
        seed=_ANNEX + "Tỷ lệ UBND cấp huyện đã kết nối, liên thông với UBND tỉnh … 100",
    ),
    _ratio(
        "5.1.3",
        "Tỷ lệ UBND cấp xã đã kết nối, liên thông với UBND huyện",
        "commune UBNDs connected to qlvb ÷ commune UBNDs, at the end of the period",
        basis=STATE_BASIS,
        seed=_ANNEX + "Tỷ lệ UBND cấp xã đã kết nối, liên thông với UBND huyện. … 100",
    ),
    _ratio(
        "5.2",
        "Tỷ lệ sử dụng văn bản điện tử của địa phương",
        "documents sent fully electronically ÷ documents sent, in the period",
        basis=SENT_BASIS,
        seed=_ANNEX + "Tỷ lệ sử dụng văn bản điện tử của địa phương (Chỉ thống kê tỷ lệ văn bản "
        "được gửi hoàn toàn dưới dạng điện tử; sử dụng chữ ký số, chứng thư số và gửi trên môi "
        "trường điện tử). … 100",
    ),
    _ratio(
        "5.2.1",
        "Tỷ lệ sử dụng văn bản điện tử của các sở, ban, ngành cấp tỉnh",
        "the same, senders of level province_organ or province (UBND tỉnh)",
        basis=SENT_BASIS,
        seed=_ANNEX + "Tỷ lệ sử dụng văn bản điện tử của các sở, ban, ngành cấp tỉnh … 100",
    ),
    _ratio(
        "5.2.2",
        "Tỷ lệ sử dụng văn bản điện tử của UBND cấp huyện",
        "the same, senders of level district",
        basis=SENT_BASIS,
        seed=_ANNEX + "Tỷ lệ sử dụng văn bản điện tử của UBND cấp huyện … 100",
    ),
    _ratio(
        "5.2.3",
        "Tỷ lệ sử dụng văn bản điện tử của UBND cấp xã",
        "the same, senders of level commune",
        basis=SENT_BASIS,
        seed=_ANNEX + "Tỷ lệ sử dụng văn bản điện tử của UBND cấp xã … 100",
    ),
    _heading("5.3", "Xây dựng, vận hành Hệ thống thông tin một cửa điện tử tập trung của tỉnh"),
    _ratio(
        "5.3.1",
        "Tỷ lệ sở, ngành đã kết nối liên thông với Hệ thống",
        "province organs connected to motcua ÷ province organs, at the end of the period",
        basis=STATE_BASIS,
        seed=_ANNEX + "Tỷ lệ sở, ngành đã kết nối liên thông với Hệ thống … 100",
    ),
    _ratio(
        "5.3.2",
        "Tỷ lệ đơn vị cấp huyện đã kết nối liên thông với Hệ thống",
        "district units connected to motcua ÷ district units, at the end of the period",
        basis=STATE_BASIS,
        seed=_ANNEX + "Tỷ lệ đơn vị cấp huyện đã kết nối liên thông với Hệ thống … 100",
    ),
    _ratio(
        "5.3.3",
        "Tỷ lệ đơn vị cấp xã đã kết nối liên thông với Hệ thống",
        "commune units connected to motcua ÷ commune units, at the end of the period",
        basis=STATE_BASIS,
        seed=_ANNEX + "Tỷ lệ đơn vị cấp xã đã kết nối liên thông với Hệ thống … 100",
    ),
    _heading("6", "Cung cấp DVC trực tuyến"),
    _ratio(
        "6.1",
        "Tỷ lệ DVCTT toàn trình đủ điều kiện",
        "6.1.2 ÷ 6.1.1",
        ("6.1.2", "6.1.1"),
        basis=STATE_BASIS,
        seed="Tỷ lệ dịch vụ công trực tuyến toàn trình: 100%",
    ),
    _count(
        "6.1.1",
        "Tổng số DVC đủ điều kiện lên trực tuyến toàn trình",
        "DVC",
        "procedures with full_online_eligible, catalogue at the end of the period",
        basis=STATE_BASIS,
        seed="Tổng số dịch vụ công đủ điều kiện lên trực tuyến toàn trình: 827",
    ),
    _count(
        "6.1.2",
        "Số lượng DVCTT toàn trình",
        "DVC",
        "of those, procedures with online_mode full",
        basis=STATE_BASIS,
        seed="Số lượng dịch vụ công trực tuyến toàn trình: 827",
    ),
    _ratio(
        "6.2",
        "Tỷ lệ DVC có phát sinh hồ sơ nộp trực tuyến (toàn trình + một phần)",
        "6.2.2 ÷ 6.2.1",
        ("6.2.2", "6.2.1"),
        basis=RECEIVED_BASIS,
        seed=_ANNEX + "Tỷ lệ DVC có phát sinh hồ sơ nộp trực tuyến (toàn trình + một phần) … 100",
    ),
    _count(
        "6.2.1",
        "Tổng số DVCTT có phát sinh hồ sơ (gồm các DVCTT có phát sinh hồ sơ trực tuyến hoặc "
        "trực tiếp hoặc cả 2 hình thức)",
        "DVC",
        "online procedures (full or partial) with a dossier received in the period",
        basis=RECEIVED_BASIS,
        seed=_ANNEX + "Tổng số DVCTT có phát sinh hồ sơ (gồm các DVCTT có phát sinh hồ sơ trực "
        "tuyến hoặc trực tiếp hoặc cả 2 hình thức) … 1094",
    ),
    _count(
        "6.2.2",
        "Số DVCTT có phát sinh hồ sơ trực tuyến",
        "DVC",
        "procedures with at least one online dossier (channel 2) received in the period",
        basis=RECEIVED_BASIS,
        seed=_ANNEX + "Số DVCTT có phát sinh hồ sơ trực tuyến … 1094",
    ),
    _ratio(
        "6.3",
        "Tỷ lệ hồ sơ trực tuyến toàn trình",
        "6.3.2 ÷ 6.3.1",
        ("6.3.2", "6.3.1"),
        basis=RECEIVED_BASIS,
        seed="Tỷ lệ hồ sơ trực tuyến toàn trình: 98.79%",
    ),
    _count(
        "6.3.1",
        "Tổng số hồ sơ của DVCTT toàn trình (gồm hồ sơ nộp trực tuyến + trực tiếp)",
        "Hồ sơ",
        "dossiers of full-online procedures received in the period",
        basis=RECEIVED_BASIS,
        seed="Số lượng hồ sơ giải quyết của DVCTT toàn trình (gồm cả trực tuyến và không trực "
        "tuyến): 169.668",
    ),
    _count(
        "6.3.2",
        "Số hồ sơ nộp trực tuyến của các DVCTT toàn trình",
        "Hồ sơ",
        "of those, received online (channel 2)",
        basis=RECEIVED_BASIS,
        seed="Số hồ sơ giải quyết trực tuyến của DVC trực tuyến toàn trình: 167.615",
    ),
    _ratio(
        "6.4",
        "Tỷ lệ hồ sơ trực tuyến một phần",
        "6.4.2 ÷ 6.4.1",
        ("6.4.2", "6.4.1"),
        basis=RECEIVED_BASIS,
        seed="Tỉ lệ hồ sơ trực tuyến một phần: 84.5%",
    ),
    _count(
        "6.4.1",
        "Tổng số hồ sơ của DVCTT một phần (gồm hồ sơ nộp trực tuyến + trực tiếp)",
        "Hồ sơ",
        "dossiers of partial-online procedures received in the period",
        basis=RECEIVED_BASIS,
        seed="Số lượng hồ sơ giải quyết của các DVC TT một phần (gồm cả trực tuyến và không "
        "trực tuyến): 434.329",
    ),
    _count(
        "6.4.2",
        "Số hồ sơ nộp trực tuyến của các DVCTT một phần",
        "Hồ sơ",
        "of those, received online (channel 2)",
        basis=RECEIVED_BASIS,
        seed="Số lượng hồ sơ giải quyết trực tuyến của các DVCTT một phần: 366.793",
    ),
    _ratio(
        "6.5",
        "Tỷ lệ TTHC được tích hợp, triển khai thanh toán trực tuyến",
        "6.5.2 ÷ 6.5.1",
        ("6.5.2", "6.5.1"),
        basis=STATE_BASIS,
        seed="Tỷ lệ TTHC được triển khai thanh toán trực tuyến: 100%",
    ),
    _count(
        "6.5.1",
        "Tổng số TTHC có yêu cầu nghĩa vụ tài chính "
        "(tất cả các TTHC có phát sinh phí, lệ phí, ...)",
        "Thủ tục",
        "fee-bearing procedures, catalogue at the end of the period",
        basis=STATE_BASIS,
        seed="Tổng số TTHC có yêu cầu nghĩa vụ tài chính: 214",
    ),
    _count(
        "6.5.2",
        "Số TTHC đã được tích hợp, triển khai thanh toán trực tuyến trên Cổng DVC quốc gia "
        "hoặc trên Cổng DVC của tỉnh",
        "Thủ tục",
        "of those, procedures with online_payment",
        basis=STATE_BASIS,
        seed="Số TTHC có yêu cầu nghĩa vụ tài chính được triển khai thanh toán trực tuyến: 214",
    ),
    _ratio(
        PAID_ONLINE,
        "Tỷ lệ hồ sơ thanh toán trực tuyến (số hồ sơ có phát sinh giao dịch thanh toán trực "
        "tuyến ÷ tổng số hồ sơ đã giải quyết của các TTHC có phát sinh phí, lệ phí)",
        "dossiers of fee-bearing procedures resolved (status 9) in the period with a fee "
        "transaction (a payment of amount > 0, at any status) that have an online one ÷ all "
        "of them; zero-fee dossiers (no transaction) are left out",
        basis=RESOLVED_BASIS,
        seed="Tổng số hồ sơ đã giải quyết của các TTHC có phát sinh giao dịch phí, lệ phí: "
        "192.119 — Số hồ sơ có phát sinh giao dịch thanh toán trực tuyến: 186.530 — Tỷ lệ hồ sơ "
        "thanh toán trực tuyến: 97.09%",
        in_annex=False,
    ),
    _ratio(
        ONLINE_PAYMENT_USED,
        "Tỷ lệ TTHC có phát sinh giao dịch thanh toán trực tuyến",
        "TT.2.1 ÷ 6.5.2",
        ("TT.2.1", "6.5.2"),
        basis=PAYMENT_BASIS,
        seed="Tỷ lệ TTHC có phát sinh giao dịch thanh toán trực tuyến: 100%",
        in_annex=False,
    ),
    _count(
        "TT.2.1",
        "Tổng số TTHC đang triển khai thanh toán trực tuyến có phát sinh giao dịch phí lệ phí",
        "Thủ tục",
        "procedures with at least one online fee payment (amount > 0) made in the period",
        basis=PAYMENT_BASIS,
        seed="Tổng số TTHC đang triển khai thanh toán trực tuyến có phát sinh giao dịch phí lệ "
        "phí: 214",
        in_annex=False,
    ),
)

BY_STT: dict[str, Indicator] = {i.stt: i for i in INDICATORS}
DECLARED: tuple[str, ...] = tuple(i.stt for i in INDICATORS if i.source == "declared")


def markdown_table() -> str:
    """Every row as docs/indicators.md lists it (a test keeps the page equal to this)."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "| STT | indicator | unit | formula | counting basis | the seed's sentence |",
        "|---|---|---|---|---|---|",
    ]
    for i in INDICATORS:
        if i.kind == "heading":
            lines.append(f"| {i.stt} | **{cell(i.name)}** | | | | |")
            continue
        lines.append(
            f"| {i.stt} | {cell(i.name)} | {cell(i.unit)} | {cell(i.formula)} | "
            f"{cell(i.basis)} | {cell(i.seed)} |"
        )
    return "\n".join(lines)

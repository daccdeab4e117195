"""Exchange status codes (trạng thái liên thông edXML), their transitions, and document types.

The codes and their meanings are those of DOMAIN.md §4 (from one implementation, not checked
against the standard's text). Who moves a recipient: the sender asks for a recall (13); the
recipient does everything else. Delivery sets the first status itself: 01 when the signature
verifies, 02 with the reason when it does not.
"""

from __future__ import annotations

from typing import Literal

StatusCode = Literal["01", "02", "03", "04", "05", "06", "13", "15", "16"]

ARRIVED = "01"
REFUSED = "02"
RECALL_REQUESTED = "13"

STATUS_NAMES: dict[str, str] = {
    "01": "Đã đến",
    "02": "Từ chối tiếp nhận",
    "03": "Đã tiếp nhận (vào sổ)",
    "04": "Phân công",
    "05": "Đang xử lý",
    "06": "Hoàn thành",
    "13": "Yêu cầu lấy lại",
    "15": "Đồng ý lấy lại",
    "16": "Từ chối lấy lại",
}

# status → the statuses a recipient can move to next. Absent: final.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "01": ("02", "03", "13"),
    "03": ("04", "05", "06", "13"),
    "04": ("05", "06", "13"),
    "05": ("06", "13"),
    "06": ("13",),
    "13": ("15", "16"),
    # Recall refused: the recipient keeps the document and goes on handling it.
    "16": ("04", "05", "06"),
}


def allowed_next(status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(status, ())


def set_by_sender(status: str) -> bool:
    return status == RECALL_REQUESTED


# DocumentType (loại văn bản, Decree 30/2020/NĐ-CP): code → (edXML Type, TypeName).
DOCUMENT_TYPES: dict[str, tuple[int, str]] = {
    "NQ": (1, "Nghị quyết"),
    "QD": (2, "Quyết định"),
    "CT": (3, "Chỉ thị"),
    "QC": (4, "Quy chế"),
    "QYD": (5, "Quy định"),
    "TB": (6, "Thông báo"),
    "HD": (7, "Hướng dẫn"),
    "CTR": (8, "Chương trình"),
    "KH": (9, "Kế hoạch"),
    "PA": (10, "Phương án"),
    "DA": (11, "Đề án"),
    "BC": (12, "Báo cáo"),
    "BB": (13, "Biên bản"),
    "TTR": (14, "Tờ trình"),
    "CV": (15, "Công văn"),
    "GM": (16, "Giấy mời"),
}
TYPE_BY_NUMBER = {number: code for code, (number, _) in DOCUMENT_TYPES.items()}
# An imported document whose `TypeName` is none of the above (its name is kept as received).
OTHER_TYPE = "KHAC"
_CODE_BY_NAME = {name.casefold(): code for code, (_, name) in DOCUMENT_TYPES.items()}


def type_code_of(type_name: str | None) -> str:
    """The service's code of an edXML `DocumentType/TypeName` (`Công văn` → `CV`)."""
    if not type_name:
        return OTHER_TYPE
    return _CODE_BY_NAME.get(" ".join(type_name.split()).casefold(), OTHER_TYPE)


def type_name_of(code: str, received: str | None = None) -> str:
    if code in DOCUMENT_TYPES:
        return DOCUMENT_TYPES[code][1]
    return received or "Khác"


DocumentTypeCode = Literal[
    "NQ",
    "QD",
    "CT",
    "QC",
    "QYD",
    "TB",
    "HD",
    "CTR",
    "KH",
    "PA",
    "DA",
    "BC",
    "BB",
    "TTR",
    "CV",
    "GM",
]

PRIORITY_NAMES = {0: "Thường", 1: "Khẩn", 2: "Thượng khẩn", 3: "Hỏa tốc"}

"""Reading the 16 real packages: every value asserted here was read by eye from the files."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from contracts.edxml import (
    NOT_WELL_FORMED,
    VIETNAM,
    BusinessDocType,
    DocumentPackage,
    EdxmlError,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    StatusPackage,
    read,
)
from tests.contracts.edxml.conftest import sample

VPCP = ("000.00.00.G22", "Văn phòng Chính phủ")
NGHE_AN = ("000.00.00.H41", "UBND Tỉnh Nghệ An")
CAO_BANG = ("000.00.00.H14", "UBND Tỉnh Cao Bằng")
HAI_PHONG = ("000.00.00.G17", "Sở Thông tin truyền thông Hải Phòng")
DOC_7816 = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
DOC_7806 = "000.00.00.G22,2014/02/30,7806/VPCP-TTĐT"  # sic: 30 February, as sent
ATTACHMENT = ("1896_QD-TTg_m_294779.doc", "application/zip")

# name: (from, to, code number, promulgation date, due date, business type, reason,
#        business DocumentId, decoded attachment size, first trace timestamp)
DOCUMENTS = {
    "resources_edoc_new.edxml": (
        ("000.00.00.A80", "UBND xã Hòa Tiến - UBND huyện Hòa Vang - Thành phố Đà Nẵng"),
        [("28.22.H17", "UBND xã Hòa Sơn - UBND huyện Hòa Vang - Thành phố Đà Nẵng")],
        "74fass22",
        date(2019, 1, 16),
        date(2018, 9, 28),
        BusinessDocType.NEW,
        "Văn bản điện tử mới",
        DOC_7806,
        270823,
        datetime(2018, 9, 28, 0, 0, 0, tzinfo=VIETNAM),
    ),
    "resources_edoc_revocation.edxml": (
        VPCP,
        [NGHE_AN, CAO_BANG, HAI_PHONG],
        "7816",
        date(2018, 9, 28),
        date(2018, 9, 28),
        BusinessDocType.REVOKE,
        "Thu hồi văn bản điện tử",
        None,
        270823,
        datetime(2018, 9, 28, 0, 0, 0, tzinfo=VIETNAM),
    ),
    "resources_edoc_update.edxml": (
        VPCP,
        [NGHE_AN, CAO_BANG, HAI_PHONG],
        "7816",
        date(2018, 9, 28),
        date(2018, 9, 28),
        BusinessDocType.UPDATE,
        "Cập nhật văn bản điện tử",
        DOC_7806,
        270823,
        datetime(2018, 9, 28, 0, 0, 0, tzinfo=VIETNAM),
    ),
    "resources_edoc_replacement.edxml": (
        VPCP,
        [NGHE_AN, CAO_BANG, HAI_PHONG],
        "7816",
        date(2018, 9, 28),
        date(2018, 9, 28),
        BusinessDocType.REPLACE,
        "Văn bản thay thế",
        None,
        270823,
        datetime(2018, 9, 28, 0, 0, 0, tzinfo=VIETNAM),
    ),
    "xml_dc0bdef0-c7a3-4aaf-b717-777303442973.edxml": (
        VPCP,
        [NGHE_AN, CAO_BANG, HAI_PHONG],
        "7816",
        date(2019, 4, 11),
        date(2019, 4, 11),
        BusinessDocType.NEW,
        "Văn bản điện tử mới",
        DOC_7806,
        4151,
        datetime(2019, 4, 11, 0, 0, 0, tzinfo=VIETNAM),
    ),
}

RECEIPT = (
    "Văn thư - Phòng Văn thư - Lưu trữ: Đã đến - Phần mềm QLVB đã nhận nhưng văn thư chưa xử lý"
)
# name: (status code, description, sender, ResponseFor organ)
STATUSES = {
    "resources_status_inbox_01.edxml": ("01", RECEIPT, NGHE_AN, "000.00.00.G22"),
    "resources_status_rejection_02.edxml": (
        "02",
        "Văn thư - Phòng Văn thư - Lưu trữ: Từ chối không tiếp nhận văn bản điện tử",
        NGHE_AN,
        "000.00.00.G22",
    ),
    "resources_status_acceptance_03.edxml": (
        "03",
        "Văn thư cơ - Phòng Văn thư - Lưu trữ: Tiếp nhận văn bản điện tử, vào sổ văn bản đến "
        "của đơn vị",
        NGHE_AN,
        "000.00.00.G22",
    ),
    "resources_status_assignment_04.edxml": (
        "04",
        "Lãnh đạo: Phân công xử lý",
        NGHE_AN,
        "000.00.00.G22",
    ),
    "resources_status_processing_05.edxml": (
        "05",
        "Đang xử lý văn bản đến",
        NGHE_AN,
        "000.00.00.G22",
    ),
    "resources_status_finish_06.edxml": (
        "06",
        "Văn thư: Ban hành văn bản đến, hoàn thành xử lý",
        NGHE_AN,
        "000.00.00.G22",
    ),
    "resources_status_cancellation_13.edxml": (
        "13",
        "Văn thư yêu cầu lấy lại văn bản điện tử kèm lý do",
        VPCP,
        "000.00.00.H41",
    ),
    "resources_status_change-acceptance_15.edxml": (
        "15",
        "Văn thư đồng ý yêu cầu cập nhật, lấy lại",
        NGHE_AN,
        "000.00.00.G22",
    ),
    "resources_status_change-rejection_16.edxml": (
        "16",
        "Văn thư từ chối yêu cầu cập nhật, lấy lại",
        NGHE_AN,
        "000.00.00.G22",
    ),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_a_real_document_package_is_read(name: str) -> None:
    (sender, recipients, number, promulgated, due, op, reason, op_document, size, hop) = DOCUMENTS[
        name
    ]
    package = read(sample(name))
    assert isinstance(package, DocumentPackage)
    assert package.kind == "document"
    assert (package.from_.organ_id, package.from_.organ_name) == sender
    assert [(o.organ_id, o.organ_name) for o in package.to] == recipients
    assert package.document_id == DOC_7816
    assert (package.code.code_number, package.code.code_notation) == (number, "VPCP-TTĐT")
    assert package.promulgation_info.place == "Hà Nội"
    assert package.promulgation_info.promulgation_date == promulgated
    assert package.due_date == due
    assert (package.document_type.type, package.document_type.type_detail) == (1, 0)
    assert package.document_type.type_name == "Công văn"
    assert package.subject == "V/v kết nối, liên thông phần mềm quản lý văn bản"
    assert package.signer_info is not None
    assert package.signer_info.competence == "TL. BO TRUONG"
    assert package.signer_info.full_name == "Nguyen Thanh Phuc"
    assert package.steering_type == 1
    assert package.to_places == ("Cac bo va co quan ngang bo", "Uy ban nhan dan cac tinh, TP")
    other = package.other_info
    assert other is not None
    assert (other.priority, other.promulgation_amount, other.page_amount) == (0, 2, 22)
    assert other.sphere_of_promulgation == "Liên thông văn bản quốc gia"
    assert other.direction is False
    assert other.appendixes == ("Công văn về việc kết nối, liên thông phần mềm quản lý văn bản",)
    assert [(t.organ_id, t.timestamp) for t in package.trace_headers] == [("000.00.00.G22", hop)]
    assert package.business is not None
    assert package.business.doc_type is op
    assert package.business.reason == reason
    assert package.business.document_id == op_document
    assert package.business.paper == 0
    assert package.business.staff_info is not None
    assert package.business.staff_info.staff == "Nguyễn Thị Ngọc Trâm"
    assert [(m.content_id, m.attachment_name) for m in package.manifest] == [
        ("cid:209", ATTACHMENT[0])
    ]
    assert [(a.content_id, a.name, a.content_type, a.size) for a in package.attachments] == [
        ("cid:209", *ATTACHMENT, size)
    ]
    assert package.attachments[0].content.startswith(b"PK\x03\x04")  # a zip, decoded
    assert package.signature is not None
    assert package.signature.algorithm == "rsa-sha1"


def test_a_revocation_names_the_document_it_answers() -> None:
    package = read(sample("resources_edoc_revocation.edxml"))
    assert isinstance(package, DocumentPackage)
    assert package.response_for == ResponseFor(
        organ_id="000.00.00.H14",
        code="267/VPCP-TTĐT",
        promulgation_date=date(2018, 9, 28),
        document_id="000.00.04.G14,2012/08/06,267/VPCP-TTĐT",
    )


def test_a_replacement_lists_the_replaced_documents_and_their_recipients() -> None:
    package = read(sample("resources_edoc_replacement.edxml"))
    assert isinstance(package, DocumentPackage) and package.business is not None
    replaced = ReplacementInfo(
        document_id="000.00.00.G22,2014/01/30,7806/VPCP-TTĐT",
        organ_ids=("000.00.00.H41", "000.00.00.H14"),
    )
    assert package.business.replacement_info == (replaced, replaced)


def test_an_update_lists_its_receivers() -> None:
    package = read(sample("resources_edoc_update.edxml"))
    assert isinstance(package, DocumentPackage) and package.business is not None
    info = package.business.document_info
    assert info is not None
    assert (info.document_info, info.document_receiver) == ("1", "1")
    assert info.receivers == (Receiver("000.00.00.H41", 0), Receiver("000.00.00.H14", 1))


@pytest.mark.parametrize("name", sorted(STATUSES))
def test_a_real_status_package_is_read(name: str) -> None:
    code, description, sender, answered_organ = STATUSES[name]
    package = read(sample(name))
    assert isinstance(package, StatusPackage)
    assert package.kind == "status"
    assert (package.from_.organ_id, package.from_.organ_name) == sender
    assert package.status_code == code
    assert package.description == description
    assert package.timestamp == datetime(2015, 9, 20, 11, 8, 36, tzinfo=VIETNAM)
    assert package.response_for == ResponseFor(
        organ_id=answered_organ,
        code="7816/VPCP-TTĐT",
        promulgation_date=date(2015, 9, 30),
        document_id=DOC_7816,
    )
    assert package.staff_info is not None
    assert package.staff_info.department == "Phong hanh chinh"
    assert package.signature is None


def test_the_first_status_sample_is_read() -> None:
    package = read(sample("resources_status.edxml"))
    assert isinstance(package, StatusPackage)
    assert package.status_code == "01"
    assert package.description == RECEIPT
    assert package.timestamp == datetime(2018, 9, 28, 17, 25, 11, tzinfo=VIETNAM)
    assert package.response_for.promulgation_date == date(2018, 9, 28)
    assert package.response_for.document_id == DOC_7816
    assert package.staff_info is not None
    assert package.staff_info.staff == "Nguyễn Thị Ngọc Trâm"


def test_the_malformed_sample_is_refused_with_its_line() -> None:
    with pytest.raises(EdxmlError) as caught:
        read(sample("resources_edoc.edxml"))
    assert caught.value.code == NOT_WELL_FORMED
    # The outer <edXML:From> of line 7 is never closed: the parser notices at line 74.
    assert caught.value.line == 74
    assert "From line 7" in caught.value.message
    assert str(caught.value).startswith("line 74: not well-formed XML")


def _nested_package() -> bytes:
    """The package zipped inside the attachment of resources_edoc_new.edxml: another sender's
    template (undeclared `edXML:` and `xlink:` prefixes), not one the codec was written on."""
    import io
    import zipfile

    package = read(sample("resources_edoc_new.edxml"))
    assert isinstance(package, DocumentPackage)
    archive = zipfile.ZipFile(io.BytesIO(package.attachments[0].content))
    assert archive.namelist() == ["32da2890-1a55-4ccd-9ac9-cd0d98559e67.edxml"]
    return archive.read(archive.namelist()[0])


def test_a_package_with_undeclared_edxml_and_xlink_prefixes_is_read() -> None:
    raw = _nested_package()
    assert b'xlink:href=""' in raw and b"xmlns:xlink" not in raw
    package = read(raw)
    assert isinstance(package, DocumentPackage)
    assert (package.from_.organ_id, package.from_.organ_name) == (
        "14.00.W00",
        "Trung tâm test production 01",
    )
    assert [(o.organ_id, o.organ_name) for o in package.to] == [
        ("14.00.W00", "Đơn vị nội bộ chuẩn 2803 04")
    ]
    assert package.document_id == "9fbfbad2-f1f8-4256-a2eb-50fb1061cddb"
    assert (package.code.code_number, package.code.code_notation) == ("34E31", "PRO-TEST-CASE1")
    assert package.promulgation_info.promulgation_date == date(2018, 9, 27)
    assert package.document_type.type == 1
    assert package.document_type.type_detail is None
    assert package.document_type.type_name == "Thông tư"
    assert package.response_for is None  # all four children empty
    assert package.business is None
    assert [(t.organ_id, t.timestamp) for t in package.trace_headers] == [
        ("01.02.G22", datetime(2018, 6, 20, 16, 35, 56, tzinfo=VIETNAM))
    ]
    assert [(a.name, a.content_type, a.size) for a in package.attachments] == [
        ("GUIDE_INSTALL OPENVPN.SIGNED.PDF", "application/pdf", 284937)
    ]
    assert package.attachments[0].content.startswith(b"%PDF-1.5")
    assert package.signature is not None
    assert package.signature.algorithm == "rsa-sha1"

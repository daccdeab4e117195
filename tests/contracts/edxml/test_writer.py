"""Writing: every sample survives read → write → read, in the samples' own layout."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import date, datetime

import pytest
from lxml import etree

from contracts.edxml import (
    NS,
    VIETNAM,
    Attachment,
    Business,
    BusinessDocType,
    Code,
    DocumentPackage,
    DocumentType,
    ManifestReference,
    Organ,
    OtherInfo,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    StatusPackage,
    TraceHeader,
    read,
    write,
)
from tests.contracts.edxml.conftest import sample
from tests.contracts.edxml.test_reader import DOCUMENTS, STATUSES

WELL_FORMED = sorted([*DOCUMENTS, *STATUSES, "resources_status.edxml"])


@pytest.mark.parametrize("name", WELL_FORMED)
def test_each_sample_survives_a_rewrite(name: str) -> None:
    package = read(sample(name))
    written = write(package)
    assert read(written) == package
    assert write(read(written)) == written


def test_a_rewrite_keeps_the_samples_layout() -> None:
    written = write(read(sample("xml_dc0bdef0-c7a3-4aaf-b717-777303442973.edxml")))
    assert written.startswith(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<edXML xmlns="' + NS.encode()
    )
    assert b'<edXML:edXMLEnvelope xmlns:edXML="' + NS.encode() + b'">' in written
    assert b"<edXML:PromulgationDate>2019/04/11</edXML:PromulgationDate>" in written
    assert b"<edXML:Timestamp>2019/04/11 00:00:00</edXML:Timestamp>" in written
    assert b"<edXML:BussinessDocType>0</edXML:BussinessDocType>" in written
    root = etree.fromstring(written)
    children = [etree.QName(c).localname for c in root]
    assert children == ["edXMLEnvelope", "AttachmentEncoded"]  # attachments beside the envelope
    encoded = root.find(
        f"{{{NS}}}AttachmentEncoded/{{{NS}}}Attachment/{{{NS}}}ContentTransferEncoded"
    )
    assert encoded is not None and encoded.prefix == "edXML"
    assert len(base64.b64decode(encoded.text or "")) == 4151
    # The legacy SDK's Signature, in the package's namespace, is written back as found.
    assert b'<Signature xmlns="' + NS.encode() + b'">' in written
    assert b"xmldsig#rsa-sha1" in written


def _own_document() -> DocumentPackage:
    """A package as this platform would export one (with an extension in OtherInfo)."""
    return DocumentPackage(
        from_=Organ("000.00.00.H10", "UBND tỉnh Bắc Giang", email="vt@bacgiang.gov.vn"),
        to=(Organ("000.00.00.G22", "Văn phòng Chính phủ"),),
        document_id="000.00.00.H10,2024/03/05,123/UBND-KGVX",
        code=Code("123", "UBND-KGVX"),
        promulgation_info=PromulgationInfo("Bắc Giang", date(2024, 3, 5)),
        document_type=DocumentType(type=1, type_detail=0, type_name="Công văn"),
        subject="V/v báo cáo <tình hình> & kết quả",
        content="Nội dung",
        signer_info=SignerInfo("KT. CHỦ TỊCH", "Phó Chủ tịch", "Nguyễn Văn A"),
        due_date=date(2024, 3, 20),
        other_info=OtherInfo(priority=2, page_amount=3, extra=(("ExchangeId", "a1b2"),)),
        response_for=ResponseFor(
            "000.00.00.G22", "7816/VPCP-TTĐT", date(2015, 9, 30), "000.00.00.G22,2015/09/30,7816"
        ),
        steering_type=0,
        trace_headers=(
            TraceHeader("000.00.00.H10", datetime(2024, 3, 5, 9, 30, 0, tzinfo=VIETNAM)),
        ),
        business=Business(BusinessDocType.NEW, reason="Văn bản điện tử mới", paper=0),
        manifest=(ManifestReference("cid:1", "bao-cao.pdf", "application/pdf"),),
        attachments=(Attachment("cid:1", "bao-cao.pdf", "application/pdf", b"%PDF-1.7\x00\xff"),),
    )


def test_a_package_of_our_own_reads_back_field_for_field() -> None:
    package = _own_document()
    assert read(write(package)) == package


def test_a_status_of_our_own_reads_back_field_for_field() -> None:
    status = StatusPackage(
        from_=Organ("000.00.00.H10", "UBND tỉnh Bắc Giang"),
        response_for=ResponseFor("000.00.00.G22", "7816/VPCP-TTĐT", date(2015, 9, 30), "x,y,z"),
        status_code="03",
        description="Đã tiếp nhận",
        timestamp=datetime(2024, 3, 5, 2, 30, 0, tzinfo=VIETNAM),
    )
    written = write(status)
    assert b"<edXML:StatusCode>03</edXML:StatusCode>" in written
    assert read(written) == status


def test_a_time_in_another_offset_is_written_in_vietnam_time() -> None:
    from datetime import UTC

    status = StatusPackage(
        from_=Organ("000.00.00.H10"),
        response_for=ResponseFor(document_id="d"),
        status_code="05",
        timestamp=datetime(2024, 3, 5, 2, 30, 0, tzinfo=UTC),
    )
    written = write(status)
    assert b"<edXML:Timestamp>2024/03/05 09:30:00</edXML:Timestamp>" in written
    assert read(written) == status  # the same instant


def test_an_attachment_with_bytes_of_every_value_survives() -> None:
    content = bytes(range(256)) * 3
    package = replace(_own_document(), attachments=(Attachment("cid:9", "x.bin", None, content),))
    again = read(write(package))
    assert isinstance(again, DocumentPackage)
    assert again.attachments[0].content == content


def test_the_nested_package_of_another_sender_survives_a_rewrite() -> None:
    from tests.contracts.edxml.test_reader import _nested_package

    package = read(_nested_package())
    assert read(write(package)) == package


def test_a_value_xml_cannot_carry_is_refused_on_writing() -> None:
    from contracts.edxml import INVALID_VALUE, EdxmlError

    with pytest.raises(EdxmlError) as caught:
        write(replace(_own_document(), subject="trích yếu\x00"))
    assert caught.value.code == INVALID_VALUE

"""Strict where the standard is, tolerant where real senders differ (docs/edxml.md)."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.edxml import (
    DUPLICATE_ELEMENT,
    INVALID_VALUE,
    MISSING_ELEMENT,
    NOT_EDXML,
    NOT_WELL_FORMED,
    DocumentPackage,
    EdxmlError,
    StatusPackage,
    parse_date,
    read,
)
from tests.contracts.edxml.conftest import sample

STATUS = "resources_status_inbox_01.edxml"
DOCUMENT = "xml_dc0bdef0-c7a3-4aaf-b717-777303442973.edxml"


def _edited(name: str, old: str, new: str) -> bytes:
    text = sample(name).decode()
    assert old in text, "the edit no longer applies to the sample"
    return text.replace(old, new, 1).encode()


def _line_of(raw: bytes, needle: str, occurrence: int = 1) -> int:
    lines = raw.decode().splitlines()
    hits = [i + 1 for i, line in enumerate(lines) if needle in line]
    return hits[occurrence - 1]


def _refused(raw: bytes, code: str) -> EdxmlError:
    with pytest.raises(EdxmlError) as caught:
        read(raw)
    assert caught.value.code == code
    return caught.value


def test_a_second_from_is_refused_with_its_line() -> None:
    origin = "<edXML:OrganId>000.00.00.H41</edXML:OrganId>"
    raw = _edited(
        STATUS,
        "<edXML:ResponseFor>",
        f"<edXML:From>{origin}</edXML:From>\n<edXML:ResponseFor>",
    )
    error = _refused(raw, DUPLICATE_ELEMENT)
    assert error.line == _line_of(raw, "<edXML:From>", 2)
    assert "<From>" in error.message


def test_a_document_without_recipients_is_refused() -> None:
    raw = sample(DOCUMENT).decode()
    start, end = raw.index("<edXML:To>"), raw.rindex("</edXML:To>") + len("</edXML:To>")
    error = _refused((raw[:start] + raw[end:]).encode(), MISSING_ELEMENT)
    assert "<To>" in error.message


def test_a_day_that_does_not_exist_is_refused_with_its_line() -> None:
    raw = _edited(
        DOCUMENT,
        "<edXML:PromulgationDate>2019/04/11<",
        "<edXML:PromulgationDate>2019/02/30<",
    )
    error = _refused(raw, INVALID_VALUE)
    assert error.line == _line_of(raw, "2019/02/30")


def test_a_day_month_year_date_is_tolerated() -> None:
    raw = _edited(
        DOCUMENT,
        "<edXML:PromulgationDate>2019/04/11<",
        "<edXML:PromulgationDate> 28/09/2018 <",
    )
    package = read(raw)
    assert isinstance(package, DocumentPackage)
    assert package.promulgation_info.promulgation_date == date(2018, 9, 28)
    assert parse_date("2018/9/8") == date(2018, 9, 8)


def test_an_rfc3339_timestamp_is_not_the_standard() -> None:
    raw = _edited(
        STATUS,
        "<edXML:Timestamp>2015/09/20 11:08:36<",
        "<edXML:Timestamp>2015-09-20T11:08:36+07:00<",
    )
    _refused(raw, INVALID_VALUE)


def test_an_unknown_business_operation_is_refused() -> None:
    raw = _edited(
        DOCUMENT,
        "<edXML:BussinessDocType>0<",
        "<edXML:BussinessDocType>7<",
    )
    error = _refused(raw, INVALID_VALUE)
    assert error.line == _line_of(raw, "<edXML:BussinessDocType>7<")


def test_a_status_code_that_is_not_two_digits_is_refused() -> None:
    _refused(_edited(STATUS, "<edXML:StatusCode>01<", "<edXML:StatusCode>1<"), INVALID_VALUE)


def test_an_attachment_that_is_not_base64_is_refused() -> None:
    raw = sample(DOCUMENT).decode()
    start = raw.index("<edXML:ContentTransferEncoded")
    start = raw.index(">", start) + 1
    broken = (raw[:start] + "${__StringFromFile(test.txt,,,)}" + raw[start:]).encode()
    error = _refused(broken, INVALID_VALUE)
    assert error.line == _line_of(broken, "<edXML:ContentTransferEncoded")


def test_the_services_old_dialect_is_not_a_package() -> None:
    raw = b'<edXMLEnvelope xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>'
    assert "<edXML>" in _refused(raw, NOT_EDXML).message


def test_a_dtd_is_refused_and_no_entity_is_expanded() -> None:
    raw = _edited(
        STATUS,
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE edXML [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    )
    _refused(raw, NOT_EDXML)


def test_an_external_entity_is_never_read() -> None:
    raw = (
        b'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&x;</edXML>'
    )
    with pytest.raises(EdxmlError) as caught:
        read(raw)
    assert caught.value.code in (NOT_EDXML, NOT_WELL_FORMED)
    assert "root:" not in str(caught.value)


def test_whitespace_around_values_and_an_empty_response_for_are_tolerated() -> None:
    raw = _edited(
        DOCUMENT,
        "<edXML:SteeringType>1</edXML:SteeringType>",
        "<edXML:SteeringType>\n  1\n</edXML:SteeringType><edXML:ResponseFor><edXML:OrganId>"
        "</edXML:OrganId><edXML:DocumentId></edXML:DocumentId></edXML:ResponseFor>",
    )
    package = read(raw)
    assert isinstance(package, DocumentPackage)
    assert package.steering_type == 1
    assert package.response_for is None


def test_a_status_without_the_document_it_is_about_is_refused() -> None:
    raw = _edited(
        STATUS,
        "<edXML:DocumentId>000.00.00.G22,2015/09/30,7816/VPCP-TTĐT</edXML:DocumentId>",
        "",
    )
    _refused(raw, MISSING_ELEMENT)
    assert isinstance(read(sample(STATUS)), StatusPackage)


def test_day_month_year_timestamps_are_tolerated() -> None:
    from datetime import datetime

    from contracts.edxml import VIETNAM

    raw = _edited(
        STATUS,
        "<edXML:Timestamp>2015/09/20 11:08:36<",
        "<edXML:Timestamp>20/09/2015 11:08:36<",
    )
    package = read(raw)
    assert isinstance(package, StatusPackage)
    assert package.timestamp == datetime(2015, 9, 20, 11, 8, 36, tzinfo=VIETNAM)


def test_prefixed_attachments_are_read_like_unprefixed_ones() -> None:
    raw = sample(DOCUMENT).decode()
    prefixed = raw
    for name in ("AttachmentEncoded", "Attachment", "ContentId", "AttachmentName", "ContentType"):
        prefixed = prefixed.replace(f"    <{name}>", f"    <edXML:{name}>")
        prefixed = prefixed.replace(f"</{name}>", f"</edXML:{name}>")
    prefixed = prefixed.replace(
        "  <AttachmentEncoded>",
        '  <edXML:AttachmentEncoded xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">',
    )
    assert prefixed != raw
    package, original = read(prefixed.encode()), read(raw.encode())
    assert isinstance(package, DocumentPackage) and isinstance(original, DocumentPackage)
    assert package.attachments == original.attachments
    assert [a.size for a in package.attachments] == [4151]


def test_only_the_edxml_and_xlink_prefixes_may_be_undeclared() -> None:
    raw = _edited(STATUS, "<edXML:StatusCode>", '<edXML:StatusCode foo:bar="1">')
    error = _refused(raw, NOT_WELL_FORMED)
    assert "foo" in error.message
    assert error.line == _line_of(raw, "foo:bar")

"""Reading a package: bytes → `DocumentPackage` or `StatusPackage`.

Parsing is safe for untrusted input: no DTD (a package that declares one is refused), no
entity expansion, no network. Strict where the standard is (the root, one `From`, the
required fields, numbers, real dates); tolerant where real senders differ (whitespace around
values, `dd/MM/yyyy` dates, an all-empty `ResponseFor`, `Bussiness` before or after the
`TraceHeader`s, unknown elements, the attachments' prefix).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import TypeAlias, TypeVar

from lxml import etree

from contracts.edxml._dates import parse_date, parse_timestamp
from contracts.edxml._errors import (
    DUPLICATE_ELEMENT,
    INVALID_VALUE,
    MISSING_ELEMENT,
    NOT_EDXML,
    NOT_WELL_FORMED,
    EdxmlError,
)
from contracts.edxml._model import (
    Attachment,
    Business,
    BusinessDocType,
    BusinessDocumentInfo,
    Code,
    DocumentPackage,
    DocumentType,
    ManifestReference,
    Organ,
    OtherInfo,
    Package,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    Signature,
    SignerInfo,
    StaffInfo,
    StatusPackage,
    TraceHeader,
)
from contracts.edxml._names import DS, NS, XLINK, q

T = TypeVar("T")
_Element: TypeAlias = etree._Element
_WHITESPACE = re.compile(rb"\s+")
_UNDECLARED_PREFIX = re.compile(r"^Namespace prefix (edXML|xlink) .* is not defined")
_ROOT_START = re.compile(rb"<edXML(?=[\s>/])")
_WHERE = re.compile(r", line \d+, column \d+$")  # lxml's suffix; the error carries the line
_OTHER_INFO_KNOWN = {
    "Priority",
    "SphereOfPromulgation",
    "TyperNotation",
    "PromulgationAmount",
    "PageAmount",
    "Direction",
    "Appendixes",
}


def parser() -> etree.XMLParser:
    """lxml with no entity expansion, no DTD loading, no network; long base64 texts allowed."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=True,
        remove_comments=True,
        remove_pis=True,
    )


def _declare_known_prefixes(raw: bytes) -> bytes | None:
    """`raw` with `edXML:` and `xlink:` declared on the root when it uses them undeclared.

    A tolerance: the VNPT SDK's templates write `<edXML:AttachmentEncoded>` outside the
    envelope that declares `edXML:`, and `xlink:href` on manifest References, without the
    declarations. Both prefixes have one meaning in edXML. The declarations go on the root's
    own line, so that line numbers stay those of the input. None when nothing can be added.
    """
    match = _ROOT_START.search(raw)
    if match is None:
        return None
    start_tag = raw[match.start() : raw.find(b">", match.start()) + 1]
    missing = b"".join(
        b' xmlns:%s="%s"' % (prefix, uri)
        for prefix, uri in ((b"edXML", NS.encode()), (b"xlink", XLINK.encode()))
        if b"xmlns:" + prefix + b"=" not in start_tag
    )
    if not missing:
        return None
    return raw[: match.end()] + missing + raw[match.end() :]


def _not_well_formed(exc: etree.XMLSyntaxError) -> EdxmlError:
    reason = _WHERE.sub("", exc.msg or "no XML")
    return EdxmlError(NOT_WELL_FORMED, f"not well-formed XML: {reason}", exc.lineno or None)


def parse_root(raw: bytes) -> _Element:
    """The `<edXML>` root of a well-formed package without a DTD."""
    try:
        element = etree.fromstring(raw, parser=parser())
    except etree.XMLSyntaxError as exc:
        fixed = _declare_known_prefixes(raw) if _UNDECLARED_PREFIX.search(exc.msg or "") else None
        if fixed is None:
            raise _not_well_formed(exc) from exc
        try:
            element = etree.fromstring(fixed, parser=parser())
        except etree.XMLSyntaxError as again:  # the same lines: its fault is the one to name
            raise _not_well_formed(again) from again
    tree = element.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise EdxmlError(NOT_EDXML, "a package may not carry a DTD", 1)
    root = tree.getroot()
    if root.tag != q("edXML"):
        raise EdxmlError(
            NOT_EDXML, f"the root element must be <edXML> in the namespace {NS}", root.sourceline
        )
    return root


def read(raw: bytes) -> Package:
    """The package in `raw`; EdxmlError (with the line) when it is not a readable package."""
    root = parse_root(raw)
    envelope = _required(root, "edXMLEnvelope")
    header = _required(envelope, "edXMLHeader")
    message = _required(header, "MessageHeader")
    traces = _one(header, "TraceHeaderList")
    trace_headers = (
        tuple(_trace(n) for n in _all(traces, "TraceHeader")) if traces is not None else ()
    )
    signature = _signature(header)
    if _one(message, "StatusCode") is not None:
        return _status(message, trace_headers, signature)
    return _document(root, envelope, message, traces, trace_headers, signature)


# Element helpers: children in the standard's namespace, one at most where the standard says so.


def _all(parent: _Element | None, name: str) -> list[_Element]:
    return [] if parent is None else list(parent.iterchildren(q(name)))


def _one(parent: _Element | None, name: str) -> _Element | None:
    found = _all(parent, name)
    if len(found) > 1:
        raise EdxmlError(
            DUPLICATE_ELEMENT,
            f"<{name}> appears more than once in <{etree.QName(found[0].getparent()).localname}>",
            found[1].sourceline,
        )
    return found[0] if found else None


def _required(parent: _Element, name: str) -> _Element:
    node = _one(parent, name)
    if node is None:
        raise EdxmlError(
            MISSING_ELEMENT,
            f"<{etree.QName(parent).localname}> has no <{name}>",
            parent.sourceline,
        )
    return node


def _text(parent: _Element | None, name: str) -> str | None:
    node = _one(parent, name)
    if node is None or node.text is None:
        return None
    value = node.text.strip()
    return value or None


def _required_text(parent: _Element, name: str) -> str:
    value = _text(parent, name)
    if value is None:
        raise EdxmlError(
            MISSING_ELEMENT,
            f"<{etree.QName(parent).localname}/{name}> is missing or empty",
            parent.sourceline,
        )
    return value


def _convert(
    parent: _Element | None, name: str, kind: str, convert: Callable[[str], T]
) -> T | None:
    value = _text(parent, name)
    if value is None:
        return None
    try:
        return convert(value)
    except ValueError as exc:
        node = _one(parent, name)
        line = node.sourceline if node is not None else None
        raise EdxmlError(INVALID_VALUE, f"<{name}> is not {kind}: {value!r}", line) from exc


def _int(parent: _Element | None, name: str) -> int | None:
    return _convert(parent, name, "an integer", int)


def _date(parent: _Element | None, name: str) -> date | None:
    return _convert(parent, name, "a date (yyyy/MM/dd)", parse_date)


def _timestamp(parent: _Element | None, name: str) -> datetime | None:
    return _convert(parent, name, "a timestamp (yyyy/MM/dd HH:mm:ss)", parse_timestamp)


def _bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError(value)


def _strings(parent: _Element | None, name: str) -> tuple[str, ...]:
    return tuple(
        n.text.strip() for n in _all(parent, name) if n.text is not None and n.text.strip()
    )


# The parts.


def _organ(node: _Element) -> Organ:
    return Organ(
        organ_id=_required_text(node, "OrganId"),
        organ_name=_text(node, "OrganName"),
        organization_in_charge=_text(node, "OrganizationInCharge"),
        organ_add=_text(node, "OrganAdd"),
        email=_text(node, "Email"),
        telephone=_text(node, "Telephone"),
        fax=_text(node, "Fax"),
        website=_text(node, "Website"),
    )


def _staff(node: _Element | None) -> StaffInfo | None:
    if node is None:
        return None
    return StaffInfo(
        department=_text(node, "Department"),
        staff=_text(node, "Staff"),
        email=_text(node, "Email"),
        mobile=_text(node, "Mobile"),
    )


def _response_for(node: _Element | None) -> ResponseFor | None:
    if node is None:
        return None
    answered = ResponseFor(
        organ_id=_text(node, "OrganId"),
        code=_text(node, "Code"),
        promulgation_date=_date(node, "PromulgationDate"),
        document_id=_text(node, "DocumentId"),
    )
    # Tolerance: some senders leave an all-empty ResponseFor in a package that answers nothing.
    return None if answered == ResponseFor() else answered


def _trace(node: _Element) -> TraceHeader:
    timestamp = _timestamp(node, "Timestamp")
    if timestamp is None:
        raise EdxmlError(MISSING_ELEMENT, "<TraceHeader/Timestamp> is missing", node.sourceline)
    return TraceHeader(organ_id=_required_text(node, "OrganId"), timestamp=timestamp)


def _signature(header: _Element) -> Signature | None:
    # As found: in the XML-DSig namespace, or (legacy SDKs) in the package's default namespace.
    found = [
        c
        for c in header
        if isinstance(c.tag, str) and c.tag in (f"{{{DS}}}Signature", q("Signature"), "Signature")
    ]
    if not found:
        return None
    if len(found) > 1:
        raise EdxmlError(
            DUPLICATE_ELEMENT,
            "<Signature> appears more than once in <edXMLHeader>",
            found[1].sourceline,
        )
    return Signature(xml=etree.tostring(found[0], method="c14n", exclusive=True))


def _other_info(node: _Element | None) -> OtherInfo | None:
    if node is None:
        return None
    extra = tuple(
        (etree.QName(c).localname, (c.text or "").strip())
        for c in node
        if isinstance(c.tag, str) and etree.QName(c).localname not in _OTHER_INFO_KNOWN
    )
    return OtherInfo(
        priority=_int(node, "Priority"),
        sphere_of_promulgation=_text(node, "SphereOfPromulgation"),
        typer_notation=_text(node, "TyperNotation"),
        promulgation_amount=_int(node, "PromulgationAmount"),
        page_amount=_int(node, "PageAmount"),
        direction=_convert(node, "Direction", "true or false", _bool),
        appendixes=_strings(_one(node, "Appendixes"), "Appendix"),
        extra=extra,
    )


def _business(node: _Element | None) -> Business | None:
    if node is None:
        return None
    number = _int(node, "BussinessDocType")
    if number is None:
        raise EdxmlError(
            MISSING_ELEMENT, "<Bussiness/BussinessDocType> is missing", node.sourceline
        )
    try:
        doc_type = BusinessDocType(number)
    except ValueError as exc:
        line = _required(node, "BussinessDocType").sourceline
        raise EdxmlError(
            INVALID_VALUE, f"<BussinessDocType> {number} is not 0, 1, 2 or 3", line
        ) from exc
    replacements = tuple(
        ReplacementInfo(
            document_id=_required_text(r, "DocumentId"),
            organ_ids=_strings(_one(r, "OrganIdList"), "OrganId"),
        )
        for r in _all(_one(node, "ReplacementInfoList"), "ReplacementInfo")
    )
    info = _one(node, "BussinessDocumentInfo")
    document_info = None
    if info is not None:
        document_info = BusinessDocumentInfo(
            document_info=_text(info, "DocumentInfo"),
            document_receiver=_text(info, "DocumentReceiver"),
            receivers=tuple(
                Receiver(
                    organ_id=_required_text(r, "OrganId"), receiver_type=_int(r, "ReceiverType")
                )
                for r in _all(_one(info, "ReceiverList"), "Receiver")
            ),
        )
    return Business(
        doc_type=doc_type,
        reason=_text(node, "BussinessDocReason"),
        document_id=_text(node, "DocumentId"),
        paper=_int(node, "Paper"),
        staff_info=_staff(_one(node, "StaffInfo")),
        replacement_info=replacements,
        document_info=document_info,
    )


def _attachment(node: _Element) -> Attachment:
    encoded = _required(node, "ContentTransferEncoded")
    try:
        content = base64.b64decode(
            _WHITESPACE.sub(b"", (encoded.text or "").encode()), validate=True
        )
    except (binascii.Error, ValueError) as exc:
        raise EdxmlError(
            INVALID_VALUE, "<ContentTransferEncoded> is not base64", encoded.sourceline
        ) from exc
    return Attachment(
        content_id=_required_text(node, "ContentId"),
        name=_required_text(node, "AttachmentName"),
        content_type=_text(node, "ContentType"),
        description=_text(node, "Description"),
        content=content,
    )


def _document(
    root: _Element,
    envelope: _Element,
    message: _Element,
    traces: _Element | None,
    trace_headers: tuple[TraceHeader, ...],
    signature: Signature | None,
) -> DocumentPackage:
    recipients = _all(message, "To")
    if not recipients:
        raise EdxmlError(MISSING_ELEMENT, "<MessageHeader> has no <To>", message.sourceline)
    code = _required(message, "Code")
    promulgation = _required(message, "PromulgationInfo")
    promulgation_date = _date(promulgation, "PromulgationDate")
    if promulgation_date is None:
        raise EdxmlError(
            MISSING_ELEMENT,
            "<PromulgationInfo/PromulgationDate> is missing",
            promulgation.sourceline,
        )
    doc_type = _required(message, "DocumentType")
    type_number = _int(doc_type, "Type")
    if type_number is None:
        raise EdxmlError(MISSING_ELEMENT, "<DocumentType/Type> is missing", doc_type.sourceline)
    signer = _one(message, "SignerInfo")
    manifest = _one(_one(envelope, "edXMLBody"), "edXMLManifest")
    return DocumentPackage(
        from_=_organ(_required(message, "From")),
        to=tuple(_organ(n) for n in recipients),
        document_id=_text(message, "DocumentId"),
        code=Code(
            code_number=_required_text(code, "CodeNumber"),
            code_notation=_required_text(code, "CodeNotation"),
        ),
        promulgation_info=PromulgationInfo(
            place=_text(promulgation, "Place"), promulgation_date=promulgation_date
        ),
        document_type=DocumentType(
            type=type_number,
            type_detail=_int(doc_type, "TypeDetail"),
            type_name=_text(doc_type, "TypeName"),
        ),
        subject=_required_text(message, "Subject"),
        content=_text(message, "Content"),
        signer_info=None
        if signer is None
        else SignerInfo(
            competence=_text(signer, "Competence"),
            position=_text(signer, "Position"),
            full_name=_text(signer, "FullName"),
        ),
        due_date=_date(message, "DueDate"),
        to_places=_strings(_one(message, "ToPlaces"), "Place"),
        other_info=_other_info(_one(message, "OtherInfo")),
        response_for=_response_for(_one(message, "ResponseFor")),
        steering_type=_int(message, "SteeringType"),
        trace_headers=trace_headers,
        business=_business(_one(traces, "Bussiness")),
        signature=signature,
        manifest=tuple(
            ManifestReference(
                content_id=_required_text(r, "ContentId"),
                attachment_name=_text(r, "AttachmentName"),
                content_type=_text(r, "ContentType"),
                description=_text(r, "Description"),
            )
            for r in _all(manifest, "Reference")
        ),
        attachments=tuple(
            _attachment(n) for n in _all(_one(root, "AttachmentEncoded"), "Attachment")
        ),
    )


def _status(
    message: _Element, trace_headers: tuple[TraceHeader, ...], signature: Signature | None
) -> StatusPackage:
    code = _required_text(message, "StatusCode")
    if not code.isdigit() or len(code) != 2:
        line = _required(message, "StatusCode").sourceline
        raise EdxmlError(INVALID_VALUE, f"<StatusCode> {code!r} is not two digits", line)
    response_for = _response_for(_required(message, "ResponseFor"))
    if response_for is None or response_for.document_id is None:
        raise EdxmlError(
            MISSING_ELEMENT, "<ResponseFor/DocumentId> of a status is missing", message.sourceline
        )
    timestamp = _timestamp(message, "Timestamp")
    if timestamp is None:
        raise EdxmlError(
            MISSING_ELEMENT, "<MessageHeader/Timestamp> is missing", message.sourceline
        )
    return StatusPackage(
        from_=_organ(_required(message, "From")),
        response_for=response_for,
        status_code=code,
        description=_text(message, "Description"),
        timestamp=timestamp,
        staff_info=_staff(_one(message, "StaffInfo")),
        trace_headers=trace_headers,
        signature=signature,
    )

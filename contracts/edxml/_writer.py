"""Writing a package: `DocumentPackage` or `StatusPackage` → bytes, in the samples' layout.

`<edXML xmlns=NS>` wraps `<edXML:edXMLEnvelope xmlns:edXML=NS>` (every header and body
element prefixed `edXML:`); a document's attachments follow the envelope in
`<AttachmentEncoded>/<Attachment>` (default namespace), each `ContentTransferEncoded` in
base64 with its own `xmlns:edXML`. Dates `yyyy/MM/dd`, timestamps `yyyy/MM/dd HH:mm:ss`
(UTC+07:00). The Signature is written back as it was read.
"""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import TypeAlias

from lxml import etree

from contracts.edxml._dates import format_date, format_timestamp
from contracts.edxml._errors import INVALID_VALUE, EdxmlError
from contracts.edxml._model import (
    Business,
    DocumentPackage,
    Organ,
    OtherInfo,
    Package,
    ResponseFor,
    Signature,
    StaffInfo,
    TraceHeader,
)
from contracts.edxml._names import NS, PREFIX, q

_Element: TypeAlias = etree._Element
_Value = str | int | bool | date | datetime | None


def _text(value: _Value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return format_date(value)
    return str(value)


def _el(parent: _Element, name: str, value: _Value = None) -> _Element:
    child = etree.SubElement(parent, q(name))
    child.text = _text(value)
    return child


def _opt(parent: _Element, name: str, value: _Value) -> None:
    """The element only when there is a value."""
    if value is not None:
        _el(parent, name, value)


def _organ(parent: _Element, name: str, organ: Organ) -> None:
    node = _el(parent, name)
    _el(node, "OrganId", organ.organ_id)
    _opt(node, "OrganizationInCharge", organ.organization_in_charge)
    _opt(node, "OrganName", organ.organ_name)
    _opt(node, "OrganAdd", organ.organ_add)
    _opt(node, "Email", organ.email)
    _opt(node, "Telephone", organ.telephone)
    _opt(node, "Fax", organ.fax)
    _opt(node, "Website", organ.website)


def _staff(parent: _Element, staff: StaffInfo | None) -> None:
    if staff is None:
        return
    node = _el(parent, "StaffInfo")
    _opt(node, "Department", staff.department)
    _opt(node, "Staff", staff.staff)
    _opt(node, "Email", staff.email)
    _opt(node, "Mobile", staff.mobile)


def _response_for(parent: _Element, answered: ResponseFor | None) -> None:
    if answered is None:
        return
    node = _el(parent, "ResponseFor")
    _opt(node, "OrganId", answered.organ_id)
    _opt(node, "Code", answered.code)
    _opt(node, "PromulgationDate", answered.promulgation_date)
    _opt(node, "DocumentId", answered.document_id)


def _other_info(parent: _Element, other: OtherInfo | None) -> None:
    if other is None:
        return
    node = _el(parent, "OtherInfo")
    _opt(node, "Priority", other.priority)
    _opt(node, "SphereOfPromulgation", other.sphere_of_promulgation)
    _opt(node, "TyperNotation", other.typer_notation)
    _opt(node, "PromulgationAmount", other.promulgation_amount)
    _opt(node, "PageAmount", other.page_amount)
    _opt(node, "Direction", other.direction)
    if other.appendixes:
        appendixes = _el(node, "Appendixes")
        for appendix in other.appendixes:
            _el(appendixes, "Appendix", appendix)
    for name, text in other.extra:
        _el(node, name, text)


def _traces(parent: _Element, traces: tuple[TraceHeader, ...], business: Business | None) -> None:
    if not traces and business is None:
        return
    node = _el(parent, "TraceHeaderList")
    for trace in traces:
        hop = _el(node, "TraceHeader")
        _el(hop, "OrganId", trace.organ_id)
        _el(hop, "Timestamp", trace.timestamp)
    if business is None:
        return
    op = _el(node, "Bussiness")
    _opt(op, "DocumentId", business.document_id)
    _el(op, "BussinessDocType", int(business.doc_type))
    _opt(op, "BussinessDocReason", business.reason)
    _opt(op, "Paper", business.paper)
    if business.replacement_info:
        replacements = _el(op, "ReplacementInfoList")
        for replaced in business.replacement_info:
            item = _el(replacements, "ReplacementInfo")
            _el(item, "DocumentId", replaced.document_id)
            organs = _el(item, "OrganIdList")
            for organ_id in replaced.organ_ids:
                _el(organs, "OrganId", organ_id)
    if business.document_info is not None:
        info = _el(op, "BussinessDocumentInfo")
        _opt(info, "DocumentInfo", business.document_info.document_info)
        _opt(info, "DocumentReceiver", business.document_info.document_receiver)
        if business.document_info.receivers:
            receivers = _el(info, "ReceiverList")
            for receiver in business.document_info.receivers:
                item = _el(receivers, "Receiver")
                _el(item, "OrganId", receiver.organ_id)
                _opt(item, "ReceiverType", receiver.receiver_type)
    _staff(op, business.staff_info)


_SIGNATURE_MARK = "edxml-signature"
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def place_at_header_end(header: _Element, node: _Element) -> None:
    """Append `node` (the Signature, or the mark where it goes) to an indented header with the
    whitespace the header's other children have: a signer and this writer must agree on it,
    since an enveloped signature's digest covers the whitespace around the Signature."""
    last = header[-1] if len(header) else None
    node.tail = last.tail if last is not None else header.tail
    if last is not None:
        last.tail = header.text
    header.append(node)


def _signature_mark(header: _Element, signature: Signature | None) -> None:
    """A comment where the Signature goes: the Signature's own bytes replace it after
    serialising, so that lxml neither re-indents it nor changes its namespace prefix."""
    if signature is not None:
        place_at_header_end(header, etree.Comment(_SIGNATURE_MARK))


def _document_header(message: _Element, package: DocumentPackage) -> None:
    _organ(message, "From", package.from_)
    for recipient in package.to:
        _organ(message, "To", recipient)
    _opt(message, "DocumentId", package.document_id)
    code = _el(message, "Code")
    _el(code, "CodeNumber", package.code.code_number)
    _el(code, "CodeNotation", package.code.code_notation)
    promulgation = _el(message, "PromulgationInfo")
    _opt(promulgation, "Place", package.promulgation_info.place)
    _el(promulgation, "PromulgationDate", package.promulgation_info.promulgation_date)
    doc_type = _el(message, "DocumentType")
    _el(doc_type, "Type", package.document_type.type)
    _opt(doc_type, "TypeDetail", package.document_type.type_detail)
    _opt(doc_type, "TypeName", package.document_type.type_name)
    _el(message, "Subject", package.subject)
    _opt(message, "Content", package.content)
    if package.signer_info is not None:
        signer = _el(message, "SignerInfo")
        _opt(signer, "Competence", package.signer_info.competence)
        _opt(signer, "Position", package.signer_info.position)
        _opt(signer, "FullName", package.signer_info.full_name)
    _opt(message, "DueDate", package.due_date)
    _other_info(message, package.other_info)
    _response_for(message, package.response_for)
    _opt(message, "SteeringType", package.steering_type)
    if package.to_places:
        places = _el(message, "ToPlaces")
        for place in package.to_places:
            _el(places, "Place", place)


def _attachments(root: _Element, package: DocumentPackage) -> None:
    if not package.attachments:
        return
    # The samples' layout: AttachmentEncoded in the root's default namespace, unprefixed.
    encoded = etree.SubElement(root, q("AttachmentEncoded"))
    for a in package.attachments:
        node = etree.SubElement(encoded, q("Attachment"))
        for name, value in (
            ("ContentId", a.content_id),
            ("AttachmentName", a.name),
            ("Description", a.description),
            ("ContentType", a.content_type),
        ):
            if value is not None:
                etree.SubElement(node, q(name)).text = value
        data = etree.SubElement(node, q("ContentTransferEncoded"), nsmap={PREFIX: NS})
        data.text = base64.b64encode(a.content).decode("ascii")


def to_tree(package: Package) -> _Element:
    """The package's elements, without its Signature (see `write`)."""
    root = etree.Element(q("edXML"), nsmap={None: NS})
    envelope = etree.SubElement(root, q("edXMLEnvelope"), nsmap={PREFIX: NS})
    header = _el(envelope, "edXMLHeader")
    message = _el(header, "MessageHeader")
    if isinstance(package, DocumentPackage):
        _document_header(message, package)
        _traces(header, package.trace_headers, package.business)
        body = _el(envelope, "edXMLBody")
        manifest = _el(body, "edXMLManifest")
        manifest.set("version", "1.0")
        for ref in package.manifest:
            item = _el(manifest, "Reference")
            _el(item, "ContentId", ref.content_id)
            _opt(item, "ContentType", ref.content_type)
            _opt(item, "Description", ref.description)
            _opt(item, "AttachmentName", ref.attachment_name)
        _attachments(root, package)
    else:
        _organ(message, "From", package.from_)
        _response_for(message, package.response_for)
        _staff(message, package.staff_info)
        _el(message, "StatusCode", package.status_code)
        _opt(message, "Description", package.description)
        _el(message, "Timestamp", package.timestamp)
        _traces(header, package.trace_headers, None)
    return root


def write(package: Package) -> bytes:
    """The package as UTF-8 XML bytes, indented like the samples; EdxmlError when a value
    holds a character XML cannot carry (a control character)."""
    try:
        root = to_tree(package)
    except ValueError as exc:  # lxml: a control character or a lone surrogate in a value
        raise EdxmlError(INVALID_VALUE, f"a value XML cannot carry: {exc}") from exc
    etree.indent(root, space="  ")
    header = root.find(f"{q('edXMLEnvelope')}/{q('edXMLHeader')}")
    assert header is not None
    _signature_mark(header, package.signature)
    body: bytes = etree.tostring(root, xml_declaration=False, encoding="UTF-8")
    result = _DECLARATION + body + b"\n"
    if package.signature is not None:
        result = result.replace(f"<!--{_SIGNATURE_MARK}-->".encode(), package.signature.xml, 1)
    return result

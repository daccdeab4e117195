"""edXML packages (QCVN 102:2016/BTTTT): building, XML-DSig signing, parsing, verifying.

Layout: `edXMLEnvelope/edXMLHeader/{MessageHeader, TraceHeaderList, ds:Signature}` and
`edXMLEnvelope/edXMLBody/AttachmentEncoded/Attachment` (base64). The signature is enveloped
(`Reference URI=""`), RSA-SHA256 with SHA-256 digests, and carries the signer's X.509
certificate; a receiver verifies it with the certificate it holds for the From organ.
`MessageHeader/OtherInfo/ExchangeId` (this platform's document id) is an extension.

A received package is read only in the one shape that binds the signature to all of it (see
`enveloped_signature`): a signature over some other element (a `Reference` to `#id`, several
references, a second `Signature` elsewhere) is how a wrapped package makes a reader trust content
that was not signed, so such a package is refused before anything in it is believed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml import DigestAlgorithm, SignatureConfiguration, SignatureMethod, XMLSigner, XMLVerifier
from signxml import methods as signxml_methods
from signxml.exceptions import InvalidDigest, InvalidInput, InvalidSignature

from services.documents.documents.exchange import DOCUMENT_TYPES, TYPE_BY_NUMBER
from services.documents.models import Attachment, Document

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DS = "http://www.w3.org/2000/09/xmldsig#"
MEDIA_TYPE = "application/xml"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
# Where a package's one Signature sits, relative to its root element.
SIGNATURE_PARENT = "edXMLHeader"
# The canonicalizations a Reference may apply after the enveloped-signature transform: only the
# forms without comments, so that nothing the digest leaves out can be read as content.
C14N_WITHOUT_COMMENTS = frozenset(
    {
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
        "http://www.w3.org/2006/12/xml-c14n11",
        "http://www.w3.org/2001/10/xml-exc-c14n#",
    }
)


class PackageError(ValueError):
    """Not an edXML package this service can read."""


@dataclass(frozen=True)
class OrganRef:
    code: str
    name: str


@dataclass
class ParsedAttachment:
    content_id: str
    name: str
    content_type: str
    content: bytes
    declared_sha256: str | None


@dataclass
class ParsedPackage:
    exchange_id: str
    edxml_id: str
    from_organ: str
    to_organs: list[str]
    code_number: str
    code_notation: str
    document_type: str
    subject: str
    content: str | None
    promulgation_place: str
    promulgation_date: date
    signer_full_name: str
    signer_position: str
    signer_competence: str | None
    due_date: date | None
    steering_type: int
    priority: int
    response_for_edxml_id: str | None
    sent_at: datetime
    attachments: list[ParsedAttachment] = field(default_factory=list)


def _el(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, f"{{{NS}}}{tag}")
    if text is not None:
        child.text = text
    return child


def _organ(parent: etree._Element, tag: str, organ: OrganRef) -> None:
    node = _el(parent, tag)
    _el(node, "OrganId", organ.code)
    _el(node, "OrganName", organ.name)


def build(
    document: Document,
    sender: OrganRef,
    recipients: list[OrganRef],
    attachments: list[Attachment],
    *,
    response_for: Document | None,
    tz: tzinfo,
) -> etree._Element:
    """The unsigned package of a document, with the Signature placeholder in its header."""
    root = etree.Element(f"{{{NS}}}edXMLEnvelope", nsmap={None: NS})
    header = _el(root, "edXMLHeader")
    message = _el(header, "MessageHeader")
    _organ(message, "From", sender)
    for recipient in recipients:
        _organ(message, "To", recipient)
    _el(message, "DocumentId", document.edxml_id)
    code = _el(message, "Code")
    _el(code, "CodeNumber", document.code_number)
    _el(code, "CodeNotation", document.code_notation)
    promulgation = _el(message, "PromulgationInfo")
    _el(promulgation, "Place", document.promulgation_place)
    _el(promulgation, "PromulgationDate", document.promulgation_date.isoformat())
    number, name = DOCUMENT_TYPES[document.document_type]
    doc_type = _el(message, "DocumentType")
    _el(doc_type, "Type", str(number))
    _el(doc_type, "TypeName", name)
    _el(message, "Subject", document.subject)
    if document.content is not None:
        _el(message, "Content", document.content)
    signer = _el(message, "SignerInfo")
    if document.signer_competence:
        _el(signer, "Competence", document.signer_competence)
    _el(signer, "Position", document.signer_position)
    _el(signer, "FullName", document.signer_full_name)
    if document.due_date is not None:
        _el(message, "DueDate", document.due_date.isoformat())
    _el(message, "SteeringType", str(document.steering_type))
    if response_for is not None:
        answered = _el(message, "ResponseFor")
        _el(answered, "OrganId", response_for.from_organ)
        _el(answered, "Code", f"{response_for.code_number}/{response_for.code_notation}")
        _el(answered, "PromulgationDate", response_for.promulgation_date.isoformat())
        _el(answered, "DocumentId", response_for.edxml_id)
    other = _el(message, "OtherInfo")
    _el(other, "Priority", str(document.priority))
    _el(other, "ExchangeId", document.id)
    traces = _el(header, "TraceHeaderList")
    trace = _el(traces, "TraceHeader")
    _el(trace, "OrganId", sender.code)
    _el(trace, "Timestamp", document.sent_at.astimezone(tz).isoformat())
    placeholder = etree.SubElement(header, f"{{{DS}}}Signature", nsmap={None: DS})
    placeholder.set("Id", "placeholder")
    body = _el(root, "edXMLBody")
    encoded = _el(body, "AttachmentEncoded")
    for a in sorted(attachments, key=lambda a: a.position):
        node = _el(encoded, "Attachment")
        _el(node, "ContentId", a.content_id)
        _el(node, "AttachmentName", a.name)
        _el(node, "ContentType", a.content_type)
        digest = _el(node, "Digest", a.sha256)
        digest.set("Algorithm", "SHA-256")
        _el(node, "ContentTransferEncode", "base64")
        _el(node, "Value", base64.b64encode(a.content).decode())
    return root


def _signer() -> XMLSigner:
    return XMLSigner(
        method=signxml_methods.enveloped,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
    )


def sign(root: etree._Element, key: rsa.RSAPrivateKey, certificate_pem: str) -> bytes:
    signed = _signer().sign(root, key=key, cert=[certificate_pem])
    result: bytes = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
    return result


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def read_root(raw: bytes) -> etree._Element:
    try:
        root = etree.fromstring(raw, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise PackageError(f"not well-formed XML: {exc}") from exc
    if root.getroottree().docinfo.doctype:
        raise PackageError("a package must not carry a document type declaration (DOCTYPE)")
    if root.tag != f"{{{NS}}}edXMLEnvelope":
        raise PackageError(f"the root element must be edXMLEnvelope in the namespace {NS}")
    return root


class VerificationFailed(Exception):
    """The package's signature does not hold; the message says why."""


class SignatureShapeError(PackageError):
    """The package is signed, but not in the one shape that binds the signature to all of it."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def enveloped_signature(root: etree._Element) -> etree._Element | None:
    """The package's Signature when its shape binds it to the whole package; None if unsigned.

    The one shape read: a single `ds:Signature` in the whole document, a child of
    `edXMLEnvelope/edXMLHeader`, holding only SignedInfo, SignatureValue and KeyInfo, whose
    SignedInfo has exactly one Reference, with `URI=""`
    (the whole document), the enveloped-signature transform and at most one canonicalization
    without comments after it. Then the element the signature covers is the package root itself,
    and every check made on the root is made on signed content. Any other shape raises
    SignatureShapeError (`signature_misplaced` or `signature_not_enveloped`).
    """
    signatures = list(root.iter(f"{{{DS}}}Signature"))
    if not signatures:
        return None
    if len(signatures) > 1:
        raise SignatureShapeError(
            f"the package carries {len(signatures)} Signature elements; exactly one is allowed, "
            "in edXMLEnvelope/edXMLHeader",
            "signature_misplaced",
        )
    signature = signatures[0]
    if signature.getparent() is not root.find(f"{{{NS}}}{SIGNATURE_PARENT}"):
        raise SignatureShapeError(
            f"the Signature must be a child of {etree.QName(root).localname}/{SIGNATURE_PARENT}",
            "signature_misplaced",
        )
    parts = [etree.QName(child).text for child in signature if isinstance(child.tag, str)]
    allowed = [f"{{{DS}}}SignedInfo", f"{{{DS}}}SignatureValue", f"{{{DS}}}KeyInfo"]
    if parts.count(allowed[0]) != 1 or any(p not in allowed for p in parts):
        raise SignatureShapeError(
            "the Signature must hold one SignedInfo, its SignatureValue and at most a KeyInfo "
            "(an Object or any other content in it would not be signed)",
            "signature_not_enveloped",
        )
    references = signature.findall(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")
    if len(references) != 1:
        raise SignatureShapeError(
            f'the signature has {len(references)} References; exactly one, with URI="" '
            "(the whole package), is allowed",
            "signature_not_enveloped",
        )
    uri = references[0].get("URI")
    if uri != "":
        shown = "no URI" if uri is None else f"URI={uri!r}"
        raise SignatureShapeError(
            f'the signature\'s Reference has {shown}; only URI="" (the whole package) is accepted',
            "signature_not_enveloped",
        )
    transforms = [
        t.get("Algorithm") for t in references[0].iterfind(f"{{{DS}}}Transforms/{{{DS}}}Transform")
    ]
    if (
        not transforms
        or transforms[0] != ENVELOPED
        or len(transforms) > 2
        or any(t not in C14N_WITHOUT_COMMENTS for t in transforms[1:])
    ):
        raise SignatureShapeError(
            "the signature's Reference must apply the enveloped-signature transform, then at "
            f"most one canonicalization without comments; it applies {transforms}",
            "signature_not_enveloped",
        )
    return signature


def verify_enveloped(root: etree._Element, certificate_pem: str) -> etree._Element:
    """The signed content of a package (its root without the Signature, canonicalized), when
    the package has the enveloped shape and its signature verifies with the given certificate.

    Raises SignatureShapeError for any other shape and VerificationFailed when the signature
    does not hold. What it returns is re-read from the canonical bytes that were digested, so
    comments and other unsigned nodes are gone from it.
    """
    if enveloped_signature(root) is None:
        raise VerificationFailed("the package is not signed")
    config = SignatureConfiguration(
        location=f"./{{{NS}}}edXMLHeader/",
        signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
        digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
        expect_references=1,
    )
    try:
        result = XMLVerifier().verify(
            root, x509_cert=certificate_pem, expect_config=config, parser=_parser()
        )
    except InvalidDigest as exc:
        raise VerificationFailed(
            "the package content does not match its signature (altered after signing)"
        ) from exc
    except InvalidSignature as exc:
        raise VerificationFailed(
            "the signature does not verify with the sender's registered certificate "
            "(wrong key or altered signature)"
        ) from exc
    except InvalidInput as exc:
        raise VerificationFailed(f"the package signature is missing or malformed: {exc}") from exc
    except (etree.DocumentInvalid, ValueError) as exc:  # schema, base64, unknown algorithm
        raise VerificationFailed(f"the package signature is malformed: {exc}") from exc
    if isinstance(result, list):  # only with expect_references > 1
        raise VerificationFailed("the package carries more than one signed reference")
    signed = result.signed_xml
    if signed is None or signed.tag != root.tag:
        raise VerificationFailed("the signed content is not the package")
    return signed


def _find(node: etree._Element, path: str) -> etree._Element | None:
    steps = "/".join(f"e:{step}" for step in path.split("/"))
    found = node.find(steps, namespaces={"e": NS})
    return found


def _text(node: etree._Element, path: str, *, required: bool = True) -> str | None:
    found = _find(node, path)
    if found is None or found.text is None or not found.text.strip():
        if required:
            raise PackageError(f"{path} is missing")
        return None
    return found.text.strip()


def _req(node: etree._Element, path: str) -> str:
    value = _text(node, path)
    assert value is not None
    return value


def _date(value: str, path: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise PackageError(f"{path} is not a date (YYYY-MM-DD)") from exc


def _int(value: str, path: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise PackageError(f"{path} is not an integer") from exc


def parse(root: etree._Element) -> ParsedPackage:
    """Read a package's header and attachments (call on verified content when it verifies)."""
    for path in ("edXMLHeader", "edXMLHeader/MessageHeader", "edXMLHeader/MessageHeader/From"):
        if len(root.findall("/".join(f"e:{s}" for s in path.split("/")), {"e": NS})) > 1:
            raise PackageError(f"{path} appears more than once")
    message = _find(root, "edXMLHeader/MessageHeader")
    if message is None:
        raise PackageError("edXMLHeader/MessageHeader is missing")
    recipients = [
        (to.findtext(f"{{{NS}}}OrganId") or "").strip() for to in message.findall(f"{{{NS}}}To")
    ]
    if not recipients or not all(recipients):
        raise PackageError("MessageHeader/To/OrganId is missing")
    if len(set(recipients)) != len(recipients):
        raise PackageError("a To organ is named twice")
    exchange_id = _req(message, "OtherInfo/ExchangeId")
    try:
        uuid.UUID(exchange_id)
    except ValueError as exc:
        raise PackageError("OtherInfo/ExchangeId is not a UUID") from exc
    type_number = _int(_req(message, "DocumentType/Type"), "DocumentType/Type")
    if type_number not in TYPE_BY_NUMBER:
        raise PackageError(f"DocumentType/Type {type_number} is not a known document type")
    timestamp = _req(root, "edXMLHeader/TraceHeaderList/TraceHeader/Timestamp")
    try:
        sent_at = datetime.fromisoformat(timestamp)
    except ValueError as exc:
        raise PackageError("TraceHeader/Timestamp is not an RFC 3339 time") from exc
    if sent_at.tzinfo is None:
        raise PackageError("TraceHeader/Timestamp has no UTC offset")
    due = _text(message, "DueDate", required=False)
    return ParsedPackage(
        exchange_id=exchange_id,
        edxml_id=_req(message, "DocumentId"),
        from_organ=_req(message, "From/OrganId"),
        to_organs=recipients,
        code_number=_req(message, "Code/CodeNumber"),
        code_notation=_req(message, "Code/CodeNotation"),
        document_type=TYPE_BY_NUMBER[type_number],
        subject=_req(message, "Subject"),
        content=_text(message, "Content", required=False),
        promulgation_place=_req(message, "PromulgationInfo/Place"),
        promulgation_date=_date(
            _req(message, "PromulgationInfo/PromulgationDate"), "PromulgationDate"
        ),
        signer_full_name=_req(message, "SignerInfo/FullName"),
        signer_position=_req(message, "SignerInfo/Position"),
        signer_competence=_text(message, "SignerInfo/Competence", required=False),
        due_date=_date(due, "DueDate") if due else None,
        steering_type=_int(_text(message, "SteeringType", required=False) or "0", "SteeringType"),
        priority=_int(_text(message, "OtherInfo/Priority", required=False) or "0", "Priority"),
        response_for_edxml_id=_text(message, "ResponseFor/DocumentId", required=False),
        sent_at=sent_at,
        attachments=[_attachment(node) for node in _attachment_nodes(root)],
    )


def _attachment_nodes(root: etree._Element) -> list[etree._Element]:
    encoded = _find(root, "edXMLBody/AttachmentEncoded")
    return [] if encoded is None else list(encoded.findall(f"{{{NS}}}Attachment"))


def _attachment(node: etree._Element) -> ParsedAttachment:
    try:
        content = base64.b64decode(_req(node, "Value"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PackageError("Attachment/Value is not base64") from exc
    return ParsedAttachment(
        content_id=_req(node, "ContentId"),
        name=_req(node, "AttachmentName"),
        content_type=_req(node, "ContentType"),
        content=content,
        declared_sha256=_text(node, "Digest", required=False),
    )


def attachment_digests_hold(package: ParsedPackage) -> str | None:
    for a in package.attachments:
        if (
            a.declared_sha256 is not None
            and a.declared_sha256 != hashlib.sha256(a.content).hexdigest()
        ):
            return f"attachment {a.name!r} does not match its declared SHA-256 digest"
    return None

"""edXML packages (QCVN 102:2016/BTTTT) as the documents service reads and writes them.

Reading and writing go through the codec `contracts.edxml` (the `<edXML>` root, attachments
beside the envelope, the standard's dates, `DocumentType` numbers, `DocumentId`, business
info); this module adds what the service needs on top: the one signature shape it accepts,
verifying it against a certificate the service trusts, and the package of a stored document.

The accepted signature shape (the service's "enveloped"; docs/edxml.md, "Signature policy"):
exactly one `Signature` element in the whole package (in the XML-DSig namespace, or in the
package's own namespace as the VNPT SDK writes it), a child of `edXML/edXMLEnvelope/edXMLHeader`,
holding one `SignedInfo`, its `SignatureValue` and at most a `KeyInfo`, whose `SignedInfo` has
exactly one `Reference` with `URI=""` (the whole package) applying the enveloped-signature
transform and then at most one canonicalization without comments. Then the element the
signature covers is the package root itself, and every check made on the package is made on
signed content. A signature over some other element (a `Reference` to `#id`, several
references, a second `Signature` elsewhere, an `Object`) is how a wrapped package makes a reader
trust content that was not signed: such a package is refused before anything in it is believed.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml import DigestAlgorithm, SignatureConfiguration, SignatureMethod, XMLVerifier
from signxml.exceptions import InvalidDigest, InvalidInput, InvalidSignature

from contracts import edxml as codec
from contracts.edxml._reader import parse_root, parser
from services.documents.documents.exchange import type_name_of
from services.documents.models import Attachment, Document, Organ

NS = codec.NS
DS = codec.DS
MEDIA_TYPE = codec.MEDIA_TYPE
# OpenAPI of an answer that is an edXML package.
XML_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"content": {MEDIA_TYPE: {"schema": {"type": "string"}}}}
}


def xml_body(example: str) -> dict[str, Any]:
    """OpenAPI of a request whose body is an edXML package (`openapi_extra`), with an example."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}, "example": example}
            },
        }
    }


ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
# The canonicalizations a Reference may apply after the enveloped-signature transform: only the
# forms without comments, so that nothing the digest leaves out can be read as content.
C14N_WITHOUT_COMMENTS = frozenset(
    {
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
        "http://www.w3.org/2006/12/xml-c14n11",
        "http://www.w3.org/2001/10/xml-exc-c14n#",
    }
)
# The exclusive C14N URI as the VNPT SDK writes it (the recommendation's is the one above).
# Accepted as a shape (it names a canonicalization without comments), but XML-DSig does not
# define it, so such a signature cannot be checked: the package is stored as unverified.
SDK_EXC_C14N = "http://www.w3.org/TR/xml-exc-c14n#"
# Administrative documents (văn bản hành chính): the `Type` written for a document sent here;
# the kind of document travels in `TypeName` (see docs/edxml.md).
ADMINISTRATIVE = 1
# The platform's document id, an `OtherInfo` extension that the codec keeps.
EXCHANGE_ID = "ExchangeId"
# Ids of packages without an ExchangeId: derived from their sender and DocumentId.
PACKAGE_IDS = uuid.UUID("7d1c1e52-4f0a-4a57-9a38-2f8f3c7e0b16")


class PackageError(ValueError):
    """Not an edXML document package this service can read; `line` when known."""

    def __init__(
        self,
        message: str,
        code: str = "invalid_package",
        line: int | None = None,
        reason: str | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.line = line
        self.reason = reason  # the codec's code: not_well_formed, not_edxml, missing_element…


class SignatureShapeError(PackageError):
    """The package is signed, but not in the one shape that binds the signature to all of it."""


class VerificationFailed(Exception):
    """The package's signature does not hold; the message says why."""


def read(raw: bytes) -> tuple[etree._Element, codec.DocumentPackage]:
    """The package's tree and its content read by the codec; PackageError when unreadable or
    when it is a status package (those are applied elsewhere)."""
    try:
        package = codec.read(raw)
        root = parse_root(raw)
    except codec.EdxmlError as exc:
        where = f"line {exc.line}: " if exc.line is not None else ""
        raise PackageError(f"{where}{exc.message}", line=exc.line, reason=exc.code) from exc
    if not isinstance(package, codec.DocumentPackage):
        raise PackageError(
            "a status package is not a document; it is applied to the document it names",
            code="not_a_document",
        )
    return root, package


def _signature_nodes(root: etree._Element) -> list[etree._Element]:
    return [
        node
        for node in root.iter(f"{{{DS}}}Signature", f"{{{NS}}}Signature")
        if isinstance(node.tag, str)
    ]


def enveloped_signature(root: etree._Element) -> etree._Element | None:
    """The package's Signature when its shape binds it to the whole package; None if unsigned.
    Any other shape raises SignatureShapeError (`signature_misplaced`, `signature_not_enveloped`).
    """
    signatures = _signature_nodes(root)
    if not signatures:
        return None
    if len(signatures) > 1:
        raise SignatureShapeError(
            f"the package carries {len(signatures)} Signature elements; exactly one is allowed, "
            "in edXMLEnvelope/edXMLHeader",
            "signature_misplaced",
        )
    signature = signatures[0]
    header = root.find(f"{{{NS}}}edXMLEnvelope/{{{NS}}}edXMLHeader")
    if header is None or signature.getparent() is not header:
        raise SignatureShapeError(
            "the Signature must be a child of edXML/edXMLEnvelope/edXMLHeader",
            "signature_misplaced",
        )
    ns = etree.QName(signature).namespace
    allowed = [f"{{{ns}}}SignedInfo", f"{{{ns}}}SignatureValue", f"{{{ns}}}KeyInfo"]
    parts = [child.tag for child in signature if isinstance(child.tag, str)]
    if parts.count(allowed[0]) != 1 or parts.count(allowed[1]) != 1:
        raise SignatureShapeError(
            "the Signature must hold one SignedInfo, its SignatureValue and at most a KeyInfo",
            "signature_not_enveloped",
        )
    if any(p not in allowed for p in parts) or parts.count(allowed[2]) > 1:
        raise SignatureShapeError(
            "the Signature must hold one SignedInfo, its SignatureValue and at most a KeyInfo "
            "(an Object or any other content in it would not be signed)",
            "signature_not_enveloped",
        )
    references = signature.findall(f"{{{ns}}}SignedInfo/{{{ns}}}Reference")
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
        t.get("Algorithm") for t in references[0].iterfind(f"{{{ns}}}Transforms/{{{ns}}}Transform")
    ]
    if (
        not transforms
        or transforms[0] != ENVELOPED
        or len(transforms) > 2
        or any(t not in C14N_WITHOUT_COMMENTS | {SDK_EXC_C14N} for t in transforms[1:])
    ):
        raise SignatureShapeError(
            "the signature's Reference must apply the enveloped-signature transform, then at "
            f"most one canonicalization without comments; it applies {transforms}",
            "signature_not_enveloped",
        )
    return signature


def algorithm_of(signature: etree._Element) -> str | None:
    """`rsa-sha1`, `rsa-sha256`…: the fragment of SignatureMethod/@Algorithm."""
    ns = etree.QName(signature).namespace
    method = signature.find(f"{{{ns}}}SignedInfo/{{{ns}}}SignatureMethod")
    uri = (method.get("Algorithm") or "").strip() if method is not None else ""
    return uri.rsplit("#", 1)[-1].lower() if uri else None


def signature_value(signature: etree._Element) -> str:
    ns = etree.QName(signature).namespace
    return "".join((signature.findtext(f"{{{ns}}}SignatureValue") or "").split())


def uncheckable(signature: etree._Element) -> str | None:
    """Why a signature of the accepted shape cannot be checked at all, or None."""
    if etree.QName(signature).namespace != DS:
        return (
            "the Signature is in the package's namespace, not XML-DSig's, so it cannot be checked"
        )
    if SDK_EXC_C14N in {t.get("Algorithm") for t in signature.iter(f"{{{DS}}}Transform")}:
        return f"the signature uses the transform {SDK_EXC_C14N}, which XML-DSig does not define"
    return None


def verify_enveloped(
    root: etree._Element, certificate_pem: str, *, allow_sha1: bool
) -> etree._Element:
    """The signed content of a package (its root without the Signature, canonicalized), when
    the package has the enveloped shape and its signature verifies with the certificate.

    RSA-SHA256 with SHA-256 digests; RSA-SHA1 with SHA-1 digests too when `allow_sha1`.
    Raises VerificationFailed when the signature does not hold.
    """
    if enveloped_signature(root) is None:
        raise VerificationFailed("the package is not signed")
    methods = {SignatureMethod.RSA_SHA256}
    digests = {DigestAlgorithm.SHA256}
    if allow_sha1:
        methods.add(SignatureMethod.RSA_SHA1)
        digests.add(DigestAlgorithm.SHA1)
    config = SignatureConfiguration(
        location=f"./{{{NS}}}edXMLEnvelope/{{{NS}}}edXMLHeader/",
        signature_methods=frozenset(methods),
        digest_algorithms=frozenset(digests),
        expect_references=1,
    )
    try:
        result = XMLVerifier().verify(
            root, x509_cert=certificate_pem, expect_config=config, parser=parser()
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


def signed_content(signed: etree._Element) -> codec.DocumentPackage:
    """What the signature covers, read by the codec (without the signature itself)."""
    try:
        package = codec.read(etree.tostring(signed))
    except codec.EdxmlError as exc:
        raise VerificationFailed(f"the signed content is not a readable package: {exc}") from exc
    if not isinstance(package, codec.DocumentPackage):
        raise VerificationFailed("the signed content is not a document package")
    return package


def has_unsigned_nodes(raw: bytes) -> bool:
    """Comments or processing instructions inside the package's root: the digest leaves them
    out (and the codec does not read them), so a reader of the raw package, kept and exported,
    could read other text than was signed."""
    keeping = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True
    )
    try:
        root = etree.fromstring(raw, parser=keeping)
    except etree.XMLSyntaxError:  # a tolerated undeclared prefix: look at the bytes
        body = re.sub(rb"^\s*<\?xml[^>]*\?>", b"", raw)
        return b"<!--" in body or b"<?" in body
    return any(
        isinstance(node, etree._Comment | etree._ProcessingInstruction) for node in root.iter()
    )


def without_signature(package: codec.DocumentPackage) -> codec.DocumentPackage:
    return dataclasses.replace(package, signature=None)


def exchange_id(package: codec.DocumentPackage) -> str:
    """The platform's id of the document a package carries: its `OtherInfo/ExchangeId` when it
    is a UUID (packages written by this platform), otherwise one derived from the sender and
    the `DocumentId` (the same package always gets the same id)."""
    other = package.other_info
    for name, value in other.extra if other is not None else ():
        if name == EXCHANGE_ID:
            try:
                return str(uuid.UUID(value))
            except ValueError:
                break
    key = f"{package.from_.organ_id}|{package.document_id or document_id_of(package)}"
    return str(uuid.uuid5(PACKAGE_IDS, key))


def document_id_of(package: codec.DocumentPackage) -> str:
    """The package's `DocumentId`, or the one the standard would give it."""
    if package.document_id:
        return package.document_id
    day = package.promulgation_info.promulgation_date
    code = package.code
    return f"{package.from_.organ_id},{day:%Y/%m/%d},{code.code_number}/{code.code_notation}"


def document_type_of(document: Document) -> codec.DocumentType:
    """`DocumentType` as received, or for a document sent here: an administrative document
    (Type 1) whose `TypeName` is the kind (Công văn, Quyết định…)."""
    if document.edxml_type is not None:
        return codec.DocumentType(
            document.edxml_type, document.edxml_type_detail, document.edxml_type_name
        )
    return codec.DocumentType(ADMINISTRATIVE, None, type_name_of(document.document_type))


def package_of(
    document: Document,
    sender: Organ,
    recipients: list[Organ],
    attachments: list[Attachment],
    *,
    response_for: Document | None,
) -> codec.DocumentPackage:
    """The unsigned package of a stored document, in the standard's layout."""
    files = sorted(attachments, key=lambda a: a.position)
    answered = None
    if response_for is not None:
        answered = codec.ResponseFor(
            organ_id=response_for.from_organ,
            code=f"{response_for.code_number}/{response_for.code_notation}",
            promulgation_date=response_for.promulgation_date,
            document_id=response_for.edxml_id,
        )
    return codec.DocumentPackage(
        from_=codec.Organ(sender.code, sender.name),
        to=tuple(codec.Organ(o.code, o.name) for o in recipients),
        document_id=document.edxml_id,
        code=codec.Code(document.code_number, document.code_notation),
        promulgation_info=codec.PromulgationInfo(
            document.promulgation_place or None, document.promulgation_date
        ),
        document_type=document_type_of(document),
        subject=document.subject,
        content=document.content,
        signer_info=codec.SignerInfo(
            competence=document.signer_competence or None,
            position=document.signer_position or None,
            full_name=document.signer_full_name or None,
        ),
        due_date=document.due_date,
        other_info=codec.OtherInfo(priority=document.priority, extra=((EXCHANGE_ID, document.id),)),
        steering_type=document.steering_type,
        response_for=answered,
        trace_headers=(codec.TraceHeader(sender.code, document.sent_at),),
        business=codec.Business(doc_type=codec.BusinessDocType.NEW),
        manifest=tuple(
            codec.ManifestReference(a.content_id, a.name, a.content_type) for a in files
        ),
        attachments=tuple(
            codec.Attachment(a.content_id, a.name, a.content_type, a.content) for a in files
        ),
    )


def signed_package(
    package: codec.DocumentPackage, key: rsa.RSAPrivateKey, certificate_pem: str
) -> bytes:
    """The package written by the codec and signed RSA-SHA256 (enveloped, in the header)."""
    return codec.sign(codec.write(package), key, certificate_pem, algorithm="rsa-sha256")

"""The canonical form a document is signed over, and RSA signing and verification of it.

The form is the JSON of the header fields and the attachments' digests (not their bytes),
with sorted keys, no insignificant whitespace, UTF-8, times in UTC: any change to a header
field or to an attachment's bytes changes it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from datetime import UTC
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from services.documents.models import Attachment, Document

ALGORITHM = "RSASSA-PKCS1-v1_5-SHA256"


def canonical_form(
    document: Document, to_organs: list[str], attachments: list[Attachment]
) -> bytes:
    header: dict[str, Any] = {
        "id": document.id,
        "edxml_id": document.edxml_id,
        "from_organ": document.from_organ,
        "to_organs": list(to_organs),
        "code_number": document.code_number,
        "code_notation": document.code_notation,
        "document_type": document.document_type,
        "subject": document.subject,
        "content": document.content,
        "promulgation": {
            "place": document.promulgation_place,
            "date": document.promulgation_date.isoformat(),
        },
        "signer": {
            "full_name": document.signer_full_name,
            "position": document.signer_position,
            "competence": document.signer_competence,
        },
        "due_date": document.due_date.isoformat() if document.due_date else None,
        "steering_type": document.steering_type,
        "priority": document.priority,
        "response_for": document.response_for,
        "sent_at": document.sent_at.astimezone(UTC).isoformat(),
    }
    files = [
        {
            "content_id": a.content_id,
            "name": a.name,
            "content_type": a.content_type,
            "size": a.size,
            "sha256": a.sha256,
        }
        for a in sorted(attachments, key=lambda a: a.position)
    ]
    return json.dumps(
        {"document": header, "attachments": files},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def digest(form: bytes) -> str:
    return hashlib.sha256(form).hexdigest()


def sign(form: bytes, key: rsa.RSAPrivateKey) -> str:
    return base64.b64encode(key.sign(form, padding.PKCS1v15(), hashes.SHA256())).decode()


@functools.lru_cache(maxsize=1024)
def public_key_of(certificate_pem: str) -> PublicKeyTypes:
    """The public key of a PEM certificate, parsed once per certificate (they are few: one per
    organ) instead of once per verification."""
    return x509.load_pem_x509_certificate(certificate_pem.encode()).public_key()


def verify(form: bytes, signature_b64: str, certificate_pem: str) -> str | None:
    """None when the signature holds; otherwise why it does not."""
    public = public_key_of(certificate_pem)
    if not isinstance(public, rsa.RSAPublicKey):
        return "the sender's certificate does not carry an RSA key"
    try:
        raw = base64.b64decode(signature_b64, validate=True)
        public.verify(raw, form, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return "the signature does not match the document and the sender's certificate"
    return None


def attachments_intact(attachments: list[Attachment]) -> str | None:
    """None when every attachment's bytes still have the digest that was signed."""
    for a in attachments:
        if hashlib.sha256(a.content).hexdigest() != a.sha256 or len(a.content) != a.size:
            return f"attachment {a.name!r} does not match its signed SHA-256 digest"
    return None

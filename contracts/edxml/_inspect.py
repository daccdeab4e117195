"""The summary `lgsp edxml inspect` prints: the keys named in DESIGN.md ("Names added")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contracts.edxml._model import DocumentPackage, Organ, Package, StatusPackage
from contracts.edxml._reader import read
from contracts.edxml._signature import check_signature

_DOC_TYPES = {0: "new", 1: "revoke", 2: "update", 3: "replace"}


def _organ(organ: Organ) -> dict[str, Any]:
    return {"organ_id": organ.organ_id, "organ_name": organ.organ_name}


def summary(package: Package) -> dict[str, Any]:
    """Every key but `signature`, which needs the raw bytes."""
    out: dict[str, Any] = {
        "kind": package.kind,
        "from": _organ(package.from_),
        "to": [],
        "document_id": None,
        "code_number": None,
        "code_notation": None,
        "promulgation_date": None,
        "document_type": None,
        "subject": None,
        "business": None,
        "attachments": [],
        "status": None,
    }
    if isinstance(package, DocumentPackage):
        business = package.business
        out |= {
            "to": [_organ(o) for o in package.to],
            "document_id": package.document_id,
            "code_number": package.code.code_number,
            "code_notation": package.code.code_notation,
            "promulgation_date": package.promulgation_info.promulgation_date.isoformat(),
            "document_type": {
                "type": package.document_type.type,
                "detail": package.document_type.type_detail,
                "name": package.document_type.type_name,
            },
            "subject": package.subject,
            "business": None
            if business is None
            else {
                "doc_type": _DOC_TYPES[int(business.doc_type)],
                "reason": business.reason,
                "document_id": business.document_id,
            },
            "attachments": [
                {"name": a.name, "content_type": a.content_type, "size": a.size}
                for a in package.attachments
            ],
        }
    elif isinstance(package, StatusPackage):
        answered = package.response_for
        out["status"] = {
            "code": package.status_code,
            "description": package.description,
            "timestamp": package.timestamp.isoformat(),
            "response_for": {
                "organ_id": answered.organ_id,
                "code": answered.code,
                "document_id": answered.document_id,
            },
        }
    return out


def inspect(
    raw: bytes, trusted_certificates: Sequence[str] = (), *, allow_sha1: bool = False
) -> dict[str, Any]:
    """The JSON object of `lgsp edxml inspect`; EdxmlError when the package is unreadable."""
    out = summary(read(raw))
    check = check_signature(raw, trusted_certificates, allow_sha1=allow_sha1)
    out["signature"] = {
        "present": check.present,
        "algorithm": check.algorithm,
        "valid": check.valid,
    }
    return out

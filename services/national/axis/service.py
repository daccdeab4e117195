"""The national document axis: packages kept byte for byte, and where each must go.

A package arrives either from the province (taken from its documents service's axis outbox:
addressed to organs outside the province) or from a national organ (`POST /axis/packages`).
A package from outside the province with an organ of the province among its `To` is to be
delivered to the province's documents service (`delivery` "pending", then "delivered" or
"failed"); any other package stays here, where the national organs read it.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from contracts import edxml as codec
from lgsp_kit.errors import NotFound, Unprocessable
from services.national.models import AxisPackage

PROVINCE = "province"
NATIONAL = "national"


def in_province(organ_id: str, province_code: str) -> bool:
    return organ_id.endswith("." + province_code)


def read(raw: bytes) -> codec.DocumentPackage:
    """422 `invalid_package` (with the codec's `reason` and `line`) or `not_a_document`."""
    try:
        package = codec.read(raw)
    except codec.EdxmlError as exc:
        raise Unprocessable(
            f"not an edXML package: {exc}",
            code="invalid_package",
            extra={"reason": exc.code, "line": exc.line},
        ) from exc
    if not isinstance(package, codec.DocumentPackage):
        raise Unprocessable(
            "a status package: the axis takes document packages here", code="not_a_document"
        )
    return package


def receive(
    session: Session,
    raw: bytes,
    *,
    source: str,
    province_code: str,
    province_document_id: str | None = None,
) -> tuple[AxisPackage, bool]:
    """Keep a package (the same bytes again: the package already kept, created False)."""
    package = read(raw)
    digest = hashlib.sha256(raw).hexdigest()
    known = session.exec(select(AxisPackage).where(col(AxisPackage.digest) == digest)).first()
    if known is not None:
        return known, False
    if province_document_id is not None:
        taken = session.exec(
            select(AxisPackage).where(col(AxisPackage.province_document_id) == province_document_id)
        ).first()
        if taken is not None:
            return taken, False
    to = [organ.organ_id for organ in package.to]
    from_here = in_province(package.from_.organ_id, province_code)
    for_province = any(in_province(o, province_code) for o in to)
    if source == NATIONAL and from_here:
        raise Unprocessable(
            f"{package.from_.organ_id} is an organ of the province: its documents reach the "
            "axis through the province's documents service",
            code="sender_in_province",
        )
    row = AxisPackage(
        id=str(uuid.uuid4()),
        digest=digest,
        edxml_document_id=package.document_id,
        from_organ=package.from_.organ_id,
        to_organs=" ".join(to),
        subject=package.subject,
        source=source,
        province_document_id=province_document_id,
        raw=raw,
        received_at=datetime.now(UTC),
        delivery="pending" if source == NATIONAL and for_province else "none",
    )
    session.add(row)
    session.flush()
    return row, True


def find(session: Session, package_id: str) -> AxisPackage:
    row = session.get(AxisPackage, package_id)
    if row is None:
        raise NotFound(f"the axis has no package {package_id}", code="package_not_found")
    return row


def listing(
    session: Session,
    *,
    source: str | None,
    delivery: str | None,
    after: str | None,
    limit: int,
) -> list[AxisPackage]:
    query = select(AxisPackage).order_by(col(AxisPackage.id)).limit(limit + 1)
    if source is not None:
        query = query.where(col(AxisPackage.source) == source)
    if delivery is not None:
        query = query.where(col(AxisPackage.delivery) == delivery)
    if after is not None:
        query = query.where(col(AxisPackage.id) > after)
    return list(session.exec(query))


def pending(session: Session, *, limit: int) -> list[AxisPackage]:
    query = (
        select(AxisPackage)
        .where(col(AxisPackage.delivery) == "pending")
        .order_by(col(AxisPackage.received_at), col(AxisPackage.id))
        .limit(limit)
    )
    return list(session.exec(query))


def delivered(session: Session, package_id: str, answer: str) -> None:
    row = find(session, package_id)
    row.delivery = "delivered"
    row.delivered_at = datetime.now(UTC)
    row.attempts += 1
    row.province_answer = answer
    row.last_error = None
    session.add(row)


def attempt_failed(
    session: Session, package_id: str, error: str, *, final: bool, max_attempts: int
) -> None:
    row = find(session, package_id)
    row.attempts += 1
    row.last_error = error
    if final or row.attempts >= max_attempts:
        row.delivery = "failed"
    session.add(row)

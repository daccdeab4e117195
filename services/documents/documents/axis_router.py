"""HTTP endpoints of the national document axis's outbox (see documents/axis.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Response

from contracts import edxml as codec
from lgsp_kit.access import AXIS_SCOPE, needs_scope
from lgsp_kit.responses import problem_responses
from lgsp_kit.sessions import APIRouter, ReadSession, WriteSession
from services.documents.dependencies import SettingsDep
from services.documents.documents import axis, edxml
from services.documents.documents.schemas import AxisItem, AxisOutbox

router = APIRouter(prefix="/v1/axis/outbox", tags=["axis"], dependencies=[needs_scope(AXIS_SCOPE)])

DocumentId = Annotated[str, Path(max_length=36, description="the document's id")]


@router.get(
    "",
    response_model=AxisOutbox,
    summary="Packages waiting for the national document axis",
    responses=problem_responses(400, 401, 403, 422, 429),
)
def outbox(session: ReadSession, limit: int = Query(default=50, ge=1, le=200)) -> AxisOutbox:
    """Documents sent to organs outside the province whose package the axis has not taken yet,
    oldest first (scope `documents:axis`)."""
    return axis.outbox(session, limit=limit)


@router.get(
    "/{document_id}",
    response_class=Response,
    summary="Take a queued document's edXML package",
    responses={**edxml.XML_ANSWER, **problem_responses(400, 401, 403, 404, 422, 429)},
)
def package(document_id: DocumentId, session: WriteSession, settings: SettingsDep) -> Response:
    """The signed QCVN 102 package (the same bytes as the document's export)."""
    content = axis.package(session, document_id, settings=settings)
    return Response(content=content, media_type=codec.MEDIA_TYPE)


@router.delete(
    "/{document_id}",
    response_model=AxisItem,
    summary="Acknowledge a package taken by the axis",
    responses=problem_responses(400, 401, 403, 404, 422, 429),
)
def take(document_id: DocumentId, session: WriteSession) -> AxisItem:
    """The axis has the package: it leaves the outbox. Acknowledging again answers the same."""
    return axis.take(session, document_id)

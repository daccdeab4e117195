"""HTTP endpoints of the procedures catalogue (danh mục thủ tục hành chính)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Response

from lgsp_kit.access import CATALOGUE_SCOPE, needs_scope
from lgsp_kit.responses import problem_responses
from lgsp_kit.sessions import APIRouter, ReadSession, WriteSession
from services.dossier.procedures import service
from services.dossier.procedures.schemas import (
    PROCEDURE_CODE_PATTERN,
    OnlineMode,
    ProcedureIn,
    ProcedureLevel,
    ProcedureOut,
    ProcedurePage,
)
from services.dossier.procedures.service import ProcedureFilter

router = APIRouter(prefix="/v1/procedures", tags=["procedures"])

CodePath = Annotated[
    str,
    Path(
        max_length=64,
        pattern=PROCEDURE_CODE_PATTERN,
        description="MaTTHC, national `1.000894` or localised `1.000656.000.00.00.H03`",
        examples=["1.001193"],
    ),
]


@router.get(
    "",
    response_model=ProcedurePage,
    summary="List procedures",
    responses=problem_responses(400, 401, 403, 422, 429),
)
def list_procedures(
    session: ReadSession,
    field: Annotated[str | None, Query(max_length=200, description="lĩnh vực")] = None,
    level: Annotated[ProcedureLevel | None, Query(description="cấp thực hiện")] = None,
    online_mode: Annotated[OnlineMode | None, Query(description="full / partial / none")] = None,
    fee_bearing: Annotated[bool | None, Query(description="có thu phí, lệ phí")] = None,
    online_payment: Annotated[bool | None, Query(description="thanh toán trực tuyến")] = None,
    full_online_eligible: Annotated[bool | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ProcedurePage:
    """The catalogue of thủ tục hành chính, filtered, in code order, a page at a time."""
    f = ProcedureFilter(
        field, level, online_mode, fee_bearing, online_payment, full_online_eligible
    )
    return service.search(session, f, cursor=cursor, limit=limit)


@router.get(
    "/{code}",
    response_model=ProcedureOut,
    summary="Get a procedure",
    responses=problem_responses(400, 401, 403, 404, 422, 429),
)
def get_procedure(session: ReadSession, code: CodePath) -> ProcedureOut:
    """One procedure (TTHC) by its MaTTHC."""
    return service.get(session, code)


@router.put(
    "/{code}",
    response_model=ProcedureOut,
    summary="Create or update a procedure",
    dependencies=[needs_scope(CATALOGUE_SCOPE)],
    responses={
        201: {"model": ProcedureOut, "description": "Created"},
        **problem_responses(400, 401, 403, 409, 422, 429),
    },
)
def put_procedure(
    code: CodePath, body: ProcedureIn, session: WriteSession, response: Response
) -> ProcedureOut:
    """Create (201) or replace (200) a procedure; each change publishes ProcedurePublished.

    The catalogue is every organ's: a change needs the scope `dossier:catalogue` besides
    `dossier:write` (403 `insufficient_scope` without it)."""
    result = service.put(session, code, body)
    response.status_code = 201 if result.created else 200
    return result.procedure

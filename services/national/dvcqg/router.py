"""The DVCQG dossier-sync services (as the provincial LGSP reaches them) and the testers' view.

`POST /dvcqg/DongBoHoSoMC?isUpdating=True|False` takes the bare JSON array of dossiers, the
flag in the query string as the Hà Giang system sends it through its LGSP
(`MaDinhDanhDV` is accepted there too); `CapNhatTienDoHoSoMC` the array of progress rows;
`TraCuuHoSo` `{"mahoso": …}`. Each needs the national gateway's Bearer token and answers
`{error_code, message}` with HTTP 200, invalid input included (error_code "-1", the message
naming the dossier and the field), as the portal does. `GET /dvcqg/hoso/...` are the
testers' read views (no token): the last record as received, its progress rows, the list.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import orjson
from fastapi import Body, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from lgsp_kit.paging import TEXT
from lgsp_kit.responses import problem_responses
from lgsp_kit.sessions import APIRouter, ReadSession, UnitRoute, WriteSession
from services.national.auth import NEEDS_TOKEN, Caller
from services.national.dvcqg import service
from services.national.dvcqg.schemas import (
    HOSO_EXAMPLE,
    TIENDO_EXAMPLE,
    Answer,
    HoSo,
    IsUpdating,
    LookupAnswer,
    TienDo,
)
from services.national.dvcqg.schemas import TraCuuHoSo as Lookup
from services.national.faults import checked, dvcqg_error


def _where(loc: tuple[Any, ...]) -> str:
    parts = [p for p in loc if p not in ("body", "query")]
    if parts and isinstance(parts[0], int):
        head = f"bản ghi thứ {parts[0] + 1}"
        rest = ".".join(str(p) for p in parts[1:])
        return f"{head}: {rest}" if rest else head
    return ".".join(str(p) for p in parts) or "nội dung"


def portal_message(errors: list[dict[str, Any]]) -> str:
    shown = [f"{_where(tuple(e.get('loc', ())))}: {e.get('msg', '')}" for e in errors[:5]]
    more = f" (và {len(errors) - 5} lỗi khác)" if len(errors) > 5 else ""
    return "Dữ liệu không hợp lệ: " + "; ".join(shown) + more


def portal_invalid(errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"error_code": service.INVALID, "message": portal_message(errors)}


class PortalRoute(UnitRoute):
    """Invalid input is answered in the service's own shape (HTTP 200), not problem+json:
    for DVCQG and the population database `{error_code: "-1", message}`."""

    invalid: Callable[[list[dict[str, Any]]], dict[str, Any]] = staticmethod(portal_invalid)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        invalid = type(self).invalid

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return JSONResponse(invalid(list(exc.errors())))

        return route


fault = Depends(checked("dvcqg", dvcqg_error))
router = APIRouter(prefix="/dvcqg", tags=["dvcqg"], route_class=PortalRoute)
view = APIRouter(prefix="/dvcqg/hoso", tags=["dvcqg-view"])
view_calls = APIRouter(prefix="/dvcqg/calls", tags=["dvcqg-view"])
# The dates the listing shows besides NgayTiepNhan, as last received.
DATES = ("NgayHenTra", "NgayTuChoi", "NgayKetThucXuLy", "NgayTra")
ANSWERS: dict[int | str, dict[str, Any]] = {**NEEDS_TOKEN, **problem_responses(503)}


@router.post(
    "/DongBoHoSoMC",
    response_model=Answer,
    summary="Create or update dossiers on DVCQG",
    responses=ANSWERS,
    dependencies=[fault],
)
def DongBoHoSoMC(  # noqa: N802 (the service's name)
    consumer: Caller,
    session: WriteSession,
    dossiers: Annotated[list[HoSo], Body(max_length=100, examples=[[HOSO_EXAMPLE]])],
    isUpdating: Annotated[IsUpdating, Query()] = "False",  # noqa: N803
    MaDinhDanhDV: Annotated[str | None, Query(max_length=40)] = None,  # noqa: N803
) -> Answer:
    """`isUpdating` "False" creates each dossier (one already there: error_code "-3",
    "… đã tồn tại"), "True" replaces the record of each (one not there: "-2"). All or none."""
    return service.sync(session, dossiers, is_updating=isUpdating == "True", consumer=consumer)


@router.post(
    "/CapNhatTienDoHoSoMC",
    response_model=Answer,
    summary="Add processing progress to dossiers on DVCQG",
    responses=ANSWERS,
    dependencies=[fault],
)
def CapNhatTienDoHoSoMC(  # noqa: N802
    consumer: Caller,
    session: WriteSession,
    rows: Annotated[list[TienDo], Body(max_length=100, examples=[[TIENDO_EXAMPLE]])],
) -> Answer:
    """Rows of dossiers DVCQG has (else "-2"); a row sent again is not stored twice."""
    return service.progress(session, rows, consumer=consumer)


@router.post(
    "/TraCuuHoSo",
    response_model=LookupAnswer,
    summary="Look a dossier up on DVCQG",
    responses=ANSWERS,
    dependencies=[fault],
)
def TraCuuHoSo(consumer: Caller, session: WriteSession, body: Lookup) -> LookupAnswer:  # noqa: N802
    """`result` is `[record]` when DVCQG has the dossier, `[]` otherwise."""
    return service.lookup(session, body.code, consumer=consumer)


Code = Annotated[str, Path(min_length=1, max_length=100, description="MaHoSo")]


@view.get(
    "/{MaHoSo}",
    response_model=dict[str, Any],
    summary="The dossier as DVCQG last received it (testers)",
    responses=problem_responses(404, 422),
)
def hoso(MaHoSo: Code, session: ReadSession) -> dict[str, Any]:  # noqa: N803
    """The last record received for `MaHoSo`, its Vietnamese field names and string values
    as sent. 404 `dossier_not_synced` when DVCQG has none."""
    return service.record(session, MaHoSo)


class TienDoOut(BaseModel):
    row: dict[str, Any]
    received: int
    first_received_at: str
    last_received_at: str


@view.get(
    "/{MaHoSo}/tiendo",
    response_model=list[TienDoOut],
    summary="The dossier's progress rows on DVCQG (testers)",
    responses=problem_responses(404, 422),
)
def tiendo(MaHoSo: Code, session: ReadSession) -> list[TienDoOut]:  # noqa: N803
    """In `ThoiDiemXuLy` order; `received` counts how many times the same row came."""
    return [
        TienDoOut(
            row=orjson.loads(r.row),
            received=r.received,
            first_received_at=r.first_received_at.isoformat(),
            last_received_at=r.last_received_at.isoformat(),
        )
        for r in service.progress_rows(session, MaHoSo)
    ]


class HoSoSummary(BaseModel):
    MaHoSo: str
    MaTTHC: str
    TrangThaiHoSo: str
    NgayTiepNhan: str
    NgayHenTra: str = Field(default="", description='as last received; "" when not sent')
    NgayTuChoi: str = ""
    NgayKetThucXuLy: str = ""
    NgayTra: str = ""
    updates: int
    progress: int = Field(default=0, description="progress rows stored")
    progress_received: int = Field(
        default=0, description="progress rows received in all (a row sent again counts again)"
    )


class HoSoPage(BaseModel):
    items: list[HoSoSummary]
    next_cursor: str | None


@view.get(
    "",
    response_model=HoSoPage,
    summary="The dossiers DVCQG has (testers)",
    responses=problem_responses(422),
)
def hoso_list(
    session: ReadSession,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> HoSoPage:
    """By `MaHoSo`, with the record's status and dates as last received; `updates` counts the
    updates applied after the create, `progress` the progress rows stored."""
    rows = service.dossiers(session, after=TEXT.key(cursor), limit=limit)
    page, nxt = TEXT.page(rows, limit, lambda r: r.ma_ho_so)
    progress = service.progress_counts(session, [r.ma_ho_so for r in page])
    items = []
    for r in page:
        record = orjson.loads(r.record)
        stored, received = progress.get(r.ma_ho_so, (0, 0))
        items.append(
            HoSoSummary(
                MaHoSo=r.ma_ho_so,
                MaTTHC=r.ma_tthc,
                TrangThaiHoSo=r.trang_thai,
                NgayTiepNhan=r.ngay_tiep_nhan,
                **{k: str(record.get(k) or "") for k in DATES},
                updates=r.updates,
                progress=stored,
                progress_received=received,
            )
        )
    return HoSoPage(items=items, next_cursor=nxt)


class Creates(BaseModel):
    calls: int = Field(description='DongBoHoSoMC creates (isUpdating "False") answered "0"')
    dossiers: int = Field(description="MaHoSo named by them")
    twice: dict[str, int] = Field(description="MaHoSo created more than once, and how often")


@view_calls.get(
    "/creates",
    response_model=Creates,
    summary="Creates DVCQG accepted, per MaHoSo (testers)",
)
def created(session: ReadSession) -> Creates:
    """Read from the call log (every call is logged): a dossier the province created twice
    would show here, whatever the rule answered. Reads the whole log: for tests and drills."""
    calls, counts = service.creates(session)
    return Creates(
        calls=calls, dossiers=len(counts), twice={k: n for k, n in counts.items() if n > 1}
    )

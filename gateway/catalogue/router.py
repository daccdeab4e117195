"""The catalogue: `GET /apis`, the merged `GET /openapi.json` and `/docs`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from gateway.catalogue.service import VERSIONS
from gateway.state import GatewayDep
from lgsp_kit.errors import NotFound, ProblemError
from lgsp_kit.responses import problem_responses
from lgsp_kit.sessions import APIRouter

router = APIRouter(tags=["catalogue"])


class PublishedApi(BaseModel):
    """A published API (API được công bố trên LGSP)."""

    context: str = Field(examples=["dossier"])
    title: str | None = Field(description="the service's own title, when it answered")
    versions: list[str] = Field(description="none for a national API (its own paths)")
    base_path: str = Field(examples=["/dossier/v1", "/ngsp"])
    national: bool = Field(
        default=False, description="a national service (NGSP, DVCQG) the gateway publishes"
    )
    openapi: str = Field(description="link to this API's OpenAPI document through the gateway")
    available: bool = Field(description="the service answered for its OpenAPI document")
    error: str | None = None


class ApiList(BaseModel):
    items: list[PublishedApi]


@router.get("/apis", response_model=ApiList, summary="List published APIs")
async def list_apis(gateway: GatewayDep) -> ApiList:
    """Danh mục API: every published API, its versions and its OpenAPI document."""
    catalogue = gateway.catalogue
    entries = await catalogue.entries()
    return ApiList(
        items=[
            PublishedApi(
                context=api,
                title=entry.spec["info"].get("title") if entry.spec else None,
                versions=[] if api in catalogue.national else list(VERSIONS),
                base_path=f"/{api}" if api in catalogue.national else f"/{api}/{VERSIONS[-1]}",
                national=api in catalogue.national,
                openapi=f"/apis/{api}/openapi.json",
                available=entry.available,
                error=entry.error,
            )
            for api, entry in entries.items()
        ]
    )


@router.get(
    "/apis/{context}/openapi.json",
    summary="One published API's OpenAPI document",
    responses=problem_responses(404, 422, 503),
)
async def api_openapi(
    gateway: GatewayDep, context: Annotated[str, Path(max_length=64)]
) -> dict[str, Any]:
    """The service's document as seen through the gateway (paths prefixed with the context)."""
    catalogue = gateway.catalogue
    if context not in catalogue.contexts:
        raise NotFound(f"no published API {context!r}", code="api_not_found")
    entry = await catalogue.entry(context)
    if entry.spec is None:
        raise ProblemError(
            f"the {context} service is unavailable: {entry.error}",
            status=503,
            code="service_unavailable",
        )
    return entry.spec


@router.get("/openapi.json", include_in_schema=False)
async def merged_openapi(request: Request, gateway: GatewayDep) -> JSONResponse:
    """The whole platform as seen through the gateway."""
    own = request.app.openapi()
    return JSONResponse(await gateway.catalogue.merged(own))


@router.get("/docs", include_in_schema=False)
async def docs() -> HTMLResponse:
    """Swagger UI over the merged document."""
    return get_swagger_ui_html(openapi_url="/openapi.json", title="LGSP — published APIs")

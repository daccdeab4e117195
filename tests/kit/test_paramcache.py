"""`lgsp_kit.paramcache`: FastAPI's per-parameter answers, memoised, are the answers FastAPI
gives, for every parameter of every route of every app; and a request still reads them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Query
from fastapi.dependencies import utils
from fastapi.dependencies.models import Dependant
from starlette.datastructures import Headers, QueryParams

from lgsp.apps import APPS
from lgsp_kit import paramcache
from lgsp_kit.app import create_service_app
from lgsp_kit.sessions import APIRouter
from lgsp_kit.settings import AppSettings
from tests.conftest import serve
from tests.test_routes import api_routes, fastapi_app

pytestmark = pytest.mark.anyio


def dependants_of(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from dependants_of(sub)


def params_of(dependant: Dependant) -> Iterator[object]:
    yield from dependant.path_params
    yield from dependant.query_params
    yield from dependant.header_params
    yield from dependant.cookie_params
    for sub in dependant.dependencies:
        yield from params_of(sub)


def every_param() -> Iterator[tuple[str, object]]:
    for name, spec in APPS.items():
        app = fastapi_app(spec.load().create_app())
        for route in api_routes(app.router.routes):
            for field in params_of(route.dependant):
                yield f"{name} {route.path} {field.name}", field  # type: ignore[attr-defined]


def test_the_memoised_helpers_answer_as_fastapis_own() -> None:
    paramcache.install()
    fields = list(every_param())
    assert len(fields) > 100  # every app's routes were found
    for helper in ("_get_param_model", "_get_param_aliases", "_is_json_field"):
        memoised, original = getattr(utils, helper), paramcache.original(helper)
        assert memoised is not original
        for where, field in fields:
            for _ in range(2):  # computed, then remembered
                assert memoised(field) == original(field), (helper, where)
    sequence = paramcache.original("field_annotation_is_sequence")
    assert utils.field_annotation_is_sequence is not sequence
    for where, field in fields:
        annotation = field.field_info.annotation  # type: ignore[attr-defined]
        for _ in range(2):
            assert utils.field_annotation_is_sequence(annotation) == sequence(annotation), where


def test_installing_twice_keeps_one_layer() -> None:
    paramcache.install()
    first = utils._get_param_model
    paramcache.install()
    assert utils._get_param_model is first


router = APIRouter(prefix="/v1")


@router.get("/echo")
async def echo(
    tags: list[str] = Query(default=[]), limit: int = Query(default=5, ge=1, le=10)
) -> dict[str, object]:
    return {"tags": tags, "limit": limit}


async def test_requests_read_their_parameters_as_before(tmp_path: Path) -> None:
    settings = AppSettings(
        app_name="kit", data_dir=tmp_path, migrate_on_start=False, auth_required=False
    )
    app = create_service_app(
        settings,
        title="kit",
        description="kit",
        routers=[router],
        migrations_dir=tmp_path,
        uses_bus=False,
    )
    async with serve(app) as client:
        client: httpx.AsyncClient  # type: ignore[no-redef]
        for _ in range(2):
            resp = await client.get("/v1/echo?tags=a&tags=b&limit=3")
            assert resp.json() == {"tags": ["a", "b"], "limit": 3}
            assert (await client.get("/v1/echo")).json() == {"tags": [], "limit": 5}
            refused = await client.get("/v1/echo?limit=11")
            assert refused.status_code == 422
            assert refused.headers["content-type"] == "application/problem+json"
            assert [e["field"] for e in refused.json()["errors"]] == ["limit"]


def given_values(fields: list[Any]) -> Iterator[list[tuple[str, str]]]:
    """Requests to read `fields` from: none given, each given once as text, a number, empty,
    twice, and all at once."""
    yield []
    for value in ("7", "abc", "", "2024-03-01T02:00:00Z", "true"):
        for field in fields:
            yield [(field.alias, value)]
        yield [(field.alias, value) for field in fields]
    for field in fields:
        yield [(field.alias, "1"), (field.alias, "2")]


def test_reading_parameters_answers_as_fastapis_own() -> None:
    """Values and errors alike, for the query, path, header and cookie parameters of every
    route of every app."""
    paramcache.install()
    reading, original = utils.request_params_to_args, paramcache.original("request_params_to_args")
    assert reading is not original
    checked = 0
    for name, spec in APPS.items():
        app = fastapi_app(spec.load().create_app())
        for route in api_routes(app.router.routes):
            for dependant in dependants_of(route.dependant):
                for kind, fields in (
                    ("query", dependant.query_params),
                    ("path", dependant.path_params),
                    ("header", dependant.header_params),
                ):
                    for pairs in given_values(fields):
                        received: Any = (
                            Headers(raw=[(k.encode(), v.encode()) for k, v in pairs])
                            if kind == "header"
                            else QueryParams(pairs)
                        )
                        if kind == "path":
                            received = dict(pairs)
                        for _ in range(2):  # planned, then from the plan
                            got, expected = reading(fields, received), original(fields, received)
                            assert got[0] == expected[0], (name, route.path, pairs)
                            assert repr(got[1]) == repr(expected[1]), (name, route.path, pairs)
                            checked += 1
    assert checked > 1000

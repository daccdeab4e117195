"""Kit fixes found by the contract suite: 405 names every method of the path, an undecodable
body is invalid input (422), a whole-body rule names no field, date-times refuse numbers, and
a pattern on `Text` reaches the published schema."""

from __future__ import annotations

from typing import Annotated

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, StringConstraints, ValidationError, model_validator

from lgsp_kit.errors import install_error_handlers
from lgsp_kit.fields import Instant, Text, text_pattern

pytestmark = pytest.mark.anyio


class Body(BaseModel):
    a: int = 0
    b: int = 0

    @model_validator(mode="after")
    def _a_or_b(self) -> Body:
        if not (self.a or self.b):
            raise ValueError("a or b is required")
        return self


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/things")
    async def list_things() -> list[int]:
        return []

    @app.post("/things")
    async def add_thing(body: Body) -> Body:
        return body

    return app


async def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(_app()), base_url="http://t")


async def test_405_allow_names_every_method_of_the_path() -> None:
    async with await _client() as client:
        resp = await client.request("OPTIONS", "/things")
        assert resp.status_code == 405
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.headers["allow"] == "GET, POST"
        assert (await client.delete("/things")).headers["allow"] == "GET, POST"


async def test_an_undecodable_body_is_invalid_input() -> None:
    async with await _client() as client:
        resp = await client.post(
            "/things", content=b"$\x99\x82", headers={"content-type": "application/json"}
        )
        assert resp.status_code == 422
        problem = resp.json()
        assert problem["code"] == "validation_failed"
        assert problem["errors"][0]["field"] == "body"


async def test_a_rule_on_the_whole_body_names_no_field() -> None:
    async with await _client() as client:
        resp = await client.post("/things", json={})
        assert resp.status_code == 422
        [error] = resp.json()["errors"]
        assert error["field"] == "" and "a or b is required" in error["message"]
        resp = await client.post("/things", json={"a": "x"})
        assert resp.json()["errors"][0]["field"] == "a"


class When(BaseModel):
    at: Instant


@pytest.mark.parametrize("value", [0, 0.5, 1700000000, "0.5", "1700000000", " 12 ", True])
def test_an_instant_is_never_a_number(value: object) -> None:
    with pytest.raises(ValidationError):
        When.model_validate({"at": value})


def test_an_instant_is_an_rfc3339_time_with_its_offset() -> None:
    assert When.model_validate({"at": "2023-11-20T08:30:00+07:00"}).at.utcoffset() is not None
    with pytest.raises(ValidationError):
        When.model_validate({"at": "2023-11-20T08:30:00"})
    assert When.model_json_schema()["properties"]["at"]["format"] == "date-time"


class Named(BaseModel):
    code: Annotated[Text, StringConstraints(max_length=8), *text_pattern(r"^[A-Z]+$")]


def test_a_pattern_on_text_is_checked_after_normalising_and_published() -> None:
    assert Named(code=" ABC ").code == "ABC"
    with pytest.raises(ValidationError):
        Named(code="abc")
    schema = Named.model_json_schema()["properties"]["code"]
    assert schema["pattern"] == "^[A-Z]+$" and schema["maxLength"] == 8

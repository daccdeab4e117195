"""Kit fixes the hostile-input run found (`python -m bench.hostile`): `Text` refuses NUL, and a
value the database refuses is invalid input (422), not a server error."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import DataError

from lgsp_kit.contract._api import _is_domain_rule, _is_integer_as_float
from lgsp_kit.errors import install_error_handlers
from lgsp_kit.fields import Text

pytestmark = pytest.mark.anyio


def test_text_refuses_nul() -> None:
    text = TypeAdapter(Text)
    assert text.validate_python(" Nguyễn Văn An ") == "Nguyễn Văn An"
    with pytest.raises(ValidationError, match="NUL") as caught:
        text.validate_python("An\x00")
    assert caught.value.errors()[0]["type"] == "text_nul"


def _answer(*types: str) -> Any:
    errors = [{"field": "f", "type": t} for t in types]
    body = {"code": "validation_failed", "errors": errors}
    return SimpleNamespace(status_code=422, content=json.dumps(body).encode())


def test_the_contract_suite_counts_a_nul_refusal_as_a_rule_the_schema_cannot_state() -> None:
    """Schemathesis sends NUL in schema-valid text; with an integral float beside it (`269.0`
    days) both refusals are explained, and neither alone hides anything else."""
    with_float: Any = SimpleNamespace(body={"name": "\x00", "processing_days": 269.0})
    without: Any = SimpleNamespace(body={"name": "\x00", "processing_days": 269})
    assert _is_domain_rule(_answer("text_nul"))
    assert _is_integer_as_float(_answer("text_nul", "int_type"), with_float)
    assert not _is_integer_as_float(_answer("text_nul", "int_type"), without)
    assert not _is_integer_as_float(_answer("text_nul", "string_too_long"), with_float)
    assert not _is_domain_rule(_answer("text_nul", "int_type"))


async def test_a_value_the_database_refuses_is_422() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/things/{code}")
    async def get_thing(code: str) -> str:
        raise DataError("SELECT ...", {"code": code}, ValueError("cannot contain NUL"))

    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        resp = await client.get("/things/a%00")
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == "validation_failed"

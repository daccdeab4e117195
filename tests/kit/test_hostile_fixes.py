"""Kit fixes the hostile-input run found (`python -m bench.hostile`): `Text` refuses NUL, and a
value the database refuses is invalid input (422), not a server error."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import DataError

from lgsp_kit.errors import install_error_handlers
from lgsp_kit.fields import Text

pytestmark = pytest.mark.anyio


def test_text_refuses_nul() -> None:
    text = TypeAdapter(Text)
    assert text.validate_python(" Nguyễn Văn An ") == "Nguyễn Văn An"
    with pytest.raises(ValidationError, match="NUL"):
        text.validate_python("An\x00")


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

"""Caller-controlled text written into log lines is escaped: a decoded path (`%0d%0a`), a
value in a database error, an escape sequence, cannot forge a log line of their own."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI

from lgsp_kit.errors import install_error_handlers
from lgsp_kit.logtext import printable

pytestmark = pytest.mark.anyio


def test_printable_escapes_control_characters_and_bounds_the_length() -> None:
    forged = "/v1/a\r\n2026-01-01 INFO lgsp.gateway: admin login ok\x1b[2J\x00\u2028\\x0a"
    text = printable(forged)
    assert "\r" not in text and "\n" not in text and "\x1b" not in text and "\x00" not in text
    assert "\u2028" not in text
    assert text == (
        "/v1/a\\x0d\\x0a2026-01-01 INFO lgsp.gateway: admin login ok\\x1b[2J\\x00\\u2028\\\\x0a"
    )
    assert printable("Nguyễn Văn An /v1/hồ-sơ") == "Nguyễn Văn An /v1/hồ-sơ"
    assert printable("a" * 1000, limit=10) == "a" * 10 + "…"


async def test_an_unexpected_error_logs_the_path_escaped(caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/things/{code}")
    async def get_thing(code: str) -> str:
        raise RuntimeError("boom")

    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="lgsp.errors"):
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            resp = await client.get("/things/a%1b%5b31mFAKE%07%00x")
    assert resp.status_code == 500
    [record] = [r for r in caplog.records if r.name == "lgsp.errors"]
    message = record.getMessage()
    assert message == "unhandled error on GET /things/a\\x1b[31mFAKE\\x07\\x00x"

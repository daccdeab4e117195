"""The bare FastAPI app of `bench.service_reads`: one `async def` route, no middleware."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/v1/ping")
async def ping() -> dict[str, object]:
    return {"code": "1.001193", "name": "Đăng ký khai sinh", "processing_days": 3}


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}

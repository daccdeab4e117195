"""Request dependencies of the national simulator: its settings and its runtime (coroutines:
FastAPI would run a plain `def` in a pool thread)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from lgsp_kit.app import Runtime
from services.national.settings import Settings


async def runtime_of(request: Request) -> Runtime[Settings]:
    runtime: Runtime[Settings] = request.app.state.runtime
    return runtime


async def app_settings(request: Request) -> Settings:
    runtime: Runtime[Settings] = request.app.state.runtime
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(app_settings)]
NationalRuntime = Annotated[Runtime[Settings], Depends(runtime_of)]

"""Request dependencies of the national simulator: its settings and its runtime."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from lgsp_kit.app import Runtime
from services.national.settings import Settings


def runtime_of(request: Request) -> Runtime[Settings]:
    runtime: Runtime[Settings] = request.app.state.runtime
    return runtime


def app_settings(request: Request) -> Settings:
    return runtime_of(request).settings


SettingsDep = Annotated[Settings, Depends(app_settings)]
NationalRuntime = Annotated[Runtime[Settings], Depends(runtime_of)]

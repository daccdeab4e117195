"""Request dependencies of the dossier service: its settings and its `Idempotency-Key`s."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from lgsp_kit.app import Runtime
from lgsp_kit.idempotency import CallerId, Idempotency, idempotent
from services.dossier.models import idempotency_record
from services.dossier.settings import Settings

__all__ = ["CallerId", "Idempotent", "SettingsDep"]


async def app_settings(request: Request) -> Settings:
    runtime: Runtime[Settings] = request.app.state.runtime
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(app_settings)]
# Every POST of the service: the same key and body replay the first answer.
Idempotent = Annotated[Idempotency, idempotent(idempotency_record)]

"""Request dependencies of the documents service: its settings, the caller's organ scope and
its `Idempotency-Key`s."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from lgsp_kit import access
from lgsp_kit.app import Runtime
from lgsp_kit.idempotency import Idempotency, idempotent
from services.documents.models import idempotency_record
from services.documents.scope import OrganScope
from services.documents.settings import Settings


async def organ_scope(request: Request) -> OrganScope:
    """The caller's organ scope: the organ its token names and every organ under it."""
    return OrganScope(organ=access.caller_scope(request).organ)


async def app_settings(request: Request) -> Settings:
    runtime: Runtime[Settings] = request.app.state.runtime
    return runtime.settings


ScopeDep = Annotated[OrganScope, Depends(organ_scope)]
SettingsDep = Annotated[Settings, Depends(app_settings)]
# Sending a document and changing a recipient's status: the same key and body replay the answer.
Idempotent = Annotated[Idempotency, idempotent(idempotency_record)]

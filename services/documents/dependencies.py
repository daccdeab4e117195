"""Request dependencies of the documents service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from lgsp_kit.errors import ProblemError
from lgsp_kit.tokens import Claims
from services.documents.scope import OrganScope


def organ_scope(request: Request) -> OrganScope:
    """The caller's organ scope: the organ its token names and every organ under it."""
    runtime = request.app.state.runtime
    if not runtime.settings.auth_required:
        return OrganScope(organ=None)
    claims: Claims | None = getattr(request.state, "caller", None)
    if claims is None:
        raise ProblemError("a Bearer access token is required", status=401, code="missing_token")
    return OrganScope(organ=claims.organ or "")


ScopeDep = Annotated[OrganScope, Depends(organ_scope)]

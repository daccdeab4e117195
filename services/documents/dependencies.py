"""Request dependencies of the documents service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from lgsp_kit import access
from services.documents.scope import OrganScope


def organ_scope(request: Request) -> OrganScope:
    """The caller's organ scope: the organ its token names and every organ under it."""
    return OrganScope(organ=access.organ_scope(request).organ)


ScopeDep = Annotated[OrganScope, Depends(organ_scope)]

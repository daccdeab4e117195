"""`Idempotency-Key` on every POST of the dossier service (the kit's, on this service's table)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Response
from pydantic import BaseModel

from lgsp_kit import idempotency as kit
from lgsp_kit.db import Database
from lgsp_kit.idempotency import CallerId, IdempotencyDep, IdempotencyKey
from services.dossier.models import idempotency_record

__all__ = ["CallerId", "IdempotencyDep", "IdempotencyKey", "run"]


def run(
    db: Database,
    idem: IdempotencyKey | None,
    work: Callable[[Any], BaseModel],
    *,
    status_code: int,
) -> Response:
    """Do `work` in one unit of work; with a key, answer as the first request with it did."""
    return kit.run(db, idempotency_record, idem, work, status_code=status_code)

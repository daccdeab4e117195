"""Queries of the audit log."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session

from gateway.models import AuditRecord
from lgsp_kit.db import table_of
from lgsp_kit.reads import rows, shapes


@dataclass(frozen=True)
class AuditFilter:
    client_id: str | None = None
    api: str | None = None
    status: int | None = None
    request_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


# The filters equal to a column of the same name, and the bounds of the call's time.
_EQUAL = ("client_id", "api", "status", "request_id")
_BOUNDS = {"since": operator.ge, "until": operator.lt}


@shapes
def _search_statement(given: tuple[str, ...], before: bool) -> Select[Any]:
    """The log's select with the filters `given` and, with `before`, a cursor."""
    t = table_of(AuditRecord)
    query = core_select(t)
    if before:
        query = query.where(t.c.id < bindparam("before"))
    for name in given:
        if name in _BOUNDS:
            query = query.where(_BOUNDS[name](t.c.at, bindparam(name)))
        else:
            query = query.where(t.c[name] == bindparam(name))
    return query.order_by(t.c.id.desc()).limit(bindparam("limit"))


def search(session: Session, where: AuditFilter, *, before: int | None, limit: int) -> list[Any]:
    """Newest first; `before` is the id the previous page ended at: rows with the record's
    columns (`lgsp_kit.reads`)."""
    values: dict[str, Any] = {
        name: getattr(where, name)
        for name in (*_EQUAL, *_BOUNDS)
        if getattr(where, name) is not None
    }
    statement = _search_statement(tuple(values), before is not None)
    return rows(session, statement, {**values, "before": before, "limit": limit})

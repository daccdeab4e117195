"""Prepared list reads: a Core select built once per shape, compiled once per dialect, and run
on SQLite's own cursor when the read is one the event loop runs itself (`lgsp_kit.sessions`).

A page of a list is the same few statements over and over: which filters are given (the shape)
changes, their values change. Through a session, every read built its select again (the
`where`s, the `limit`'s bind), had SQLAlchemy work out its cache key, look up the compiled
form, make an execution context, a cursor result and its metadata, and begin and end the
session's transaction through the ORM: some 300 µs of CPU for a one-row page on a loaded
machine, against a few µs that SQLite needed. A `Prepared` statement keeps its SQL text, the
order of its parameters and the conversions of its parameters and columns (the same the
dialect's types do: an aware time stored as UTC, a boolean as an integer); on the event loop's
SQLite connection a read is then one `execute` and one `fetchall` in the driver, inside a
snapshot the driver begins (`BEGIN`) and the unit of work ends. Elsewhere (PostgreSQL, a read
moved to a pool thread) the same statement goes through the session, its cache key worked out
once since the statement object is kept.

The rows read by attribute, as SQLAlchemy's do. Driver errors become SQLAlchemy's (`DBAPIError`)
so that a locked or missing database answers as any other read's.
"""

from __future__ import annotations

import functools
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec

from sqlalchemy import Select, bindparam, false
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

# Where a read unit's session carries the event loop's SQLite connection and its dialect
# (`lgsp_kit.sessions._read_in_loop` puts them there for the unit's length).
LOOP_DRIVER = "lgsp.loop_driver"
_SHAPES_KEPT = 256

Processor = Callable[[Any], Any] | None
P = ParamSpec("P")


@dataclass(frozen=True)
class _Compiled:
    """A statement as one dialect runs it: text, parameters in order, conversions, row type."""

    sql: str
    names: tuple[str, ...]
    defaults: Mapping[str, Any]
    binds: tuple[Processor, ...]
    results: tuple[tuple[int, Callable[[Any], Any]], ...]
    row: type[tuple[Any, ...]]

    def parameters(self, values: Mapping[str, Any]) -> list[Any]:
        out = []
        for name, convert in zip(self.names, self.binds, strict=True):
            value = values[name] if name in values else self.defaults[name]
            out.append(value if convert is None or value is None else convert(value))
        return out

    def make(self, raw: Sequence[tuple[Any, ...]]) -> list[Any]:
        if not self.results:
            return [self.row._make(r) for r in raw]  # type: ignore[attr-defined]
        made = []
        for r in raw:
            values = list(r)
            for i, convert in self.results:
                if values[i] is not None:
                    values[i] = convert(values[i])
            made.append(self.row._make(values))  # type: ignore[attr-defined]
        return made


def _compile(statement: Select[Any], dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    binds = compiled.binds
    expanding = [n for n in names if binds[n].expanding]
    if expanding:
        raise ValueError(f"{expanding}: a prepared read takes `one_of`, not `in_`")
    defaults = {n: binds[n].effective_value for n in names if not binds[n].required}
    columns = list(statement.selected_columns)
    results = []
    for i, column in enumerate(columns):
        convert = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if convert is not None:
            results.append((i, convert))
    row = namedtuple("Row", [c.key for c in columns], rename=True)  # type: ignore[misc]
    return _Compiled(
        sql=str(compiled),
        names=names,
        defaults=defaults,
        binds=tuple(binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names),
        results=tuple(results),
        row=row,
    )


class Prepared:
    """A Core select whose values are named bind parameters (`bindparam("limit")`), compiled
    once per dialect."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _compile(self.statement, dialect)
        return found


def shapes(build: Callable[P, Select[Any]]) -> Callable[P, Prepared]:
    """`build(*shape)` as a `Prepared`, made once per shape: its arguments (hashable) say which
    filters a read has, never their values."""

    @functools.lru_cache(maxsize=_SHAPES_KEPT)
    def prepared(*shape: Hashable) -> Prepared:
        return Prepared(build(*shape))  # type: ignore[arg-type, call-arg]

    return prepared  # type: ignore[return-value]


def one_of(column: ColumnElement[Any], name: str, count: int) -> ColumnElement[bool]:
    """`column IN (:name_0, …, :name_<count-1>)`: a set of values as parameters of their own,
    so that a shape holds the set's size (`spread` gives the values); none is no row."""
    if count == 0:
        return false()
    return column.in_([bindparam(f"{name}_{i}") for i in range(count)])


def spread(name: str, values: Sequence[Any]) -> dict[str, Any]:
    """The parameters of `one_of(column, name, len(values))`."""
    return {f"{name}_{i}": v for i, v in enumerate(values)}


def rows(session: Session, prepared: Prepared, values: Mapping[str, Any]) -> list[Any]:
    """The rows of `prepared` with these parameter values, in the session's unit of work."""
    loop = session.info.get(LOOP_DRIVER)
    if loop is None:
        result = session.connection().execute(prepared.statement, dict(values))
        return list(result.all())
    driver, dialect = loop
    compiled = prepared.compiled(dialect)
    parameters = compiled.parameters(values)
    try:
        if not driver.in_transaction:
            driver.execute("BEGIN")  # one snapshot for the unit's reads
        raw = driver.execute(compiled.sql, parameters).fetchall()
    except sqlite3.Error as exc:
        raise DBAPIError.instance(compiled.sql, parameters, exc, sqlite3.Error) from exc
    return compiled.make(raw)


__all__ = ["LOOP_DRIVER", "Prepared", "one_of", "rows", "shapes", "spread"]

"""What FastAPI works out again on every request about a route's parameters, worked out once.

FastAPI (0.165) reads a route's query, path and header parameters through
`fastapi.dependencies.utils.request_params_to_args`, which asks, per parameter and per request,
whether its annotation is a pydantic model, whether it is a sequence (walking `Annotated` and
`Union` with `typing.get_origin`) and which names it goes by. The answers depend on the route's
declaration alone, yet for the dossier list's nine query parameters they cost 110 µs a request
against 8 µs for validating the values themselves (timeit): a sixth of a one-row read.

`install` replaces those helpers, in the one module that calls them, by memoised versions:
the answer for a parameter is kept on its `ModelField` (so it lives and dies with the route;
FastAPI builds new fields per request only under `dependency_overrides`, in tests) and the
answer for an annotation in a bounded table. Each returns exactly what the original returns;
`tests/kit/test_paramcache.py` compares both over every route of every app. The names are
FastAPI's private ones: `install` refuses to run (at app creation) if one is missing, so an
upgrade that renames them fails loudly rather than silently losing the cache.

`request_params_to_args` itself, the loop over a route's parameters, still asked each of them
per request, hashed each annotation (a `Literal | None` hashes its members: 3 µs) and, for a
parameter the request leaves out, built its default and deep-copied it: 30 µs of a one-row
read with its eight query parameters. Its replacement reads a plan kept on each field (what
the helpers answer, whether it is a sequence, its default when the default is a constant) and
validates what the request gave; anything else (a parameter model, a default factory, a form)
goes the original way.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.dependencies import utils
from starlette.datastructures import FormData, Headers, ImmutableMultiDict

_HELPERS = ("_get_param_model", "_get_param_aliases", "_is_json_field")
_SEQUENCE = "field_annotation_is_sequence"
_LOOP = "request_params_to_args"
_MARK = "__lgsp_memoised__"
_ANNOTATIONS_KEPT = 4096
_PLAN = "_lgsp_param_plan"
# Defaults that a deep copy returns as they are.
_CONSTANTS = frozenset({type(None), bool, int, float, str, bytes})
_NO_DEFAULT = object()


def _per_field(original: Callable[..., Any], key: str) -> Callable[..., Any]:
    """`original(field, **options)` remembered on the field, per option values."""

    def memoised(field: Any, **options: Any) -> Any:
        answers: dict[Any, Any] | None = field.__dict__.get(key)
        if answers is None:
            answers = field.__dict__[key] = {}
        option_key = tuple(sorted(options.items())) if options else ()
        try:
            return answers[option_key]
        except KeyError:
            answer = answers[option_key] = original(field, **options)
            return answer

    setattr(memoised, _MARK, original)
    return memoised


def _per_annotation(original: Callable[[Any], bool]) -> Callable[[Any], bool]:
    answers: dict[Any, bool] = {}

    def memoised(annotation: Any) -> bool:
        try:
            return answers[annotation]
        except KeyError:
            answer = original(annotation)
            if len(answers) >= _ANNOTATIONS_KEPT:
                answers.clear()
            answers[annotation] = answer
            return answer
        except TypeError:  # an unhashable annotation: asked every time
            return original(annotation)

    setattr(memoised, _MARK, original)
    return memoised


@dataclass(frozen=True)
class _Plan:
    """What FastAPI works out about a plain parameter (no parameter model) on every request."""

    aliases: tuple[str, ...]  # the request keys, in preference order
    multi: bool  # read with `getlist` from a multi-dict
    sequence: bool  # an empty sequence counts as absent
    where: str  # "query", "header"…: the first item of an error's `loc`
    default: Any  # the value of an absent parameter, or _NO_DEFAULT: ask FastAPI


def _plan(field: Any) -> _Plan | None:
    """The plan of a plain parameter; None for one read through a parameter model."""
    if utils._get_param_model(field) is not None:
        return None
    info = field.field_info
    sequence = bool(utils.field_annotation_is_sequence(info.annotation))
    default = _NO_DEFAULT
    if (
        not info.is_required()
        and info.default_factory is None
        and not info.validate_default
        and (type(info.default) in _CONSTANTS or isinstance(info.default, enum.Enum))
    ):
        default = info.default
    return _Plan(
        aliases=tuple(alias for _, alias in utils._get_param_aliases(field)),
        multi=sequence and not utils._is_json_field(field),
        sequence=sequence,
        where=info.in_.value,
        default=default,
    )


def _plan_of(field: Any) -> _Plan | None:
    try:
        plan: _Plan | None = field.__dict__[_PLAN]
    except KeyError:
        plan = field.__dict__[_PLAN] = _plan(field)
    return plan


def _request_params_to_args(
    fields: Sequence[Any], received_params: Mapping[str, Any] | Headers
) -> tuple[dict[str, Any], list[Any]]:
    """FastAPI's `request_params_to_args`, from each field's plan (see the module's docstring)."""
    values: dict[str, Any] = {}
    errors: list[Any] = []
    if not fields:
        return values, errors
    if isinstance(received_params, FormData):
        return original(_LOOP)(fields, received_params)
    multi_dict = isinstance(received_params, ImmutableMultiDict | Headers)
    for field in fields:
        plan = _plan_of(field)
        if plan is None:
            model = utils._get_param_model(field)
            assert model is not None
            found, found_errors = utils._request_param_model_to_args(field, model, received_params)
        else:
            alias = next((a for a in plan.aliases if a in received_params), plan.aliases[0])
            if plan.multi and multi_dict:
                value: Any = received_params.getlist(alias)  # type: ignore[union-attr]
            else:
                value = received_params.get(alias)
            if value is None or (plan.sequence and len(value) == 0):
                value = utils.Undefined
                if plan.default is not _NO_DEFAULT:
                    values[field.name] = plan.default
                    continue
            found, found_errors = utils._validate_value_with_model_field(
                field=field, value=value, values=values, loc=(plan.where, alias)
            )
        if found_errors:
            errors.extend(found_errors)
        else:
            values[field.name] = found
    return values, errors


def original(name: str) -> Callable[..., Any]:
    """FastAPI's own helper `name`, memoised or not."""
    helper = getattr(utils, name)
    found: Callable[..., Any] = getattr(helper, _MARK, helper)
    return found


def install() -> None:
    """Memoise the helpers (once per process; later calls change nothing)."""
    needed = (
        *_HELPERS,
        _SEQUENCE,
        _LOOP,
        "_request_param_model_to_args",
        "_validate_value_with_model_field",
    )
    missing = [n for n in needed if not callable(getattr(utils, n, None))]
    if missing:
        raise RuntimeError(
            f"fastapi.dependencies.utils lacks {', '.join(missing)}: lgsp_kit.paramcache "
            "must be updated for this FastAPI version"
        )
    for name in _HELPERS:
        if not hasattr(getattr(utils, name), _MARK):
            setattr(utils, name, _per_field(getattr(utils, name), f"_lgsp_{name}"))
    if not hasattr(getattr(utils, _SEQUENCE), _MARK):
        setattr(utils, _SEQUENCE, _per_annotation(getattr(utils, _SEQUENCE)))
    if not hasattr(getattr(utils, _LOOP), _MARK):
        setattr(_request_params_to_args, _MARK, getattr(utils, _LOOP))
        setattr(utils, _LOOP, _request_params_to_args)


__all__ = ["install", "original"]

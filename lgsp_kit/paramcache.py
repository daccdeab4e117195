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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.dependencies import utils

_HELPERS = ("_get_param_model", "_get_param_aliases", "_is_json_field")
_SEQUENCE = "field_annotation_is_sequence"
_MARK = "__lgsp_memoised__"
_ANNOTATIONS_KEPT = 4096


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


def original(name: str) -> Callable[..., Any]:
    """FastAPI's own helper `name`, memoised or not."""
    helper = getattr(utils, name)
    found: Callable[..., Any] = getattr(helper, _MARK, helper)
    return found


def install() -> None:
    """Memoise the helpers (once per process; later calls change nothing)."""
    missing = [n for n in (*_HELPERS, _SEQUENCE) if not callable(getattr(utils, n, None))]
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


__all__ = ["install", "original"]

"""The HTML of the live page and of the report's html format, as Jinja2 templates.

Every value is escaped unless it is already markup (autoescape): a declared note or an organ
code typed by an official cannot write HTML into the public page.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        autoescape=True,
        undefined=StrictUndefined,
    )


def render(name: str, **context: Any) -> Markup:
    """The template `name` of this folder rendered with `context`, as markup."""
    return Markup(_environment().get_template(name).render(**context))

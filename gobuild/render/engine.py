"""Jinja2 rendering of the files gobuild generates.

Templates ship inside the wheel (``gobuild.templates``) and are loaded through
importlib.resources. Rendering is strict: an undefined name is an error, and
values reach a template only through a filter for the syntax they land in
(:mod:`.escape`).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import jinja2

from gobuild.errors import GobuildError
from gobuild.render import escape


def _load(name: str) -> str:
    try:
        return (resources.files("gobuild.templates") / name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise jinja2.TemplateNotFound(name) from None


def environment() -> jinja2.Environment:
    """The one Jinja2 environment: strict undefined, no autoescape (filters escape per syntax)."""
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 - not HTML: every value passes a filter for its syntax
    )
    env.filters.update(
        toml=escape.toml_string,
        yaml=escape.yaml_string,
        toml_key=escape.toml_key,
        toml_array=escape.toml_array,
        comment=escape.comment,
        py=escape.python_string,
        make=escape.make_value,
        sh=escape.make_shell_word,
        shq=escape.shell_quote,
        dq=escape.dockerfile_word,
        json=escape.json_array,
        ignore=escape.ignore_line,
    )
    return env


def render(name: str, **values: Any) -> str:
    """Render template ``name`` with ``values``."""
    try:
        return environment().get_template(name).render(**values)
    except jinja2.UndefinedError as exc:
        raise GobuildError(f"template {name}: {exc.message}") from exc

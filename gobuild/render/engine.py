"""Jinja2 rendering of the files gobuild generates.

Templates ship inside the wheel (``gobuild.templates``) and are loaded through
importlib.resources. Rendering is strict: an undefined name is an error, and
values reach a template only through a filter for the syntax they land in.
"""

from __future__ import annotations

import json
import shlex
from importlib import resources
from typing import Any

import jinja2

from gobuild.errors import GobuildError


def _load(name: str) -> str:
    try:
        return (resources.files("gobuild.templates") / name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise jinja2.TemplateNotFound(name) from None


def toml_string(value: object) -> str:
    """A TOML basic string: JSON's escapes are all valid TOML escapes."""
    return json.dumps(str(value), ensure_ascii=True)


def toml_array(values: list[str]) -> str:
    """A one-line TOML array of strings."""
    return "[" + ", ".join(toml_string(v) for v in values) + "]"


def python_string(value: object) -> str:
    """A Python string literal."""
    return repr(str(value))


def _one_line(value: object, syntax: str) -> str:
    text = str(value)
    if any(c in text for c in "\n\r\x00"):
        raise GobuildError(f"{text!r} cannot be placed in a {syntax}: it spans lines")
    return text


def make_value(value: object) -> str:
    """Text placed in a Makefile line (assignment or recipe): ``$`` doubled, ``#`` as
    ``$(hash)``.

    ``\\#`` cannot be used: make reads a backslash before it as escaping the
    escape, and the rest of the line becomes a comment. The template defines
    ``hash := \\#``. Leading white space (which make strips) is kept with
    ``$(empty)``; a trailing backslash (a line continuation) is rejected.
    """
    text = _one_line(value, "Makefile")
    if text.endswith("\\"):
        raise GobuildError(f"{text!r} cannot end a Makefile line with a backslash")
    text = text.replace("$", "$$").replace("#", "$(hash)")
    return f"$(empty){text}" if text[:1].isspace() else text


def shell_quote(value: object) -> str:
    """One POSIX shell word (single-quoted when needed)."""
    return shlex.quote(_one_line(value, "shell word"))


def make_shell_word(value: object) -> str:
    """One shell word in a make recipe: single-quoted for sh, then ``$`` doubled for make."""
    text = _one_line(value, "Makefile recipe")
    return shlex.quote(text).replace("$", "$$")


def dockerfile_word(value: object) -> str:
    r"""A double-quoted Dockerfile word (ARG default, LABEL value).

    BuildKit's lexer un-escapes ``\\``, ``\"`` and ``\$`` inside double quotes
    and expands ``$VAR``; escaping those three makes the value literal.
    """
    text = _one_line(value, "Dockerfile")
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def json_array(values: list[str]) -> str:
    """A Dockerfile exec-form (JSON) array; ASCII-only so no byte can end the line."""
    return json.dumps([_one_line(v, "Dockerfile") for v in values], ensure_ascii=True)


def ignore_line(value: object) -> str:
    """One .dockerignore pattern: a single line that is not a comment."""
    text = _one_line(value, ".dockerignore")
    if text.strip() != text or text.startswith("#") or not text:
        raise GobuildError(f"{text!r} cannot be a .dockerignore pattern")
    return text


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
        toml=toml_string,
        toml_array=toml_array,
        py=python_string,
        make=make_value,
        sh=make_shell_word,
        shq=shell_quote,
        dq=dockerfile_word,
        json=json_array,
        ignore=ignore_line,
    )
    return env


def render(name: str, **values: Any) -> str:
    """Render template ``name`` with ``values``."""
    try:
        return environment().get_template(name).render(**values)
    except jinja2.UndefinedError as exc:
        raise GobuildError(f"template {name}: {exc.message}") from exc

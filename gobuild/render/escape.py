"""Escaping for the syntax a value lands in: one filter per syntax, each total or refusing.

A value from gobuild.toml reaches a generated file only through one of these: TOML,
YAML and Python strings, Makefile text and recipe words, POSIX shell words, double-quoted
Dockerfile words, JSON exec-form arrays, .dockerignore patterns. A value a syntax
cannot carry (a line break, a trailing backslash in make) is refused with an error.
"""

from __future__ import annotations

import json
import re
import shlex

from gobuild.errors import GobuildError


def toml_string(value: object) -> str:
    """A TOML basic string: JSON's escapes are all valid TOML escapes."""
    return json.dumps(str(value), ensure_ascii=True)


def toml_key(value: object) -> str:
    """A TOML key: bare when it may be (letters, digits, ``_`` and ``-``), else quoted."""
    text = str(value)
    return text if re.fullmatch(r"[A-Za-z0-9_-]+", text) else toml_string(text)


def toml_array(values: list[str]) -> str:
    """A one-line TOML array of strings."""
    return "[" + ", ".join(toml_string(v) for v in values) + "]"


def comment(value: object) -> str:
    """Text for a ``#`` comment (TOML, Python, shell): one line, no control characters;
    those are shown as escapes (a comment is read, not parsed)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value))


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


def yaml_string(value: object) -> str:
    """A YAML double-quoted scalar (JSON strings are YAML); one line only."""
    return json.dumps(_one_line(value, "YAML"), ensure_ascii=True)


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

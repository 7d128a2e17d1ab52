"""Module paths and versions as URLs spell them, and GOPRIVATE-style patterns.

A port of golang.org/x/mod/module's ``EscapePath``, ``EscapeVersion`` (with the
checks they make first: ``CheckPath``, and ``checkElem`` for file names) and
``MatchPrefixPatterns`` (with ``path.Match``'s glob syntax). Proxies and checksum
databases are often served from case-insensitive file systems, so an upper-case
letter is spelled ``!`` and the lower-case letter; the checks make that spelling
unambiguous (no ``!`` in a path, ASCII only).
"""

from __future__ import annotations

from collections.abc import Iterator

from gobuild.errors import ConfigError

# Windows reserves these names with any extension, in any case; Go refuses them
# everywhere so a module can be extracted on every system.
_BAD_WINDOWS_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{i}" for i in range(1, 10)]
    + [f"LPT{i}" for i in range(1, 10)]
)
_ASCII_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_MOD_PATH_CHARS = _ASCII_ALNUM | frozenset("-._~")
_FIRST_ELEM_CHARS = frozenset("-.0123456789abcdefghijklmnopqrstuvwxyz")
# The ASCII punctuation file names may use: no shell specials (" ' * < > ? ` |)
# and no separators (/ : \).
_FILE_NAME_PUNCT = frozenset("!#$%&()+,-.=@[]^_{}~ ")


def escape_path(path: str) -> str:
    """``path`` as the proxy protocol spells it (``github.com/!azure/...``).

    Raises :class:`~gobuild.errors.ConfigError` for an invalid module path, as
    ``module.EscapePath`` refuses one.
    """
    reason = _check_module_path(path)
    if reason:
        raise ConfigError(f"malformed module path {path!r}: {reason}")
    return _escape(path)


def escape_version(version: str) -> str:
    """``version`` as the proxy protocol spells it (``v1.0.0-!r!c1``).

    Any version that is a valid file name without ``!`` is accepted (Go allows
    non-semver versions here); others raise :class:`~gobuild.errors.ConfigError`.
    """
    # File names may hold non-ASCII letters, but the escaping cannot spell them.
    if _check_elem(version, file_name=True) or "!" in version or not version.isascii():
        raise ConfigError(f"disallowed version string {version!r}")
    return _escape(version)


def match_patterns(patterns: str, path: str) -> bool:
    """Whether a path prefix of ``path`` matches one of the comma-separated globs.

    The rule of GOPRIVATE, GONOPROXY and GONOSUMDB: a glob of N+1 elements is
    matched (by ``path.Match``) against the first N+1 elements of ``path``, so
    ``*.corp.example.com`` covers ``git.corp.example.com/x/y``. Empty and
    malformed globs are ignored, trailing slashes dropped.
    """
    for raw in patterns.split(","):
        glob = raw.removesuffix("/")
        if not glob:
            continue
        elements = glob.count("/") + 1
        prefix_parts = path.split("/")
        if len(prefix_parts) < elements:
            continue  # not enough path elements to match against
        if glob_match(glob, "/".join(prefix_parts[:elements])):
            return True
    return False


def glob_match(pattern: str, name: str) -> bool:
    """Go's ``path.Match``: ``*`` and ``?`` never match ``/``; ``[a-z]``,
    ``[^...]`` and ``\\`` escapes as there. A malformed pattern matches nothing."""
    try:
        return _match(pattern, name)
    except _BadPatternError:
        return False


class _BadPatternError(Exception):
    pass


def _match(pattern: str, name: str) -> bool:
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        if star and not chunk:
            # A trailing * matches the rest unless it crosses a slash.
            return "/" not in name
        rest = _match_chunk(chunk, name)
        if rest is not None and (not rest or pattern):
            name = rest
            continue
        if star:
            # Let the star swallow i+1 characters (never a slash) and retry.
            matched = False
            i = 0
            while i < len(name) and name[i] != "/":
                rest = _match_chunk(chunk, name[i + 1 :])
                if rest is not None and not (not pattern and rest):
                    name = rest
                    matched = True
                    break
                i += 1
            if matched:
                continue
        # No match: Go still reports a malformed remainder of the pattern.
        while pattern:
            _, chunk, pattern = _scan_chunk(pattern)
            _match_chunk(chunk, "")
        return False
    return not name


def _scan_chunk(pattern: str) -> tuple[bool, str, str]:
    star = False
    while pattern.startswith("*"):
        pattern = pattern[1:]
        star = True
    in_range = False
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            if i + 1 < len(pattern):
                i += 1
        elif c == "[":
            in_range = True
        elif c == "]":
            in_range = False
        elif c == "*" and not in_range:
            return star, pattern[:i], pattern[i:]
        i += 1
    return star, pattern, ""


def _match_chunk(chunk: str, s: str) -> str | None:
    """The rest of ``s`` after ``chunk`` matched its beginning, or None.

    Like Go, the whole chunk is parsed even after a mismatch, so a malformed
    pattern raises whatever the name.
    """
    failed = False
    while chunk:
        failed = failed or not s
        c = chunk[0]
        if c == "[":
            r = ""
            if not failed:
                r, s = s[0], s[1:]
            matched, negated, chunk = _match_class(chunk[1:], r)
            failed = failed or matched == negated
        elif c == "?":
            if not failed:
                failed = s[0] == "/"
                s = s[1:]
            chunk = chunk[1:]
        else:
            if c == "\\":
                chunk = chunk[1:]
                if not chunk:
                    raise _BadPatternError
            if not failed:
                failed = chunk[0] != s[0]
                s = s[1:]
            chunk = chunk[1:]
    return None if failed else s


def _match_class(chunk: str, r: str) -> tuple[bool, bool, str]:
    """Match ``r`` against the class after a ``[``: (matched, negated, rest of chunk).
    ``r`` is empty once the match has failed (the class is still parsed)."""
    negated = chunk.startswith("^")
    if negated:
        chunk = chunk[1:]
    matched = False
    ranges = 0
    while True:
        if chunk.startswith("]") and ranges > 0:
            return matched, negated, chunk[1:]
        lo, chunk = _get_esc(chunk)
        hi = lo
        if chunk[0] == "-":
            hi, chunk = _get_esc(chunk[1:])
        matched = matched or (r != "" and lo <= r <= hi)
        ranges += 1


def _get_esc(chunk: str) -> tuple[str, str]:
    if not chunk or chunk[0] in "-]":
        raise _BadPatternError
    if chunk[0] == "\\":
        chunk = chunk[1:]
        if not chunk:
            raise _BadPatternError
    r, rest = chunk[0], chunk[1:]
    if not rest:
        raise _BadPatternError
    return r, rest


def _escape(s: str) -> str:
    return "".join(f"!{c.lower()}" if "A" <= c <= "Z" else c for c in s)


def _check_module_path(path: str) -> str:
    """Why ``path`` is not a valid module path (module.CheckPath), or ``""``."""
    return next(_module_path_problems(path), "")


def _module_path_problems(path: str) -> Iterator[str]:
    # A generator so each check can stop at the first problem (next() takes it).
    problem = _check_path(path)
    if problem:
        yield problem
        return
    first = path.split("/", 1)[0]
    if not first:
        yield "leading slash"
    if "." not in first:
        yield "missing dot in first path element"
    if path[0] == "-":
        yield "leading dash in first path element"
    for c in first:
        if c not in _FIRST_ELEM_CHARS:
            yield f"invalid char {c!r} in first path element"
    if not _split_path_version_ok(path):
        yield "invalid version"


def _check_path(path: str) -> str:
    return next(_path_problems(path), "")


def _path_problems(path: str) -> Iterator[str]:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        yield "invalid UTF-8"
    if not path:
        yield "empty string"
        return
    if path[0] == "-":
        yield "leading dash"
    if "//" in path:
        yield "double slash"
    if path.endswith("/"):
        yield "trailing slash"
    for elem in path.split("/"):
        problem = _check_elem(elem, file_name=False)
        if problem:
            yield problem


def _check_elem(elem: str, *, file_name: bool) -> str:
    """Why ``elem`` is not a valid module path element (or file name), or ``""``."""
    return next(_elem_problems(elem, file_name), "")


def _elem_problems(elem: str, file_name: bool) -> Iterator[str]:
    if not elem:
        yield "empty path element"
        return
    if elem.count(".") == len(elem):
        yield f"invalid path element {elem!r}"
    if elem[0] == "." and not file_name:
        yield "leading dot in path element"
    if elem[-1] == ".":
        yield "trailing dot in path element"
    for c in elem:
        ok = (
            c in _ASCII_ALNUM or c in _FILE_NAME_PUNCT or (c > "\x7f" and c.isalpha())
            if file_name
            else c in _MOD_PATH_CHARS
        )
        if not ok:
            yield f"invalid char {c!r}"
    short = elem.split(".", 1)[0]
    if short.upper() in _BAD_WINDOWS_NAMES:
        yield f"{short!r} disallowed as path element component on Windows"
    # Windows short names end in a tilde and digits (PROGRA~1); file names may.
    tilde = short.rfind("~")
    if not file_name and tilde >= 0 and _ascii_digits(short[tilde + 1 :]):
        yield "trailing tilde and digits in path element"


def _ascii_digits(s: str) -> bool:
    return bool(s) and all("0" <= c <= "9" for c in s)


def _split_path_version_ok(path: str) -> bool:
    """module.SplitPathVersion's ok: a final /vN (or gopkg.in's .vN) is well formed."""
    if path.startswith("gopkg.in/"):
        i = len(path)
        if path.endswith("-unstable"):
            i -= len("-unstable")
        while i > 0 and "0" <= path[i - 1] <= "9":
            i -= 1
        if i <= 1 or path[i - 1] != "v" or path[i - 2] != ".":
            return False
        major = path[i - 2 :]
        return not (len(major) <= 2 or (major[2] == "0" and major != ".v0"))
    i = len(path)
    dot = False
    while i > 0 and ("0" <= path[i - 1] <= "9" or path[i - 1] == "."):
        dot = dot or path[i - 1] == "."
        i -= 1
    if i <= 1 or i == len(path) or path[i - 1] != "v" or path[i - 2] != "/":
        return True
    major = path[i - 2 :]
    return not (dot or len(major) <= 2 or major[2] == "0" or major == "/v1")

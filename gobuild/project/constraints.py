"""Go build constraints, read without Go: whether a file builds for a GOOS/GOARCH.

Enough of go/build's rules to tell whether a main package builds for any platform a
project targets: the ``//go:build`` expression (``&&``, ``||``, ``!``, parentheses) and
the ``_GOOS``, ``_GOARCH`` and ``_GOOS_GOARCH`` file name suffixes. Tags a build may
add (``-tags``, cgo, a Go release) count as satisfied: the question is only whether the
platform rules the file out, so a guess errs towards keeping a package.
"""

from __future__ import annotations

import re

KNOWN_OS = frozenset((
    "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js",
    "linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos",
))  # fmt: skip
KNOWN_ARCH = frozenset((
    "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "loong64", "mips",
    "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "ppc64", "ppc64le",
    "riscv", "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm",
))  # fmt: skip
UNIX = frozenset((
    "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "linux",
    "netbsd", "openbsd", "solaris",
))  # fmt: skip
_LINE = re.compile(r"^//go:build\s+(?P<expr>.+?)\s*$", re.MULTILINE)
_TOKEN = re.compile(r"\s*(\(|\)|!|&&|\|\||[A-Za-z0-9_.]+)")


def build_line(head: str) -> str | None:
    """The ``//go:build`` expression of a file's head (before its package clause)."""
    m = _LINE.search(head)
    return m["expr"] if m else None


def matches(name: str, head: str, goos: str, goarch: str) -> bool:
    """Whether the file ``name`` (its ``head`` read) builds for ``goos``/``goarch``."""
    return _name_matches(name, goos, goarch) and _expr_matches(build_line(head), goos, goarch)


def _name_matches(name: str, goos: str, goarch: str) -> bool:
    parts = name.removesuffix(".go").split("_")[1:]
    if parts and parts[-1] == "test":
        parts.pop()
    if len(parts) >= 2 and parts[-2] in KNOWN_OS and parts[-1] in KNOWN_ARCH:
        return _os_is(parts[-2], goos) and parts[-1] == goarch
    if parts and parts[-1] in KNOWN_OS:
        return _os_is(parts[-1], goos)
    if parts and parts[-1] in KNOWN_ARCH:
        return parts[-1] == goarch
    return True


# GOOS values that also satisfy another's tag and file names, as go/build has it.
_IMPLIES = {"android": "linux", "illumos": "solaris", "ios": "darwin"}


def _os_is(word: str, goos: str) -> bool:
    return word == goos or _IMPLIES.get(goos) == word


def _expr_matches(expr: str | None, goos: str, goarch: str) -> bool:
    if expr is None:
        return True
    tokens = [t for t in _TOKEN.findall(expr) if t]
    if "".join(tokens) != re.sub(r"\s+", "", expr):
        return True  # not an expression this reader knows: keep the file

    def tag(word: str) -> bool:
        if word in KNOWN_OS:
            return _os_is(word, goos)
        if word == "unix":
            return goos in UNIX
        if word in KNOWN_ARCH:
            return word == goarch
        return True  # a tag a build may set: not the platform's to rule out

    pos = 0

    def parse_or() -> bool:
        nonlocal pos
        value = parse_and()
        while pos < len(tokens) and tokens[pos] == "||":
            pos += 1
            value = parse_and() or value
        return value

    def parse_and() -> bool:
        nonlocal pos
        value = parse_not()
        while pos < len(tokens) and tokens[pos] == "&&":
            pos += 1
            value = parse_not() and value
        return value

    def parse_not() -> bool:
        nonlocal pos
        if pos < len(tokens) and tokens[pos] == "!":
            pos += 1
            word = tokens[pos] if pos < len(tokens) else ""
            if word not in ("(", "!") and word not in KNOWN_OS | KNOWN_ARCH | {"unix"}:
                parse_not()
                return True  # !tag: a build may leave the tag unset
            return not parse_not()
        if pos < len(tokens) and tokens[pos] == "(":
            pos += 1
            value = parse_or()
            pos += 1  # ")"
            return value
        word = tokens[pos] if pos < len(tokens) else ""
        pos += 1
        return tag(word)

    try:
        return parse_or()
    except IndexError:
        return True

"""A Go binary's own build info, as ``go version -m BINARY`` prints it.

Every Go binary built in module mode carries what it was built from: the Go release,
the main package's path, the main module, each dependency module linked with its
version and ``h1:`` hash (or its replacement), and the build settings (``-ldflags``,
``CGO_ENABLED``, ``GOOS``/``GOARCH``, ``vcs.revision``…). The go command prints it as
lines of tab-separated fields (runtime/debug's ``BuildInfo.String``, indented by one
tab), the first naming the file::

    demo: go1.22.10
    \tpath\texample.com/demo/cmd/demo
    \tmod\texample.com/demo\t(devel)\t
    \tdep\trsc.io/quote\tv1.5.2\th1:w5fc…=
    \tdep\trsc.io/sampler\tv1.3.0
    \t=>\trsc.io/sampler\tv1.99.99\th1:7i08…=
    \t
    \tbuild\t-ldflags="-X 'main.version=v1.2.3'"

A replaced module's line has no hash; the next line (``=>``) names the replacement and
a blank line ends it. A setting's key or value holding a space, tab, newline, quote or
backquote (a key also ``=``) is a Go quoted string. Reading the text rather than the
binary keeps the go command the one reader of its own format (ELF, Mach-O, PE; every
release since 1.18 prints it the same way).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gobuild import proc
from gobuild.errors import GobuildError

DEVEL = "(devel)"
"""The version build info gives code that no module version names: a main module built
without VCS information (or by a Go before 1.24), a replacement by a directory."""


@dataclass(frozen=True)
class Module:
    """A module as build info records it.

    ``sum`` is the ``h1:`` hash go.sum holds for it, or None where build info has
    none (a main module, a replaced dependency, a directory replacement).
    ``replacement`` is the module (or directory) a ``replace`` directive linked in
    its place; its code, not this module's, is in the binary.
    """

    path: str
    version: str
    sum: str | None = None
    replacement: Module | None = None

    @property
    def linked(self) -> Module:
        """The module whose code the binary holds: the replacement, if any."""
        return self.replacement or self

    @property
    def is_directory(self) -> bool:
        """Whether this is a directory on disk (a replacement such as ``./local``),
        not a module path (golang.org/x/mod/modfile's IsDirectoryPath)."""
        path = self.path
        return (
            path in (".", "..")
            or path.startswith(("./", "../", "/", ".\\", "..\\"))
            or (len(path) >= 3 and path[0].isalpha() and path[1] == ":" and path[2] in "/\\")
        )


@dataclass(frozen=True)
class BuildInfo:
    """What a Go binary says it was built from (``go version -m``).

    ``main`` is None for a binary built outside module mode (GOPATH, or files named
    on the command line with GO111MODULE=off). ``settings`` keeps the go command's
    order; a key appears once.
    """

    go_version: str
    path: str
    main: Module | None
    deps: tuple[Module, ...]
    settings: tuple[tuple[str, str], ...]

    def setting(self, key: str) -> str | None:
        """The value of build setting ``key`` (``GOOS``, ``-ldflags``…), or None."""
        for k, v in self.settings:
            if k == key:
                return v
        return None


def read_buildinfo(go: Path, binary: Path, env: Mapping[str, str]) -> BuildInfo:
    """The build info of ``binary``, read by ``go version -m`` run as ``go`` with ``env``.

    ``env`` is the whole environment (the pinned Go's, from
    :func:`gobuild.builds.goenv.go_environ`). Raises :class:`~gobuild.errors.GobuildError`
    naming the binary when it is not a file, when the go command cannot read it (not a
    Go binary; an empty answer counts too, as some Go releases exit 0 after saying why
    on stderr), or when the output is not build info as the go command prints it.
    """
    if not binary.is_file():
        raise GobuildError(f"{binary}: no such file: cannot read its Go build info")
    # Named from its own directory: never taken for a flag, and the header line is
    # known whatever the path holds.
    name = f"./{binary.name}"
    res = proc.run([str(go), "version", "-m", name], cwd=binary.parent, env=env, check=False)
    if res.returncode != 0 or not res.stdout.strip():
        said = " | ".join(res.stderr.strip().splitlines()[-3:]) or f"exit code {res.returncode}"
        raise GobuildError(f"{binary}: go version -m cannot read its build info: {said}")
    return parse_buildinfo(res.stdout, name)


def parse_buildinfo(text: str, binary: str) -> BuildInfo:
    """Parse ``go version -m`` output for one file, printed as ``binary`` (the name it
    was given on the command line).

    Raises :class:`~gobuild.errors.GobuildError` naming ``binary`` and the line for
    anything the go command does not print: another file's header, an unknown word,
    a field too many or too few, a ``=>`` line after a hashed module, a module or
    setting twice.
    """
    # Lines end at newlines only: an unquoted value may hold a form feed or U+2028.
    lines = text.split("\n")
    header = f"{binary}: "
    if not lines[0].startswith(header) or not lines[0][len(header) :].strip():
        raise GobuildError(f"{binary}: not go version -m output for it: {lines[0]!r}")
    parser = _Parser(binary, lines[0][len(header) :].strip())
    for number, line in enumerate(lines[1:], start=2):
        parser.line(number, line)
    return parser.result()


class _Parser:
    """Line by line, keeping the dependency a ``=>`` line may still replace."""

    def __init__(self, binary: str, go_version: str) -> None:
        self.binary = binary
        self.go_version = go_version
        self.path: str | None = None
        self.main: Module | None = None
        self.deps: list[Module] = []
        self.settings: dict[str, str] = {}
        # A module line without a hash: the next line must be its replacement.
        self.pending: Module | None = None
        self.number = 0

    def fail(self, why: str, line: str) -> GobuildError:
        return GobuildError(
            f"{self.binary}: unexpected go version -m output, line {self.number}: {why}: {line!r}"
        )

    def line(self, number: int, line: str) -> None:
        self.number = number
        if not line.strip():
            return  # the blank line ending a replacement
        if not line.startswith("\t"):
            raise self.fail("not indented (another file's build info?)", line)
        fields = line[1:].split("\t")
        word = fields[0]
        if self.pending is not None and word != "=>":
            raise self.fail(f"{self.pending.path} has neither a hash nor a replacement", line)
        if word == "path" and len(fields) == 2 and self.path is None and fields[1]:
            self.path = fields[1]
        elif word == "mod" and self.main is None and not self.deps:
            self.main = self.module(fields, line)
        elif word == "dep":
            dep = self.module(fields, line)
            if dep.path in {d.path for d in self.deps}:
                raise self.fail("a dependency twice", line)
            if self.pending is None:
                self.deps.append(dep)
        elif word == "=>" and self.pending is not None:
            replacement = self.module(fields, line)
            self.deps.append(Module(self.pending.path, self.pending.version, None, replacement))
            self.pending = None
        elif word == "build" and len(fields) == 2:
            key, value = self.setting(fields[1], line)
            if key in self.settings:
                raise self.fail("a setting twice", line)
            self.settings[key] = value
        else:
            raise self.fail("not a line of build info", line)

    def module(self, fields: list[str], line: str) -> Module:
        """A module line's module; a ``dep`` without its hash field waits for ``=>``."""
        if len(fields) not in (3, 4) or not fields[1] or not fields[2]:
            raise self.fail("not PATH VERSION [HASH]", line)
        module = Module(fields[1], fields[2], fields[3] if len(fields) == 4 and fields[3] else None)
        if len(fields) == 3:
            if fields[0] != "dep":
                raise self.fail("no hash field", line)
            self.pending = module
        return module

    def setting(self, text: str, line: str) -> tuple[str, str]:
        try:
            if text.startswith('"'):
                key, end = _go_unquote(text, 0)
                if text[end : end + 1] != "=":
                    raise ValueError("no = after the quoted key")
                rest = text[end + 1 :]
            else:
                key, sep, rest = text.partition("=")
                if not sep or not key:
                    raise ValueError("not KEY=VALUE")
            if rest.startswith('"'):
                value, end = _go_unquote(rest, 0)
                if end != len(rest):
                    raise ValueError("text after the quoted value")
            else:
                value = rest
        except ValueError as exc:
            raise self.fail(f"malformed setting ({exc})", line) from None
        return key, value

    def result(self) -> BuildInfo:
        if self.pending is not None:
            raise self.fail(f"{self.pending.path} has neither a hash nor a replacement", "")
        if self.path is None:
            raise GobuildError(f"{self.binary}: go version -m output has no path line")
        return BuildInfo(
            go_version=self.go_version,
            path=self.path,
            main=self.main,
            deps=tuple(self.deps),
            settings=tuple(self.settings.items()),
        )


# What strconv.Quote writes after a backslash: these, \xNN (a byte of invalid UTF-8),
# \uNNNN and \UNNNNNNNN (a rune not printable).
_SIMPLE_ESCAPES = {
    "a": b"\a",
    "b": b"\b",
    "f": b"\f",
    "n": b"\n",
    "r": b"\r",
    "t": b"\t",
    "v": b"\v",
    "\\": b"\\",
    '"': b'"',
}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}


def _go_unquote(text: str, start: int) -> tuple[str, int]:
    """The Go double-quoted string (as strconv.Quote writes it) at ``text[start]``, and
    the index after its closing quote. Bytes a ``\\x`` escape gives that are still not
    UTF-8 are shown as ``\\xNN``."""
    if text[start : start + 1] != '"':
        raise ValueError("not a quoted string")
    out = bytearray()
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == '"':
            return out.decode("utf-8", "backslashreplace"), i + 1
        if c != "\\":
            out += c.encode("utf-8", "surrogatepass")
            i += 1
            continue
        e = text[i + 1 : i + 2]
        if e in _SIMPLE_ESCAPES:
            out += _SIMPLE_ESCAPES[e]
            i += 2
            continue
        width = _HEX_ESCAPES.get(e)
        digits = text[i + 2 : i + 2 + width] if width else ""
        if not width or len(digits) != width or not all(d in _HEX_DIGITS for d in digits):
            raise ValueError(f"bad escape {text[i : i + 2 + (width or 0)]!r}")
        number = int(digits, 16)
        if e == "x":
            out.append(number)
        elif number > 0x10FFFF:
            raise ValueError(f"bad escape {text[i : i + 2 + width]!r}")
        else:
            out += chr(number).encode("utf-8", "surrogatepass")
        i += 2 + width
    raise ValueError("unterminated quoted string")


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")

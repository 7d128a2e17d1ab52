"""The string variables a build could stamp with ``-X``, read from Go source without Go.

``gobuild init`` runs before any toolchain is installed, so the declarations are read
here, in Python: a tokenizer that knows Go's comments, strings, runes and automatic
semicolons, and a parser for the top level of a file only (package clause, imports,
``var`` and ``const`` declarations; everything else is skipped whole). That is enough
to tell what the linker will do with ``-X path.name=value``:

- a package-level ``var`` of type ``string``, uninitialised or initialised with a
  constant string (literals joined by ``+``) receives the value (``STRING``);
- a constant has no symbol: ``-X`` is ignored without a word (``CONST``);
- a var of another type makes the link fail (``OTHER``);
- a var initialised by a call is stamped, then overwritten when the package
  initialises (``CALL``); a var initialised from another name may or may not be a
  constant (``UNKNOWN``).

:func:`module_variables` follows a main package's imports inside the module (never
into vendor/, testdata or nested modules) and :func:`guess` names, per embedded value,
the variable the names suggest.
"""

from __future__ import annotations

import ast
import itertools
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Kind = Literal["string", "const", "other", "call", "unknown"]
STRING: Kind = "string"
CONST: Kind = "const"
OTHER: Kind = "other"
CALL: Kind = "call"
UNKNOWN: Kind = "unknown"

# Spellings per embedded value, most telling first, compared without case or "_".
# The keys are [build.variables]'s. gobuild's date is the commit's time (RFC 3339).
ROLES: dict[str, tuple[str, ...]] = {
    "version": (
        "version", "appversion", "buildversion", "gitversion", "releaseversion",
        "versionstring", "semver", "gittag",
    ),
    "commit": (
        "commit", "gitcommit", "commithash", "gitcommithash", "commitsha", "gitsha",
        "gitrevision", "revision", "githash", "buildcommit", "sha",
    ),
    "date": (
        "date", "builddate", "buildtime", "buildtimestamp", "commitdate", "gitcommitdate",
        "buildstamp", "timestamp", "builtat", "builton",
    ),
    "tree_state": ("treestate", "gittreestate", "gitstate", "dirty", "gitdirty"),
    "go_version": ("goversion",),
}  # fmt: skip

_TOKEN = re.compile(
    r"""
      (?P<nl>\n)
    | (?P<space>[ \t\r\f\v]+)
    | (?P<lcomment>//[^\n]*)
    | (?P<gcomment>/\*.*?\*/)
    | (?P<str>"(?:[^"\\\n]|\\.)*"|`[^`]*`)
    | (?P<rune>'(?:[^'\\\n]|\\.)*')
    | (?P<num>\.?\d(?:[eEpP][+-]|[\w.])*)
    | (?P<ident>[^\W\d]\w*)
    | (?P<op>\.\.\.|<<=|>>=|&\^=|&&|\|\||<-|\+\+|--|==|!=|<=|>=|:=|[-+*/%&|^<>]=|<<|>>|&\^
         |[-+*/%&|^<>=!~(){}\[\],;.:])
    | (?P<bad>.)
    """,
    re.VERBOSE | re.DOTALL,
)
# After these, a line break ends the statement (the Go spec's semicolon rule); keywords
# other than the four below never end a valid line, so every identifier counts.
_ENDS = frozenset({")", "]", "}", "++", "--"})
_OPEN = frozenset({"(", "[", "{"})
_CLOSE = frozenset({")", "]", "}"})
_IGNORED = re.compile(r"^//go:build\s+ignore\s*$|^// \+build\s+ignore\s*$", re.MULTILINE)
_SKIP_DIRS = frozenset({"vendor", "testdata"})


@dataclass(frozen=True)
class Token:
    """One Go token: kind (ident, str, rune, num, op, or ``;``), its text, its line."""

    kind: str
    text: str
    line: int


@dataclass(frozen=True)
class Declaration:
    """One package-level name declared with ``var`` or ``const``."""

    name: str
    line: int
    kind: Kind


@dataclass(frozen=True)
class GoFile:
    """What a file's top level says: its package, imports and var/const names."""

    package: str | None
    imports: tuple[str, ...]
    declarations: tuple[Declaration, ...]


@dataclass(frozen=True)
class Variable:
    """A declaration found in a package: ``symbol`` is what ``-X`` names."""

    package: str  # import path, or "main" for a main package (the linker's name)
    name: str
    file: str  # relative to the module root, with "/"
    line: int
    kind: Kind

    @property
    def symbol(self) -> str:
        """``path.name`` as [build.variables] and ``-X`` spell it."""
        return f"{self.package}.{self.name}"

    @property
    def where(self) -> str:
        """``file:line``."""
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Guess:
    """The variable chosen for one embedded value, and the ones passed over."""

    role: str
    variable: Variable
    binaries: tuple[str, ...]  # the main packages that link it
    missing_from: tuple[str, ...]  # the main packages that do not
    others: tuple[str, ...] = field(default=())  # other candidates' symbols


# -- reading one file ---------------------------------------------------------------------------


def tokens(source: str) -> Iterator[Token]:
    """Go's tokens, with the semicolons a line break inserts; comments and space dropped."""
    line, last = 1, None
    for m in _TOKEN.finditer(source):
        kind, text = m.lastgroup or "bad", m[0]
        breaks = text.count("\n")
        if kind in ("nl", "gcomment") and breaks:
            # A general comment spanning lines acts like a line break.
            if last is not None and (
                last.kind in ("ident", "str", "rune", "num") or last.text in _ENDS
            ):
                last = Token(";", "\n", line)
                yield last
        elif kind not in ("space", "lcomment", "gcomment", "nl"):
            last = Token(kind, text, line)
            yield last
        line += breaks
    if last is not None and (last.kind in ("ident", "str", "rune", "num") or last.text in _ENDS):
        yield Token(";", "", line)


def parse(source: str) -> GoFile:
    """The top level of one Go file (a syntax error ends the reading, never raises)."""
    toks = list(tokens(source))
    package: str | None = None
    imports: list[str] = []
    decls: list[Declaration] = []
    i, n = 0, len(toks)
    while i < n:
        word = toks[i].text if toks[i].kind == "ident" else None
        if word == "package" and i + 1 < n and toks[i + 1].kind == "ident" and package is None:
            package = toks[i + 1].text
            i = _statement_end(toks, i)
        elif word == "import":
            end = _statement_end(toks, i)
            imports += [_unquote(t.text) for t in toks[i + 1 : end] if t.kind == "str"]
            i = end
        elif word in ("var", "const"):
            end = _statement_end(toks, i)
            body = toks[i + 1 : end]
            if body and body[0].text == "(" and body[-1].text == ")":
                specs = _split(body[1:-1], ";")
            else:
                specs = [body]
            for spec in specs:
                decls += _spec(spec, const=word == "const")
            i = end
        else:
            i = _statement_end(toks, i)
        i += 1  # past the ";"
    return GoFile(package, tuple(imports), tuple(decls))


def _statement_end(toks: Sequence[Token], i: int) -> int:
    """The index of the ``;`` ending the declaration that starts at ``i`` (or the end)."""
    depth = 0
    for j in range(i, len(toks)):
        text = toks[j].text
        if toks[j].kind == "op" and text in _OPEN:
            depth += 1
        elif toks[j].kind == "op" and text in _CLOSE:
            depth -= 1
        elif depth <= 0 and _is(toks[j], ";"):
            return j
    return len(toks)


def _split(toks: Sequence[Token], sep: str) -> list[list[Token]]:
    """``toks`` split at ``sep`` (``;`` or ``,``) outside brackets; empty parts dropped."""
    parts: list[list[Token]] = [[]]
    depth = 0
    for t in toks:
        if t.kind == "op" and t.text in _OPEN:
            depth += 1
        elif t.kind == "op" and t.text in _CLOSE:
            depth -= 1
        if depth == 0 and _is(t, sep):
            parts.append([])
        else:
            parts[-1].append(t)
    return [p for p in parts if p]


def _is(t: Token, sep: str) -> bool:
    if sep == ";":
        return t.kind == ";" or (t.kind == "op" and t.text == ";")
    return t.kind == "op" and t.text == sep


def _spec(spec: Sequence[Token], *, const: bool) -> list[Declaration]:
    """The names one ``var``/``const`` spec declares, each with its :data:`Kind`."""
    names: list[Token] = []
    i = 0
    while i < len(spec) and spec[i].kind == "ident":
        names.append(spec[i])
        if i + 1 < len(spec) and spec[i + 1].text == ",":
            i += 2
        else:
            i += 1
            break
    rest = spec[i:]
    eq = next((k for k, t in enumerate(rest) if t.kind == "op" and t.text == "="), None)
    type_toks = rest if eq is None else rest[:eq]
    values = [] if eq is None else _split(rest[eq + 1 :], ",")
    typ = "".join(t.text for t in type_toks)
    out = []
    for k, name in enumerate(names):
        if name.text == "_":
            continue
        if const:
            kind: Kind = CONST
        elif typ and typ != "string":
            kind = OTHER
        elif eq is None:
            kind = STRING if typ == "string" else UNKNOWN
        elif len(values) != len(names):
            kind = CALL  # one multi-valued call feeds several names
        else:
            kind = _value_kind(values[k], typed=bool(typ))
        out.append(Declaration(name.text, name.line, kind))
    return out


def _value_kind(expr: Sequence[Token], *, typed: bool) -> Kind:
    """A string initialiser's kind: constant string, a call, another literal, or unknown."""
    if any(t.kind == "str" for t in expr) and all(
        t.kind == "str" or t.text in ("+", "(", ")") for t in expr
    ):
        return STRING
    for a, b in itertools.pairwise(expr):
        if b.text == "(" and (a.kind == "ident" or a.text in (")", "]", "}")):
            return CALL
    if (
        not typed
        and len(expr) == 1
        and (expr[0].kind in ("num", "rune") or expr[0].text in ("true", "false", "nil"))
    ):
        return OTHER
    if not typed and expr and expr[0].text in ("[", "{", "&", "*", "func", "map", "struct"):
        return OTHER
    return UNKNOWN


def _unquote(text: str) -> str:
    if text.startswith("`"):
        return text[1:-1]
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text[1:-1]
    return value if isinstance(value, str) else text[1:-1]


# -- reading packages ---------------------------------------------------------------------------


def is_source(name: str) -> bool:
    """A file the go command compiles (ignoring build constraints): no tests, no ./_ files."""
    return (
        name.endswith(".go") and not name.endswith("_test.go") and not name.startswith((".", "_"))
    )


def read_file(path: Path) -> GoFile | None:
    """``path`` parsed, or None if it cannot be read or says ``//go:build ignore``."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None
    if _IGNORED.search(text):
        return None
    return parse(text)


def package_variables(
    folder: Path, files: Iterable[str], package: str, root: Path
) -> tuple[list[Variable], list[str]]:
    """The var/const names ``files`` (in ``folder``) declare as package ``package``, and
    the import paths they name."""
    variables: list[Variable] = []
    imports: set[str] = set()
    for name in sorted(files):
        parsed = read_file(folder / name)
        if parsed is None:
            continue
        rel = _relative(folder / name, root)
        variables += [Variable(package, d.name, rel, d.line, d.kind) for d in parsed.declarations]
        imports.update(parsed.imports)
    return variables, sorted(imports)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _sources(folder: Path) -> list[str]:
    try:
        return sorted(e.name for e in os.scandir(folder) if e.is_file() and is_source(e.name))
    except OSError:
        return []


def module_variables(
    root: Path, module: str, main_packages: Sequence[str]
) -> dict[str, list[Variable]]:
    """Per main package (``./cmd/a``), the variables of it and of every package of the
    module it imports, directly or not. Vendored, testdata and nested-module packages
    are not the module's; build constraints are not evaluated (a guess needs none)."""
    seen: dict[tuple[Path, str], tuple[list[Variable], list[str]]] = {}
    out: dict[str, list[Variable]] = {}
    for main in main_packages:
        start = root / main
        queue, visited = [(start, "main")], {start}
        found: list[Variable] = []
        while queue:
            folder, path = queue.pop(0)
            if (folder, path) not in seen:
                seen[folder, path] = package_variables(folder, _sources(folder), path, root)
            variables, imports = seen[folder, path]
            found += variables
            for imp in imports:
                target = local_dir(root, module, imp)
                if target is not None and target not in visited:
                    visited.add(target)
                    queue.append((target, imp))
        out[main] = found
    return out


def local_dir(root: Path, module: str, import_path: str) -> Path | None:
    """The folder of ``import_path`` if it is a package of the module at ``root``."""
    if import_path == module:
        return root
    if not import_path.startswith(module + "/"):
        return None
    parts = import_path[len(module) + 1 :].split("/")
    folder = root
    for part in parts:
        if part in _SKIP_DIRS or part.startswith((".", "_")) or part in ("", ".."):
            return None
        folder = folder / part
        if (folder / "go.mod").exists():
            return None  # another module
    return folder if folder.is_dir() else None


# -- guessing -----------------------------------------------------------------------------------


def role_of(name: str) -> tuple[str, int] | None:
    """The embedded value ``name`` is spelled for, and how telling the spelling is."""
    key = name.replace("_", "").lower()
    for role, spellings in ROLES.items():
        if key in spellings:
            return role, spellings.index(key)
    return None


def guess(found: dict[str, list[Variable]]) -> dict[str, Guess]:
    """Per embedded value, the stampable string variable its name suggests.

    Preferred: the one the most binaries link; then the one whose package holds the
    most of the other values (a build-info package); then the most telling spelling;
    then the main package; then by name.
    """
    mains = sorted(found)
    links: dict[str, set[str]] = {}
    first: dict[str, Variable] = {}
    for main in mains:
        for v in found[main]:
            if v.kind == STRING and role_of(v.name):
                links.setdefault(v.symbol, set()).add(main)
                first.setdefault(v.symbol, v)
    roles_in: dict[str, set[str]] = {}
    for v in first.values():
        roles_in.setdefault(v.package, set()).add(_role(v))

    def rank(v: Variable) -> tuple[int, int, int, bool, str]:
        return (
            -len(links[v.symbol]),
            -len(roles_in[v.package]),
            _spelling(v),
            v.package != "main",
            v.symbol,
        )

    out: dict[str, Guess] = {}
    for role in ROLES:
        candidates = sorted((v for v in first.values() if _role(v) == role), key=rank)
        if not candidates:
            continue
        chosen = candidates[0]
        linked = tuple(sorted(links[chosen.symbol]))
        out[role] = Guess(
            role=role,
            variable=chosen,
            binaries=linked,
            missing_from=tuple(m for m in mains if m not in linked),
            others=tuple(v.symbol for v in candidates[1:]),
        )
    return out


def _role(v: Variable) -> str:
    spelled = role_of(v.name)
    return spelled[0] if spelled else ""


def _spelling(v: Variable) -> int:
    spelled = role_of(v.name)
    return spelled[1] if spelled else len(ROLES)

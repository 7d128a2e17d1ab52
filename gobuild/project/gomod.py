"""Reading go.mod and finding a module's main packages, without running Go."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gobuild.errors import ConfigError
from gobuild.project.constraints import matches

_MODULE = re.compile(r'^module\s+("?)(?P<path>[^"\s]+)\1\s*(?://.*)?$')
_GO = re.compile(r"^go\s+(?P<v>\S+)\s*(?://.*)?$")
_TOOLCHAIN = re.compile(r"^toolchain\s+(?P<v>\S+)\s*(?://.*)?$")
_HEAD = 8192
_IGNORED = re.compile(r"^//go:build\s+ignore\s*$|^// \+build\s+ignore\s*$", re.MULTILINE)
_PACKAGE = re.compile(r"package\s+(?P<name>[A-Za-z_]\w*)")


@dataclass(frozen=True)
class GoMod:
    """The parts of a go.mod gobuild needs."""

    path: Path
    module: str
    go: str | None
    toolchain: str | None


def find_module_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` that holds a go.mod."""
    for d in [start, *start.parents]:
        if (d / "go.mod").is_file():
            return d
    return None


def read_text(path: Path) -> str:
    """``path``'s text (a go.mod, a go.work), or a one-line error naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc


def read(path: Path) -> GoMod:
    """Parse ``path`` (a go.mod); the ``toolchain`` line keeps its ``go`` prefix off."""
    return parse(read_text(path), path)


def parse(text: str, path: Path) -> GoMod:
    """Parse a go.mod's ``text`` (``path`` names it in errors: a file, or a URL's)."""
    module = go = toolchain = None
    for raw in text.splitlines():
        line = raw.strip()
        if m := _MODULE.match(line):
            module = m["path"]
        elif m := _GO.match(line):
            go = m["v"]
        elif m := _TOOLCHAIN.match(line):
            # "toolchain default" means "no preference": ignore it.
            toolchain = None if m["v"] == "default" else m["v"].removeprefix("go")
    if module is None:
        raise ConfigError(f"{path}: no module line")
    return GoMod(path=path, module=module, go=go, toolchain=toolchain)


def main_packages(root: Path, platforms: Sequence[tuple[str, str]] = ()) -> list[str]:
    """Relative import paths (``.``, ``./cmd/a``) of the module's main packages; with
    ``platforms`` ((GOOS, GOARCH) pairs), only those that build for one of them (a
    ``//go:build wasm`` main is no binary of a project that builds for linux and darwin).

    Skips what the go command skips: testdata, vendor, directories starting
    with ``.`` or ``_``, and nested modules (directories with their own go.mod).
    """
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not d.startswith((".", "_"))
            and d not in ("testdata", "vendor")
            and not (here / d / "go.mod").exists()
        )
        sources = sorted(f for f in filenames if _is_source(f))
        if _decides_main(here, sources) and _builds_for(here, sources, platforms):
            rel = here.relative_to(root).as_posix()
            found.append("." if rel == "." else f"./{rel}")
    return sorted(found)


def is_main_package(folder: Path) -> bool:
    """Whether ``folder`` holds a main package (non-test .go files saying ``package main``)."""
    try:
        names = sorted(p.name for p in folder.iterdir() if p.is_file() and _is_source(p.name))
    except OSError:
        return False
    return _decides_main(folder, names)


def _decides_main(folder: Path, sources: list[str]) -> bool:
    # Go requires every non-ignored file of a directory to share one package
    # clause, so the first file not excluded by a `//go:build ignore` decides
    # (reading one file per package, not every file, keeps no-op builds fast).
    for name in sources:
        head = _head(folder / name)
        if head is None or _IGNORED.search(head):
            continue
        return package_name(head) == "main"
    return False


def _builds_for(folder: Path, sources: list[str], platforms: Sequence[tuple[str, str]]) -> bool:
    if not platforms:
        return True
    heads = [(name, _head(folder / name) or "") for name in sources]
    return any(matches(n, h, goos, goarch) for n, h in heads for goos, goarch in platforms)


def _is_source(name: str) -> bool:
    return (
        name.endswith(".go") and not name.endswith("_test.go") and not name.startswith((".", "_"))
    )


def _head(path: Path) -> str | None:
    # The package clause comes first, after comments: the head of the file
    # nearly always holds it; read the rest only when it does not.
    try:
        with path.open("rb") as f:
            data = f.read(_HEAD)
            if len(data) == _HEAD and package_name(data.decode("utf-8", "replace")) is None:
                data += f.read()
    except OSError:
        return None
    return data.decode("utf-8", errors="replace")


def package_name(source: str) -> str | None:
    """The package clause's name: only comments and space may precede it."""
    i, n = 0, len(source)
    while i < n:
        if source[i].isspace():
            i += 1
        elif source.startswith("//", i):
            end = source.find("\n", i)
            i = n if end < 0 else end + 1
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            if end < 0:
                return None
            i = end + 2
        else:
            m = _PACKAGE.match(source, i)
            return m["name"] if m else None
    return None

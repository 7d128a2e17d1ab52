"""A project's modules: one go.mod, several, or a committed go.work.

A repository is one gobuild project however many modules it holds. Its root is the
nearest directory at or above where gobuild starts that holds gobuild.toml, else
go.work, else go.mod (:func:`find_root`). Its modules are the go.work's ``use``
directories when a go.work at the root is honoured, else every go.mod under the root
(skipping what the go command skips: vendor, testdata, ``.*`` and ``_*``).

A go.work is honoured (GOWORK=auto for every go command) only when the repository
commits it: developers keep local workspaces uncommitted (often gitignored), and those
must not change what ``doit build`` or CI builds, so an untracked go.work is ignored and
every module builds on its own (GOWORK=off), as before. Outside git, a go.work that is
there is part of the source and honoured.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gobuild.errors import ConfigError, GobuildError
from gobuild.project import gomod
from gobuild.project.layout import CONFIG_NAME
from gobuild.project.versions import GoVersion

WORK_NAME = "go.work"
_USE = re.compile(r"^use\s+(?P<dir>\S+)\s*(?://.*)?$")
_USE_BLOCK = re.compile(r"^use\s*\(\s*(?://.*)?$")
_DIRECTIVE = re.compile(r"^(?P<key>go|toolchain)\s+(?P<v>\S+)\s*(?://.*)?$")


@dataclass(frozen=True)
class Module:
    """One module of the project: its directory relative to the root (``.``, ``tools``)
    and its go.mod."""

    dir: str
    gomod: gomod.GoMod


@dataclass(frozen=True)
class GoWork:
    """The parts of a go.work gobuild needs."""

    path: Path
    uses: tuple[str, ...]  # directories relative to the go.work's, as POSIX paths
    go: str | None
    toolchain: str | None


@dataclass(frozen=True)
class Workspace:
    """The project's modules, and the go.work that ties them together (if honoured)."""

    modules: tuple[Module, ...]
    gowork: GoWork | None = None
    ignored: Path | None = None  # a go.work at the root that git does not track

    @property
    def primary(self) -> Module:
        """The root's module, else the first: whose path names the project."""
        return next((m for m in self.modules if m.dir == "."), self.modules[0])

    def go_line(self) -> tuple[Path, str, str] | None:
        """Which line asks for a Go version: (file, version, ``toolchain`` or ``go``).
        A go.work's (toolchain first); else, of every module's (each its toolchain line,
        else its go line), the highest: every module must build with the one pin."""
        if self.gowork is not None:
            w = self.gowork
            return next(
                ((w.path, v, k) for v, k in ((w.toolchain, "toolchain"), (w.go, "go")) if v),
                None,
            )
        asked = [
            (
                m.gomod.path,
                m.gomod.toolchain or m.gomod.go or "",
                "toolchain" if m.gomod.toolchain else "go",
            )
            for m in self.modules
            if m.gomod.toolchain or m.gomod.go
        ]
        if not asked:
            return None
        try:
            return max(asked, key=lambda a: GoVersion.parse(a[1]))
        except GobuildError:
            return asked[0]  # an unreadable version: the pin reports it, naming the file

    def module_of(self, package: str) -> Module:
        """The module holding ``package`` (``./tools/cmd/gen``: relative to the root):
        the one with the longest directory containing it."""
        rel = package.removeprefix("./").strip("/") or "."
        holding = [m for m in self.modules if m.dir in (".", rel) or rel.startswith(m.dir + "/")]
        if not holding:
            raise ConfigError(f"package {package} is in none of the project's modules")
        return max(holding, key=lambda m: -1 if m.dir == "." else len(m.dir))

    def main_packages(self, root: Path, platforms: Sequence[tuple[str, str]] = ()) -> list[str]:
        """Every module's main packages, relative to ``root`` (``.``, ``./tools/gen``); with
        ``platforms``, those that build for one of them."""
        found: list[str] = []
        for m in self.modules:
            for pkg in gomod.main_packages(root / m.dir, platforms):
                sub = pkg.removeprefix(".").removeprefix("/")
                found.append(pkg if m.dir == "." else f"./{m.dir}/{sub}".rstrip("/"))
        return sorted(set(found))


def in_module(package: str, module_dir: str) -> str:
    """``package`` (relative to the root) as named from its module's directory:
    ``./tools/gen`` in the module at ``tools`` is ``./gen``, ``./tools`` is ``.``."""
    if module_dir == ".":
        return package
    rest = package.removeprefix("./").removeprefix(module_dir).strip("/")
    return f"./{rest}" if rest else "."


def find_root(start: Path) -> Path | None:
    """The project root at or above ``start``: gobuild.toml, else go.work, else go.mod."""
    dirs = [start, *start.parents]
    for name in (CONFIG_NAME, WORK_NAME, "go.mod"):
        for d in dirs:
            if (d / name).is_file():
                return d
    return None


def load(root: Path) -> Workspace:
    """The modules of the project at ``root`` (see the module docstring)."""
    work_file = root / WORK_NAME
    ignored: Path | None = None
    if work_file.is_file():
        if _committed(root, work_file):
            work = read_work(work_file)
            modules = tuple(_module(root, d) for d in work.uses)
            return Workspace(modules, work)
        ignored = work_file
    modules = tuple(_module(root, d) for d in module_dirs(root))
    if not modules:
        raise ConfigError(f"{root}: no go.mod here or below (run `go mod init` first)")
    return Workspace(modules, None, ignored)


def _module(root: Path, rel: str) -> Module:
    path = root / rel / "go.mod"
    if not path.is_file():
        raise ConfigError(f"{root / WORK_NAME}: use {rel}: no go.mod in {root / rel}")
    return Module(rel, gomod.read(path))


def module_dirs(root: Path) -> list[str]:
    """Every directory at or under ``root`` holding a go.mod, relative (``.`` first)."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith((".", "_")) and d not in ("testdata", "vendor")
        )
        if "go.mod" in filenames:
            found.append(Path(dirpath).relative_to(root).as_posix())
    return found


def read_work(path: Path) -> GoWork:
    """Parse a go.work: its ``use`` directories (normalised, relative), go and toolchain."""
    text = gomod.read_text(path)
    uses: list[str] = []
    values: dict[str, str] = {}
    in_block = False
    for raw in text.splitlines():
        line = raw.strip()
        if in_block:
            if line.startswith(")"):
                in_block = False
            elif line and not line.startswith("//"):
                uses.append(_use_dir(path, line.split("//")[0].strip()))
        elif _USE_BLOCK.match(line):
            in_block = True
        elif m := _USE.match(line):
            uses.append(_use_dir(path, m["dir"]))
        elif m := _DIRECTIVE.match(line):
            values[m["key"]] = m["v"]
    if not uses:
        raise ConfigError(f"{path}: no use directive: a workspace needs at least one module")
    toolchain = values.get("toolchain")
    toolchain = None if toolchain in (None, "default") else toolchain.removeprefix("go")
    return GoWork(path, tuple(dict.fromkeys(uses)), values.get("go"), toolchain)


def _use_dir(path: Path, text: str) -> str:
    text = text.strip('"`')
    rel = Path(os.path.normpath(text)).as_posix()
    if Path(text).is_absolute() or rel == ".." or rel.startswith("../"):
        raise ConfigError(
            f"{path}: use {text}: gobuild builds modules inside the project only "
            "(a module outside the repository would not be in a clone or an image)"
        )
    return rel


def decided_by(root: Path) -> list[Path]:
    """The files whose change could change :func:`load`'s answer beyond the tree itself:
    git's index, when a go.work is there (committing it turns the workspace on). For the
    stamps of remembered answers."""
    return [root / ".git" / "index"] if (root / WORK_NAME).is_file() else []


def _committed(root: Path, work_file: Path) -> bool:
    """Whether git tracks ``work_file`` (True outside a git work tree, or without git)."""
    if not any((d / ".git").exists() for d in (root, *root.parents)):
        return True
    from gobuild import proc  # noqa: PLC0415 - only a project with a go.work asks git

    try:
        res = proc.run(
            ["git", "ls-files", "--error-unmatch", "--", work_file.name],
            cwd=root,
            check=False,
            timeout=30,
        )
    except GobuildError:
        return True  # no git to ask: take the file as it is
    return res.returncode == 0

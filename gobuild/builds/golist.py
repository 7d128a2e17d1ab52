"""What ``go list -deps -json`` says a build reads, and what could change its answer.

Run with a plan's flags and environment (tags, ``-mod``, GOFLAGS, GOOS/GOARCH, cgo),
``go list -e -deps -json`` names every package a main package imports and, for each,
the files the build compiles, assembles, links or embeds: Go and cgo files, assembly,
C/C++/Objective-C/Fortran sources and headers, SWIG files, ``.syso`` objects and
``//go:embed`` files (patterns resolved by the go command itself). A build's inputs are
those files for the packages that can change under the user's hands (the main module's,
local ``replace`` directories', vendor/'s) and the module files: go.mod, go.sum,
vendor/modules.txt and a replaced directory's go.mod. The standard library and the
module cache are left out: the pinned Go's version is part of the plan, and the module
cache is read-only and pinned by go.sum. Tests and testdata are never inputs.

The answer comes with what could change it (:class:`Watch`): the module files, each
local package directory's source files (a new file, a removed one, an edited build
constraint, import or ``//go:embed``: their shapes, :mod:`.shapes`; not a README, not a
subdirectory) and the directories ``//go:embed`` patterns reach.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gobuild import proc, stamps
from gobuild.builds.shapes import Shapes
from gobuild.errors import ProcessError
from gobuild.project.versions import GoVersion

# Every file list of a package that goes into its build (`go help list`). Not
# CompiledGoFiles (cgo's output, in the build cache), not Ignored*/Test*/XTest* files.
FILE_FIELDS = (
    "GoFiles",
    "CgoFiles",
    "CFiles",
    "CXXFiles",
    "MFiles",
    "HFiles",
    "FFiles",
    "SFiles",
    "SwigFiles",
    "SwigCXXFiles",
    "SysoFiles",
    "EmbedFiles",
)
FIELDS = (
    "Dir",
    "ImportPath",
    "Standard",
    "DepOnly",
    "Module",
    "Deps",
    "Error",
    "DepsErrors",
    "Incomplete",
    "EmbedPatterns",
    *FILE_FIELDS,
)
# The files go/build takes into a package (its known extensions), and the names that
# change what it takes: a nested go.mod ends the package's module, default.pgo (-pgo=auto).
SOURCE_SUFFIXES = (
    ".go",
    ".c",
    ".cc",
    ".cpp",
    ".cxx",
    ".m",
    ".h",
    ".hh",
    ".hpp",
    ".hxx",
    ".f",
    ".F",
    ".for",
    ".f90",
    ".s",
    ".S",
    ".sx",
    ".swig",
    ".swigcxx",
    ".syso",
)
SOURCE_NAMES = ("go.mod", "default.pgo")
# go list -json=FIELDS (Go 1.19) skips the work the other fields cost (staleness).
_FIELD_LIST_SINCE = GoVersion(1, 19, 0)
_GLOB = frozenset("*?[\\")


def argv(go: Path, version: GoVersion, flags: Sequence[str], packages: Sequence[str]) -> list[str]:
    """The go list command line for ``packages`` built with ``flags``."""
    json_flag = f"-json={','.join(FIELDS)}" if version >= _FIELD_LIST_SINCE else "-json"
    return [str(go), "list", "-e", "-deps", json_flag, *flags, *packages]


@dataclass(frozen=True)
class Watch:
    """What could change go list's answer, each kept as a path."""

    files: tuple[str, ...] = ()  # module files: size and mtime (or missing)
    dirs: tuple[str, ...] = ()  # package directories: their source files' names and shapes
    trees: tuple[str, ...] = ()  # where //go:embed patterns reach: every subdirectory's mtime

    def stamp(self, seen: dict[str, list[str]] | None = None, shapes: Shapes | None = None) -> str:
        """A digest of the watched paths as they are now. ``seen`` keeps each path's part
        for other stamps taken at the same time (the ways of building share directories);
        ``shapes`` remembers source files' shapes (:mod:`.shapes`) from run to run."""
        seen = {} if seen is None else seen
        shapes = Shapes() if shapes is None else shapes

        def part(kind: str, path: str) -> list[str]:
            key = f"{kind}{path}"
            found = seen.get(key)
            if found is None:
                if kind == "f":
                    found = [stamps.file(Path(path))]
                elif kind == "d":
                    found = list(_entries(Path(path), shapes))
                else:
                    found = list(_subdirs(Path(path)))
                seen[key] = found
            return found

        return stamps.digest(
            [
                *(line for f in self.files for line in part("f", f)),
                *(line for d in self.dirs for line in part("d", d)),
                *(line for t in self.trees for line in part("t", t)),
            ]
        )

    def as_json(self) -> dict[str, list[str]]:
        """The paths, for a JSON file."""
        return {"files": list(self.files), "dirs": list(self.dirs), "trees": list(self.trees)}

    @classmethod
    def from_json(cls, data: Mapping[str, Sequence[str]]) -> Watch:
        """The inverse of :meth:`as_json`."""
        return cls(tuple(data["files"]), tuple(data["dirs"]), tuple(data["trees"]))


def _entries(folder: Path, shapes: Shapes) -> Iterator[str]:
    # Only the files go could take into a package (not subdirectories: other packages,
    # watched when imported; not READMEs, not the state or output directory), each by
    # name and shape: an edit inside a function changes no go list answer.
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        yield f"{folder}\0-"
        return
    yield f"D{folder}"
    for entry in entries:
        if entry.name.endswith(SOURCE_SUFFIXES) or entry.name in SOURCE_NAMES:
            yield f"{entry.name}\0{shapes.of(entry)}"


def _subdirs(top: Path) -> Iterator[str]:
    # Embedding never reaches into directories named .* or _* (but with all:, rare).
    yield stamps.file(top)
    for dirpath, dirnames, _ in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
        for d in dirnames:
            yield stamps.file(Path(dirpath) / d)


@dataclass(frozen=True)
class Listing:
    """go list's answer for some main packages built one way."""

    inputs: dict[str, tuple[str, ...]]  # each main package (as given): its input files
    watch: Watch
    # No package reported an error: the answer is the build's. An incomplete one (a
    # syntax error, a missing module) is used once but never remembered.
    complete: bool


def run(
    go: Path,
    version: GoVersion,
    flags: Sequence[str],
    packages: Sequence[str],
    *,
    root: Path,
    env: Mapping[str, str],
    module: Path | None = None,
) -> Listing | None:
    """List ``packages`` (relative to ``module``, by default ``root``) of the project at
    ``root``; None if go list itself failed (a go.mod it cannot read, a flag it refuses:
    the build will say so)."""
    module = root if module is None else module
    text = output(argv(go, version, flags, packages), module, env)
    return None if text is None else read(text, root, packages, flags, module)


def output(command: Sequence[str], root: Path, env: Mapping[str, str]) -> str | None:
    """What go list prints on stdout, or None if it fails: the one place it runs."""
    try:
        return proc.run(command, cwd=root, env=env).stdout
    except ProcessError:
        return None


def read(
    text: str,
    root: Path,
    packages: Sequence[str],
    flags: Sequence[str] = (),
    module: Path | None = None,
) -> Listing | None:
    """Read go list's JSON stream for ``packages`` (listed from ``module``, by default
    ``root``, with ``flags``); None if it is not go list's output. Every package under
    ``root`` (the project's other modules too) is the user's, so its files are inputs."""
    module = root if module is None else module
    try:
        listed = [p for p in _decode(text) if isinstance(p.get("ImportPath"), str)]
    except ValueError:
        return None
    paths = _Paths(root)
    by_path = {p["ImportPath"]: p for p in listed}
    by_dir = {paths.real(p["Dir"]): p for p in listed if not p.get("DepOnly") and p.get("Dir")}
    complete = not any(p.get("Error") or p.get("DepsErrors") or p.get("Incomplete") for p in listed)
    main_mod = Path(paths.mapped(str(module / "go.mod")))
    watch_files = {
        str(f)
        for f in (
            main_mod,
            _sum_file(main_mod),
            module / "vendor" / "modules.txt",
            # A committed go.work decides versions for every module in it.
            root / "go.work",
            root / "go.work.sum",
        )
    }
    watch_dirs: set[str] = set()
    trees: set[str] = set()
    inputs: dict[str, tuple[str, ...]] = {}
    pgo = _pgo_flag(flags)
    for package in packages:
        top = by_dir.get(paths.real(str(module / package)))
        if top is None:
            complete = False
            inputs[package] = ()
            continue
        files: set[Path] = set()
        closure = [top, *(by_path[d] for d in top.get("Deps") or () if d in by_path)]
        for pkg in closure:
            if not _local(pkg, paths):
                continue
            folder = Path(paths.mapped(pkg["Dir"]))
            watch_dirs.add(str(folder))
            for field in FILE_FIELDS:
                files.update(folder / name for name in pkg.get(field) or ())
            for pattern in pkg.get("EmbedPatterns") or ():
                trees.add(_pattern_base(folder, pattern))
            for mod_file in _module_files(pkg, paths):
                watch_files.add(str(mod_file))
                if mod_file.is_file():
                    files.add(mod_file)
        profile = Path(paths.mapped(top["Dir"])) / "default.pgo"
        if pgo == "auto" and profile.is_file():
            files.add(profile)
        elif pgo not in ("auto", "off"):
            files.add(module / pgo)
        inputs[package] = tuple(sorted(str(f) for f in files))
    watch = Watch(tuple(sorted(watch_files)), tuple(sorted(watch_dirs)), tuple(sorted(trees)))
    return Listing(inputs, watch, complete)


def _decode(text: str) -> Iterator[dict[str, Any]]:
    """go list -json prints one JSON object after another."""
    decoder = json.JSONDecoder()
    i, end = 0, len(text)
    while True:
        while i < end and text[i].isspace():
            i += 1
        if i >= end:
            return
        value, i = decoder.raw_decode(text, i)
        if not isinstance(value, dict):
            raise ValueError("not a package")
        yield value


class _Paths:
    """Directories go names, spelled under ``root`` as gobuild spells it (go may print the
    real path where ``root`` goes through a symbolic link)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.real_root = root.resolve()
        self._mapped: dict[str, str] = {}

    def real(self, path: str) -> Path:
        return Path(path).resolve()

    def mapped(self, path: str) -> str:
        found = self._mapped.get(path)
        if found is None:
            real = Path(path).resolve()
            found = str(
                self.root / real.relative_to(self.real_root)
                if real.is_relative_to(self.real_root)
                else real
            )
            self._mapped[path] = found
        return found

    def inside(self, path: str) -> bool:
        return Path(self.mapped(path)).is_relative_to(self.root)


def _local(pkg: Mapping[str, Any], paths: _Paths) -> bool:
    """A package whose files can change: the main module's, a local ``replace``
    directory's, or one vendored into the module. Not the standard library's, nor a
    module cache's (read-only and pinned by go.sum)."""
    if pkg.get("Standard") or not pkg.get("Dir"):
        return False
    module = pkg.get("Module")
    if not module:
        return True  # outside module mode: nothing vouches for it
    replace = module.get("Replace") or {}
    return bool(
        module.get("Main") or (replace and not replace.get("Version")) or paths.inside(pkg["Dir"])
    )


def _module_files(pkg: Mapping[str, Any], paths: _Paths) -> Iterator[Path]:
    """go.mod (and the main module's go.sum and vendor/modules.txt) of a local package's
    module."""
    module = pkg.get("Module") or {}
    if module.get("Main") and module.get("GoMod"):
        go_mod = Path(paths.mapped(module["GoMod"]))
        yield go_mod
        yield _sum_file(go_mod)
        if module.get("Dir"):
            yield Path(paths.mapped(module["Dir"])) / "vendor" / "modules.txt"
        return
    replace = module.get("Replace") or {}
    if replace and not replace.get("Version") and replace.get("GoMod"):
        yield Path(paths.mapped(replace["GoMod"]))


def _sum_file(go_mod: Path) -> Path:
    # go.mod's checksums are in go.sum; -modfile=x.mod's in x.sum.
    return go_mod.with_suffix(".sum")


def _pattern_base(folder: Path, pattern: str) -> str:
    """The directory a //go:embed pattern searches: its literal leading directories."""
    parts: list[str] = []
    for part in pattern.removeprefix("all:").split("/"):
        if _GLOB & set(part):
            break
        parts.append(part)
    base = folder.joinpath(*parts)
    return str(base if base.is_dir() or not parts else base.parent)


def _pgo_flag(flags: Sequence[str]) -> str:
    """-pgo's value (auto by default: the main package's default.pgo, Go 1.21 on)."""
    value = "auto"
    for flag in flags:
        for spelling in ("-pgo=", "--pgo="):
            if flag.startswith(spelling):
                value = flag.removeprefix(spelling) or "off"
    return value

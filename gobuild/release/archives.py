"""Release archives: one per dist binary, ``NAME_VERSION_OS_ARCH.tar.gz`` (``.zip`` for
windows), holding the binary and the project's LICENSE and README (``[release] files``).

The bytes are written by a small Go program shipped with gobuild
(``templates/release/archive.go``), built with the project's pinned Go: the archives
depend only on the files, the commit time and that Go, and the generated Makefile's
``make release`` can run the very same program. Entries are sorted, owned by 0:0 with
fixed modes (0755 for the binary, 0644 for the rest) and the commit time; no directory
entries; a gzip header without name or time.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from gobuild import proc
from gobuild.builds.plan import BuildPlan
from gobuild.errors import ConfigError, GobuildError
from gobuild.project.config import Project

# What an archive holds beside its binary when [release] files is not set: whichever
# of these the project has.
DEFAULT_FILES = ("LICENSE*", "README*")
ARCHIVER = "release/archive.go"  # in the gobuild.templates resource package


@dataclass(frozen=True)
class Member:
    """One file of an archive: its mode, its name inside, its path in the project."""

    mode: int
    name: str
    path: str  # relative to the project root

    def operand(self, root: Path) -> str:
        """The archiver's ``MODE:NAME=PATH``."""
        return f"{self.mode:04o}:{self.name}={root / self.path}"


@dataclass(frozen=True)
class ArchivePlan:
    """One archive: the binary and platform it ships, what it holds."""

    binary: str
    goos: str
    goarch: str
    members: tuple[Member, ...]
    variant: str | None = None  # GOAMD64/GOARM/GO386, as [dist] names it

    @property
    def platform(self) -> str:
        """``linux/amd64`` (``linux/amd64/v3`` with a variant)."""
        return "/".join(p for p in (self.goos, self.goarch, self.variant) if p)

    def stem_for(self, label: str) -> str:
        """``NAME_LABEL_OS_ARCH[_VARIANT]``: the archive's name without its extension,
        shared by the binary's other artifacts (its SBOM)."""
        variant = f"_{self.variant}" if self.variant else ""
        return f"{self.binary}_{label}_{self.goos}_{self.goarch}{variant}"

    def name_for(self, label: str) -> str:
        """The file name at version ``label`` (:func:`version_label`):
        ``NAME_LABEL_OS_ARCH[_VARIANT].tar.gz``, ``.zip`` for windows."""
        return self.stem_for(label) + (".zip" if self.goos == "windows" else ".tar.gz")


def version_label(version: str) -> str:
    """The version as archive names carry it: ``v1.2.3`` → ``1.2.3``."""
    return version[1:] if version[:1] == "v" and version[1:2].isdigit() else version


def archive_plans(project: Project, plans: Sequence[BuildPlan]) -> list[ArchivePlan]:
    """One archive per dist plan, with the project's release files."""
    files = release_files(project)
    out = []
    for plan in plans:
        if plan.target is None:
            raise GobuildError(f"{plan.binary}: a release archives dist binaries, not host builds")
        goos, goarch = plan.target.goos, plan.target.goarch
        exe = Path(plan.output).name
        inside = plan.binary + (".exe" if goos == "windows" else "")
        members = (
            Member(0o755, inside, plan.output),
            *(Member(0o644, Path(f).name, f) for f in files),
        )
        names = [m.name for m in members]
        if len(set(names)) != len(names):
            raise ConfigError(
                f"{project.config_file}: release.files: two files named alike in {exe}'s "
                f"archive ({', '.join(sorted(names))})"
            )
        out.append(ArchivePlan(plan.binary, goos, goarch, members, plan.target.variant))
    return out


def release_files(project: Project) -> list[str]:
    """The files every archive holds beside its binary, relative to the root, sorted.

    A configured pattern that matches no file is an error naming it; the defaults
    take what is there."""
    configured = project.settings.release.files
    patterns = configured if configured is not None else list(DEFAULT_FILES)
    found: set[str] = set()
    for pattern in patterns:
        # glob.glob, not Path.glob: a pattern may name a file without any wildcard.
        matched = [
            p
            for p in glob.glob(pattern, root_dir=project.root)  # noqa: PTH207
            if (project.root / p).is_file()
        ]
        if not matched and configured is not None:
            raise ConfigError(f"{project.config_file}: release.files: {pattern!r} matches no file")
        found.update(Path(p).as_posix() for p in matched)
    return sorted(found)


def build_archiver(go: Path, env: Mapping[str, str], work: Path) -> Path:
    """The archiver, built with the pinned Go (``go``, its go command) into ``work``."""
    source = work / "archive.go"
    source.write_text(archiver_source(), encoding="utf-8")
    binary = work / "archive"
    # Outside any module (its own directory), from the standard library alone.
    proc.run([str(go), "build", "-trimpath", "-o", str(binary), str(source)],
             cwd=work, env={**env, "GOWORK": "off", "GOFLAGS": ""}, timeout=600)  # fmt: skip
    return binary


def write_archive(  # noqa: PLR0917 - one archive's every input
    archiver: Path, plan: ArchivePlan, label: str, root: Path, out_dir: Path, mtime: int
) -> Path:
    """Write ``plan``'s archive at version ``label`` into ``out_dir`` (whole, or not at
    all)."""
    for member in plan.members:
        if not (root / member.path).is_file():
            raise GobuildError(f"{member.path} does not exist: run `doit dist` first")
    target = out_dir / plan.name_for(label)
    argv = [str(archiver), "-o", str(target), "-mtime", str(mtime)]
    proc.run([*argv, *(m.operand(root) for m in plan.members)], cwd=out_dir, timeout=600)
    return target


def write_archives(
    plans: Sequence[ArchivePlan],
    *,
    label: str,
    archiver: Path,
    root: Path,
    out_dir: Path,
    mtime: int,
) -> list[Path]:
    """Every archive of ``plans`` at version ``label`` into ``out_dir`` with ``archiver``
    (:func:`build_archiver`); compressed side by side (one process each, as many at once
    as there are CPUs): each one's bytes depend on its files alone."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(
            pool.map(lambda p: write_archive(archiver, p, label, root, out_dir, mtime), plans)
        )


def archiver_source() -> str:
    """The archiver's Go source, as shipped."""
    return (resources.files("gobuild.templates") / ARCHIVER).read_text(encoding="utf-8")

"""Running build plans: host builds, the dist matrix, SHA256SUMS, records, verify.

Outputs are written to a temporary file beside the target and renamed, so a
binary in dist/ is always complete. Build records say exactly how each
artifact was made: Go version, argv, environment, profile, embedded values and
``go version -m``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gobuild import atomic, proc
from gobuild.build import gitinfo
from gobuild.toolchain import install as toolchain
from gobuild.project.config import Project
from gobuild.digest import sha256_file
from gobuild.errors import ConfigError, GobuildError
from gobuild.build.plan import BuildPlan, check_values
from gobuild.toolchain.cache import Installed

SUMS_NAME = "SHA256SUMS"


@dataclass(frozen=True)
class Built:
    """One finished build."""

    plan: BuildPlan
    path: Path
    sha256: str
    values: dict[str, str]


def values_for(project: Project, installed: Installed) -> tuple[dict[str, str], list[str]]:
    """The embedded values for this tree, and warnings (e.g. no git)."""
    info = gitinfo.read(
        project.root,
        project.environ,
        source_date_epoch=project.source_date_epoch,
        version=project.settings.build.version,
    )
    return info.values(installed.version.tag), list(info.warnings)


def run(
    plan: BuildPlan,
    installed: Installed,
    values: Mapping[str, str],
    root: Path,
    environ: Mapping[str, str],
) -> Built:
    """Build ``plan`` in the module at ``root``; the output appears atomically."""
    check_values(plan, values)
    out = root / plan.output
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        argv = plan.argv(str(installed.go), values, output=tmp)
        proc.run(argv, cwd=root, env=plan.environ(installed.goroot, environ))
        Path(tmp).replace(out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Built(plan, out, sha256_file(out), dict(values))


def check_platforms(
    plans: Sequence[BuildPlan], installed: Installed, environ: Mapping[str, str]
) -> None:
    """Every target must be one the pinned Go supports (``go tool dist list``)."""
    env = toolchain.environ(installed.goroot, environ)
    known = set(proc.run([str(installed.go), "tool", "dist", "list"], env=env).stdout.split())
    bad = sorted({p.target.pair for p in plans if p.target and p.target.pair not in known})
    if bad:
        raise ConfigError(
            f"dist.platforms: Go {installed.version} cannot build {', '.join(bad)} "
            "(see `gobuild go tool dist list`)"
        )


def write_record(built: Built, installed: Installed, environ: Mapping[str, str]) -> Path:
    """``<artifact>.json`` beside the artifact: how exactly it was made."""
    plan = built.plan
    env = toolchain.environ(installed.goroot, environ)
    info = proc.run([str(installed.go), "version", "-m", str(built.path)], env=env).stdout
    record = {
        "artifact": built.path.name,
        "sha256": built.sha256,
        "binary": plan.binary,
        "package": plan.package,
        "target": str(plan.target) if plan.target else "host",
        "go_version": plan.go_version,
        "argv": plan.argv("go", built.values),
        "env": dict(plan.env),
        "profile": plan.profile,
        "tags": list(plan.tags),
        "embedded": built.values,
        "go_version_m": info,
    }
    path = built.path.with_name(built.path.name + ".json")
    atomic.write_text(path, json.dumps(record, indent=2, sort_keys=True) + "\n")
    return path


def write_sums(out_dir: Path, artifacts: Sequence[Path]) -> Path:
    """SHA256SUMS in the format ``sha256sum -c`` reads."""
    lines = [f"{sha256_file(p)}  {p.name}\n" for p in sorted(artifacts, key=lambda p: p.name)]
    path = out_dir / SUMS_NAME
    atomic.write_text(path, "".join(lines))
    return path


def read_sums(path: Path) -> dict[str, str]:
    """Parse SHA256SUMS: name → sha256."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GobuildError(f"{path} does not exist: run `doit dist` first") from None
    out = {}
    for line in text.splitlines():
        sha, _, name = line.partition("  ")
        if len(sha) != 64 or not name:
            raise GobuildError(f"{path}: malformed line {line!r}")
        out[name.lstrip("*")] = sha
    return out


@dataclass(frozen=True)
class Verdict:
    """One artifact's verification."""

    artifact: str
    recorded: str | None  # SHA256SUMS
    in_dist: str | None  # the file in dist/ now
    rebuilt: str | None

    @property
    def ok(self) -> bool:
        """All three hashes present and equal."""
        return self.rebuilt is not None and self.recorded == self.in_dist == self.rebuilt


def verify(
    project: Project,
    plans: Sequence[BuildPlan],
    installed: Installed,
    work: Path,
) -> list[Verdict]:
    """Rebuild every artifact of ``plans`` from a copy of the tree and compare.

    The copy lives under ``work`` (a different path), builds with an empty
    GOCACHE and at a later time; the values are read again from the copy.
    """
    sums = read_sums(project.out_dir / SUMS_NAME)
    copy = work / "src"
    _copy_tree(project.root, copy, exclude={project.out_dir, project.state_dir})
    cache = work / "gocache"
    cache.mkdir()
    environ = {**project.environ, "GOCACHE": str(cache)}
    copied = dataclasses.replace(project, root=copy)
    values, _ = values_for(copied, installed)
    verdicts = []
    for plan in plans:
        name = Path(plan.output).name
        in_dist = project.root / plan.output
        rebuilt = run(plan, installed, values, copy, environ).sha256
        verdicts.append(
            Verdict(
                artifact=name,
                recorded=sums.get(name),
                in_dist=sha256_file(in_dist) if in_dist.is_file() else None,
                rebuilt=rebuilt,
            )
        )
    return verdicts


def _copy_tree(src: Path, dest: Path, exclude: set[Path]) -> None:
    skip = {p.resolve() for p in exclude}

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if (Path(folder) / n).resolve() in skip}

    shutil.copytree(src, dest, symlinks=True, ignore=ignore)

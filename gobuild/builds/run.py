"""Running a build plan: the go command, with the pinned Go, into its output, atomically.

Outputs are written to a temporary file beside the target and renamed, so a
binary in dist/ is always complete. The embedded values come from git
(:mod:`.gitinfo`); what was built is recorded by :mod:`.records`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gobuild import proc
from gobuild.builds import gitinfo
from gobuild.builds.goenv import go_environ
from gobuild.builds.plan import BuildPlan, check_values
from gobuild.digest import sha256_file
from gobuild.errors import ConfigError
from gobuild.project.config import Project
from gobuild.toolchain.cache import Installed


@dataclass(frozen=True)
class Built:
    """One finished build."""

    plan: BuildPlan
    path: Path
    sha256: str
    values: dict[str, str]


def values_for(project: Project, installed: Installed) -> tuple[dict[str, str], list[str]]:
    """The embedded values for this tree, and warnings (e.g. no git)."""
    info = gitinfo.of(project)
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
    env = go_environ(installed.goroot, environ)
    known = set(proc.run([str(installed.go), "tool", "dist", "list"], env=env).stdout.split())
    bad = sorted({p.target.pair for p in plans if p.target and p.target.pair not in known})
    if bad:
        raise ConfigError(
            f"dist.platforms: Go {installed.version} cannot build {', '.join(bad)} "
            "(see `gobuild go tool dist list`)"
        )

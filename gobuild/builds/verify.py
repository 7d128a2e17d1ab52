"""``doit verify``: rebuild every artifact from a fresh copy of the tree and compare.

The copy lives at another path, builds with an empty GOCACHE and at a later
time, and its embedded values are read again from the copy: equal bytes mean
the build depends on nothing but the tree and the pinned Go.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gobuild.builds.plan import BuildPlan
from gobuild.builds.records import SUMS_NAME, read_sums
from gobuild.builds.run import run, values_for
from gobuild.digest import sha256_file
from gobuild.project.config import Project
from gobuild.toolchain.cache import Installed


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
    environ = project.env.for_children(GOCACHE=str(cache))
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


def report(verdicts: Sequence[Verdict]) -> tuple[str, str | None]:
    """The verdicts as a table, and a one-line failure message (None when all match)."""
    width = max((len(v.artifact) for v in verdicts), default=8)
    lines = [f"{'artifact':<{width}}  result    sha256 (rebuilt)"]
    for v in verdicts:
        detail = v.rebuilt or "-"
        if not v.ok:
            detail += f"  (SHA256SUMS {v.recorded or 'missing'}, dist/ {v.in_dist or 'missing'})"
        lines.append(f"{v.artifact:<{width}}  {'match' if v.ok else 'MISMATCH':<8}  {detail}")
    bad = [v.artifact for v in verdicts if not v.ok]
    if bad:
        return "\n".join(lines), (
            f"verify: {len(bad)} of {len(verdicts)} artifacts differ: {', '.join(bad)}"
        )
    lines.append(f"verify: all {len(verdicts)} artifacts rebuilt bit-for-bit")
    return "\n".join(lines), None

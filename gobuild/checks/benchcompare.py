"""Comparing two benchmark runs: the pinned benchstat's table, the same on every machine.

benchstat reads Go's benchmark format (``go test -bench`` output, gobuild's saved
``bench.txt`` and ``.gobuild/bench/*.txt``) and shows medians with confidence
intervals and, between the two inputs, the change where it is not likely noise.
gobuild builds it at the project's pin (:mod:`gobuild.tools.install`) and runs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gobuild import proc
from gobuild.errors import GobuildError

if TYPE_CHECKING:
    from gobuild.progress import Reporter
    from gobuild.project.config import Project


def compare(project: Project, old: Path, new: Path, reporter: Reporter | None = None) -> str:
    """benchstat's comparison of the results in ``old`` and ``new`` (its text)."""
    from gobuild.tools.install import ensure_tool  # noqa: PLC0415 - builds only when asked

    for path in (old, new):
        if not path.is_file():
            raise GobuildError(f"{path}: no such benchmark results file")
    benchstat = ensure_tool(project, "benchstat", reporter).path
    # Same-named files (two runs' bench.txt) would share a column heading: label them.
    inputs = [f"old={old}", f"new={new}"] if old.name == new.name else [str(old), str(new)]
    return proc.run([str(benchstat), *inputs], cwd=project.root, timeout=300).stdout

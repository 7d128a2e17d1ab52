"""The CI workflows ``gobuild generate`` writes when ``[generate] ci`` names their systems.

One shape for GitHub Actions and GitLab CI, from the same plan: the tests as
``[checks.test] shards`` parallel jobs (``gobuild check test --shard K/N``, split by the
durations the last merged run recorded, kept in the CI system's cache), the linters in a
job of their own, then one job merging the shards' reports (``gobuild report merge``),
which fails when a test failed or a shard is missing, and keeps the merged durations for
the next run. With one shard, one test job and no merge. Each job installs this version
of gobuild and lets it install the pinned Go; the toolchain cache is kept between runs.
The workflows live at the module's root: the repository's root, for the CI systems to
find them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gobuild import __version__
from gobuild.project.config import Project
from gobuild.project.layout import STATE_DIR_NAME, reports_dir

PYTHON = "3.12"  # the Python the jobs install gobuild with
# Where the jobs keep what outlives a run (paths inside the checkout: GitLab caches only
# those): the recorded package durations, and gobuild's toolchain cache.
CI_DIR = ".gobuild-ci"


def context(project: Project) -> dict[str, Any]:
    """The values both workflow templates place."""
    settings = project.settings.checks
    shards = settings.test.shards
    reports = reports_dir(Path(STATE_DIR_NAME), ("test",)).as_posix()
    return {
        "requirement": project.settings.generate.ci_install or f"gobuild=={__version__}",
        "python": PYTHON,
        "shards": shards,
        "shard_numbers": list(range(1, shards + 1)),
        "reports": reports,
        "lint": bool(settings.linters),
        "junit": settings.test.junit,
        "durations": f"{CI_DIR}/durations.json",
        "durations_dir": CI_DIR,
        "cache": f"{CI_DIR}/cache",
        "lock": "gobuild.lock",
        # [cache] remote: the plugin's credentials, from the CI system's secrets only.
        "shared_cache": project.settings.cache.remote is not None,
    }

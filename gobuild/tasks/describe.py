"""Every task of a project, described as plain data: names, inputs, targets and each
build plan's fingerprint. :mod:`.specs` remembers it; :mod:`.dicts` makes doit tasks of it.

Each plan's inputs are an index into ``input_sets`` (a dist matrix's plans mostly share
one list); ``inputs_from`` says how they were found
(:data:`gobuild.builds.planinputs.Source`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gobuild.builds.plan import BuildPlan, dist_plans, host_plans
from gobuild.builds.planinputs import plan_inputs
from gobuild.builds.records import SUMS_NAME
from gobuild.project import lock, platforms
from gobuild.project.config import Project

Spec = dict[str, Any]


def describe(project: Project) -> Spec:
    """Every task of the project, as plain data (see :mod:`gobuild.tasks.dicts`)."""
    version = lock.pinned_version(project)
    binaries = project.binaries()
    build_error = None
    if binaries:
        hosts = host_plans(project, version, binaries)
        dists = dist_plans(project, version, binaries)
    else:
        # A library module has nothing to build but can still be tested and linted:
        # the build tasks fail with this message; the others work. (A configured
        # binary that is wrong stays an error when the tasks load.)
        hosts, dists = [], []
        build_error = f"{project.root}: no main package to build (and no [[binaries]])"
    found = plan_inputs(project, [*hosts, *dists])
    root = project.root
    return {
        "root": str(root),
        "profile": project.profile_name,
        "toolchain": {
            "cache": str(project.cache_dir),
            "request": str(project.go_pin().request),
            "platform": str(platforms.host()),
            "lock": str(project.lock_file),
        },
        "out_dir": project.settings.build.out_dir,
        "input_sets": found.sets,
        "inputs_from": found.source,
        "build": [_plan_spec(root, p, found.index[i]) for i, p in enumerate(hosts)],
        "build_error": build_error,
        "dist": [_plan_spec(root, p, found.index[len(hosts) + i]) for i, p in enumerate(dists)],
        "platforms": " ".join([*sorted({str(p.target) for p in dists}), version]),
        "sums": str(project.out_dir / SUMS_NAME),
        "generated": [str(project.generated(role)) for role in project.settings.generate.paths()],
        "config_files": [str(p) for p in (project.config_file, project.lock_file) if p.exists()],
    }


def _plan_spec(root: Path, plan: BuildPlan, inputs: int) -> Spec:
    return {
        "binary": plan.binary,
        "package": plan.package,
        "target": str(plan.target) if plan.target else None,
        "name": Path(plan.output).name,
        "output": str(root / plan.output),
        "fingerprint": plan.fingerprint(),
        "inputs": inputs,
    }

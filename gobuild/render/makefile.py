"""The standalone Makefile's values, from the same build plans as ``doit build``.

The template places these values; it decides no flags. Volatile values
(VERSION, COMMIT, DATE, TREE_STATE) stay make variables computed from git.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from gobuild.builds.flags import tag_union
from gobuild.builds.goenv import FIXED, SCRUBBED, profile_env
from gobuild.builds.plan import BuildPlan, dist_plans, host_plans, quote_field
from gobuild.checks.commands import make_settings
from gobuild.project import lock as lockfile
from gobuild.project.config import Project
from gobuild.project.layout import STATE_DIR_NAME
from gobuild.project.platforms import variant_variables
from gobuild.render.dockerfile import image_name


def makefile_context(project: Project) -> dict[str, Any]:
    """The values the Makefile template places (it decides no flags itself)."""
    lock = lockfile.read(project.lock_file)
    version = lockfile.locked_version(project)
    settings = project.settings
    # make adds TAGS itself, and chooses the profile with PROFILE=
    base = dataclasses.replace(project, env_tags=()).with_profile(settings.build.default_profile)
    builds = [_make_build(base, p) for p in host_plans(base, str(version))]
    dists = [_make_build(base, p) for p in dist_plans(base, str(version))]
    # Sanitised names can collide (a.b and a_b): number them.
    for i, b in enumerate(builds + dists, start=1):
        b["var"] = f"{i}_{b['var']}"
    profiles: list[dict[str, Any]] = []
    for name in settings.profile_names():
        p = project.with_profile(name)
        profiles.append(
            {
                "name": name,
                "env": [(k, v) for k, v in sorted(profile_env(p).items()) if k not in FIXED],
                "tags": sorted(p.profile.tags),
            }
        )
    official = (
        {plat: arts["official"] for plat, arts in lock.artifacts.items() if "official" in arts}
        if lock.version == version
        else {}
    )
    return {
        "go_version": str(version),
        "go_tag": version.tag,
        "default_profile": settings.build.default_profile,
        "out_dir": settings.build.out_dir,
        "state_dir": STATE_DIR_NAME,
        "configured_version": settings.build.version,
        "builds": builds,
        "dists": dists,
        "profiles": profiles,
        "profile_names": " ".join(p["name"] for p in profiles),
        "mirror": project.mirror or "https://dl.google.com/go",
        "mirror_is_default": project.mirror is None,
        "archives": sorted((k, a.filename, a.sha256) for k, a in official.items()),
        "scrubbed": SCRUBBED,
        "image_name": image_name(project),
        "checks": make_settings(project),
        "bench": project.settings.checks.bench,
        "static_env": [(k, v) for k, v in profile_env(base).items() if k in FIXED],
    }


def _make_build(project: Project, plan: BuildPlan) -> dict[str, Any]:
    """One build recipe's pieces: everything static, the volatile values as make refs."""
    binary = next(b for b in project.binaries() if b.name == plan.binary)
    env = dict(plan.env)
    keys = [*FIXED, *(k for k in ("GOOS", "GOARCH", *variant_variables()) if k in env)]
    name = Path(plan.output).name
    return {
        "name": plan.binary,
        "target": name,
        "var": re.sub(r"[^A-Za-z0-9_]", "_", name),
        "package": plan.package,
        "output": plan.output,
        "flags": [f for f in plan.flags if not f.startswith("-tags=")],
        "tags": tag_union(project, binary, selected=False),
        "ldflags": [quote_field(f) for f in plan.ldflags],
        "xvars": [
            {"var": var, "make": key.upper()}
            if value is None
            else {"static": quote_field(f"-X={var}={value}")}
            for var, key, value in plan.xvar_values()
        ],
        "env": [(k, env[k]) for k in keys],
    }

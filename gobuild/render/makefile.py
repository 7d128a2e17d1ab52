"""The standalone Makefile's values, from the same build plans as ``doit build``.

The template places these values; it decides no flags. Volatile values
(VERSION, COMMIT, DATE, TREE_STATE) stay make variables computed from git.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from gobuild.build.plan import (
    FIXED_ENV,
    SCRUBBED_ENV,
    BuildPlan,
    Target,
    build_plan,
    checked_binaries,
    go_env,
    quote_field,
)
from gobuild.checks import commands as checkplan
from gobuild.project import lock as lockfile
from gobuild.project.config import Project
from gobuild.project.settings import BinarySection
from gobuild.project.versions import GoVersion
from gobuild.render import dockerfile
from gobuild.toolchain import install as toolchain


def makefile_context(project: Project) -> dict[str, Any]:
    """The values the Makefile template places (it decides no flags itself)."""
    req = toolchain.request_for(project)
    lock = lockfile.read(project.lock_file)
    version = toolchain.locked_version(project)
    settings = project.settings
    # make adds TAGS itself, and chooses the profile with PROFILE=
    base = dataclasses.replace(project, env_tags=()).with_profile(settings.build.default_profile)
    binaries = checked_binaries(base)
    host = [build_plan(base, b, str(version)) for b in binaries]
    targets = [Target.parse(p) for p in settings.dist.platforms]
    dist = [build_plan(base, b, str(version), t) for b in binaries for t in targets]
    by_name = {b.name: b for b in binaries}
    builds = [_make_build(p, by_name[p.binary], settings.build.tags, version) for p in host]
    dists = [_make_build(p, by_name[p.binary], settings.build.tags, version) for p in dist]
    # Sanitised names can collide (a.b and a_b): number them.
    for i, b in enumerate(builds + dists, start=1):
        b["var"] = f"{i}_{b['var']}"
    profiles: list[dict[str, Any]] = []
    for name in settings.profile_names():
        p = project.with_profile(name)
        env = go_env(p)
        profiles.append(
            {
                "name": name,
                "env": [(k, v) for k, v in sorted(env.items()) if k not in FIXED_ENV],
                "tags": sorted(p.profile.tags),
            }
        )
    host_key = req.platform.key
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
        "configured_version": settings.build.version,
        "builds": builds,
        "dists": dists,
        "profiles": profiles,
        "profile_names": " ".join(p["name"] for p in profiles),
        "mirror": project.mirror or "https://dl.google.com/go",
        "mirror_is_default": project.mirror is None,
        "archives": sorted((k, a.filename, a.sha256) for k, a in official.items()),
        "host_key": host_key,
        "scrubbed": SCRUBBED_ENV,
        "image_name": dockerfile.image_name(project),
        "checks": checkplan.make_settings(project),
        "bench": project.settings.checks.bench,
        "static_env": [(k, v) for k, v in go_env(base).items() if k in FIXED_ENV],
    }


def _make_build(
    plan: BuildPlan, binary: BinarySection, build_tags: list[str], version: GoVersion
) -> dict[str, Any]:
    """One build recipe's pieces: everything static, the volatile values as make refs."""
    xvars: list[dict[str, str]] = []
    for var, key in plan.xvars:
        if key == "version" and plan.configured_version is not None:
            xvars.append({"static": quote_field(f"-X={var}={plan.configured_version}")})
        elif key == "go_version":
            xvars.append({"static": quote_field(f"-X={var}={version.tag}")})
        else:
            xvars.append({"var": var, "make": key.upper()})
    env = dict(plan.env)
    keys = [*FIXED_ENV, *(k for k in ("GOOS", "GOARCH", "GOAMD64", "GOARM", "GO386") if k in env)]
    name = Path(plan.output).name
    return {
        "name": binary.name,
        "target": name,
        "var": re.sub(r"[^A-Za-z0-9_]", "_", name),
        "package": plan.package,
        "output": plan.output,
        "flags": [f for f in plan.flags if not f.startswith("-tags=")],
        "tags": sorted({*build_tags, *binary.tags}),
        "ldflags": [quote_field(f) for f in plan.ldflags],
        "xvars": xvars,
        "env": [(k, env[k]) for k in keys],
    }

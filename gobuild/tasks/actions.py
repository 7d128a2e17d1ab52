"""What gobuild's doit tasks describe and do, as plain data and plain functions.

:func:`specs` computes every task's description (names, inputs, targets,
fingerprints) as JSON-ready data; :mod:`gobuild.tasks` caches it and turns it
into doit dictionaries. The action functions load the project themselves, so
the heavy imports (pydantic, the planner) happen only when a task really runs.
They raise :class:`~gobuild.errors.GobuildError`; the doit edge reports it.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gobuild.build import inputs
from gobuild.build import run as build
from gobuild.build.plan import (
    BuildPlan,
    Target,
    build_plan,
    checked_binaries,
    dist_plans,
    host_plans,
)
from gobuild.digest import sha256_file
from gobuild.errors import ConfigError
from gobuild.progress import Silent
from gobuild.project.config import Project, load_project
from gobuild.toolchain import install as toolchain
from gobuild.toolchain.cache import Installed

Spec = dict[str, Any]


class _Notices(Silent):
    """Shows the library's one-line notices (e.g. a source fallback) in doit's output."""

    def notice(self, message: str) -> None:
        print(f"gobuild: {message}", file=sys.stderr)


def project_for(root: str, profile: str | None, origin: str = "profile") -> Project:
    """The project at ``root`` with the profile the task was created for."""
    return load_project(Path(root)).with_profile(profile, origin)


def specs(project: Project) -> Spec:
    """Every task of the project, as plain data (see :mod:`gobuild.tasks`)."""
    version = toolchain.pinned_version(toolchain.request_for(project))
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
    deps = [str(p) for p in inputs.build_inputs(project.root, (project.out_dir, project.state_dir))]
    root = project.root
    req = toolchain.request_for(project)
    return {
        "root": str(root),
        "profile": project.profile_name,
        "toolchain": {
            "cache": str(req.cache.root),
            "request": str(req.request),
            "platform": str(req.platform),
            "lock": str(project.lock_file),
        },
        "out_dir": project.settings.build.out_dir,
        "inputs": deps,
        "build": [_plan_spec(root, p) for p in hosts],
        "build_error": build_error,
        "dist": [_plan_spec(root, p) for p in dists],
        "platforms": " ".join([*sorted({str(p.target) for p in dists}), version]),
        "sums": str(project.out_dir / build.SUMS_NAME),
        "generated": [str(root / name) for name in ("Dockerfile", ".dockerignore", "Makefile")],
        "config_files": [str(p) for p in (project.config_file, project.lock_file) if p.exists()],
    }


def _plan_spec(root: Path, plan: BuildPlan) -> Spec:
    return {
        "binary": plan.binary,
        "package": plan.package,
        "target": str(plan.target) if plan.target else None,
        "name": Path(plan.output).name,
        "output": str(root / plan.output),
        "fingerprint": plan.fingerprint(),
    }


def _plan(project: Project, spec: Mapping[str, Any]) -> BuildPlan:
    """Recompute a task's plan; refuse if the configuration changed since doit loaded it."""
    version = toolchain.pinned_version(toolchain.request_for(project))
    found = [b for b in checked_binaries(project) if b.name == spec["binary"]]
    if not found:
        raise ConfigError(f"binary {spec['binary']!r} is no longer configured; run doit again")
    binary = found[0]
    target = Target.parse(spec["target"]) if spec["target"] else None
    plan = build_plan(project, binary, version, target)
    if plan.fingerprint() != spec["fingerprint"]:
        raise ConfigError("the build configuration changed while doit was running; run it again")
    return plan


def _installed(project: Project) -> Installed:
    return toolchain.ensure(toolchain.request_for(project), _Notices()).installed


def _build(project: Project, plan: BuildPlan) -> tuple[build.Built, Installed]:
    installed = _installed(project)
    values, warnings = build.values_for(project, installed)
    for message in warnings:
        print(f"gobuild: warning: {message}", file=sys.stderr)
    return build.run(plan, installed, values, project.root, project.environ), installed


# -- actions ------------------------------------------------------------------------------


def install_toolchain(root: str, profile: str | None) -> dict[str, str]:
    """Ensure the pinned Go."""
    found = _installed(project_for(root, profile))
    return {"version": str(found.version), "goroot": str(found.goroot)}


def build_one(root: str, profile: str | None, spec: Mapping[str, Any]) -> dict[str, str]:
    """Build one host binary."""
    project = project_for(root, profile)
    built, _ = _build(project, _plan(project, spec))
    return {"sha256": built.sha256}


def dist_one(root: str, profile: str | None, spec: Mapping[str, Any]) -> dict[str, str]:
    """Build one dist artifact and its JSON record."""
    project = project_for(root, profile)
    built, installed = _build(project, _plan(project, spec))
    build.write_record(built, installed, project.environ)
    return {"sha256": built.sha256}


def _dist_plans(project: Project) -> list[BuildPlan]:
    return dist_plans(project, toolchain.pinned_version(toolchain.request_for(project)))


def check_platforms(root: str, profile: str | None) -> None:
    """Refuse targets the pinned Go cannot build, before anything builds."""
    project = project_for(root, profile)
    build.check_platforms(_dist_plans(project), _installed(project), project.environ)


def write_sums(root: str, profile: str | None) -> None:
    """SHA256SUMS over the dist artifacts."""
    project = project_for(root, profile)
    plans = _dist_plans(project)
    build.write_sums(project.out_dir, [project.root / p.output for p in plans])


def verify_dist(root: str, profile: str | None) -> str | None:
    """Rebuild from a fresh copy and compare; print a table; return a failure message."""
    project = project_for(root, profile)
    installed = _installed(project)
    plans = dist_plans(project, str(installed.version))
    with tempfile.TemporaryDirectory(prefix="gobuild-verify-") as work:
        verdicts = build.verify(project, plans, installed, Path(work))
    width = max((len(v.artifact) for v in verdicts), default=8)
    print(f"{'artifact':<{width}}  result    sha256 (rebuilt)")
    for v in verdicts:
        detail = v.rebuilt or "-"
        if not v.ok:
            detail += f"  (SHA256SUMS {v.recorded or 'missing'}, dist/ {v.in_dist or 'missing'})"
        print(f"{v.artifact:<{width}}  {'match' if v.ok else 'MISMATCH':<8}  {detail}")
    bad = [v.artifact for v in verdicts if not v.ok]
    if bad:
        return f"verify: {len(bad)} of {len(verdicts)} artifacts differ: {', '.join(bad)}"
    print(f"verify: all {len(verdicts)} artifacts rebuilt bit-for-bit")
    return None


def generate_files(root: str, profile: str | None) -> str | None:
    """Write the generated files (never over hand edits)."""
    from gobuild.render import generate  # noqa: PLC0415 - Jinja2 only when generating

    for outcome in generate.generate(project_for(root, profile)):
        print(f"{outcome.state:<9} {outcome.path}")
    return None


def make_image(root: str, profile: str | None) -> str | None:
    """Build the image from the generated Dockerfile, check it and report."""
    from gobuild.build import gitinfo  # noqa: PLC0415
    from gobuild.image import context as buildcontext  # noqa: PLC0415 - docker SDK
    from gobuild.image import engine as image  # noqa: PLC0415
    from gobuild.render import dockerfile  # noqa: PLC0415
    from gobuild.render import generate as gen  # noqa: PLC0415

    project = project_for(root, profile)
    state = gen.check_one(project, "Dockerfile")
    if state in ("missing", "stale"):
        raise ConfigError(f"the Dockerfile is {state}: run `gobuild generate` (or doit generate)")
    if state == "edited":
        print("gobuild: warning: building the hand-edited Dockerfile", file=sys.stderr)
    info = gitinfo.read(
        project.root,
        project.environ,
        source_date_epoch=project.source_date_epoch,
        version=project.settings.build.version,
    )
    for message in info.warnings:
        print(f"gobuild: warning: {message}", file=sys.stderr)
    values = info.values("")
    builder = image.find_builder(project.environ)
    client = image.connect(project.environ)
    build_base, runtime_base = dockerfile.base_images(project)
    image.require_images(client, [build_base, *([runtime_base] if runtime_base else [])])
    tag = image.tag_for(dockerfile.image_name(project), info.version)
    ctx = buildcontext.report(project)
    image_id = image.build(builder, project.root, tag=tag, values=values, environ=project.environ)
    binary = dockerfile.image_binary(dockerfile.image_project(project))
    docker = project.settings.docker
    labels = {
        "org.opencontainers.image.version": values["version"],
        "org.opencontainers.image.revision": values["commit"],
        "org.opencontainers.image.created": values["date"],
        **dockerfile.static_labels(project, binary),
    }
    checked = image.check(
        client,
        image_id,
        binary_path=f"{dockerfile.BIN_DIR}/{binary.name}",
        base=runtime_base,
        labels=labels,
        smoke_args=docker.smoke_args,
        smoke_timeout=docker.smoke_timeout,
    )
    host = project.out_dir / binary.name
    if host.is_file():
        same = sha256_file(host) == checked.binary_sha256
        compared = "same bytes as" if same else "differs from"
        compared = f"{compared} {host.relative_to(project.root)}"
    else:
        compared = "no host build to compare (doit build)"
    overhead = checked.size - checked.base_size - checked.binary_size
    print(f"image    {tag}  {checked.image_id[:19]}  built with {builder}")
    print(
        f"size     {checked.size:,} bytes = base {checked.base_size:,} + binary "
        f"{checked.binary_size:,} + {overhead:,} other"
    )
    print(f"binary   sha256 {checked.binary_sha256}  ({compared})")
    print(f"context  {ctx.files} files, {ctx.bytes:,} bytes sent ({ctx.rules_from})")
    print(f"user     {checked.user}; labels checked: {len(labels)}")
    print(f"smoke    exit 0: {checked.smoke_output.strip()[:200]}")
    return None


def run_checks(
    root: str, profile: str | None, kinds: list[str], cpus: str | None, memory: str | None
) -> str | None:
    """Run test/lint/bench units within the budget; a failure message if any failed."""
    from gobuild.checks import run as checkjob  # noqa: PLC0415

    try:
        cpu_value = float(cpus) if cpus else None
    except ValueError:
        raise ConfigError(f"--cpus {cpus!r} is not a number") from None
    outcome = checkjob.run_checks(
        project_for(root, profile), tuple(kinds), sys.stdout, sys.stderr,
        cpus=cpu_value, memory=memory or None,
    )  # fmt: skip
    bad = [f"{r.name} {r.status}" for r in outcome.results if r.status not in ("passed", "skipped")]
    return f"checks: {', '.join(bad)}" if bad else None


def fail(message: str) -> str:
    """A task that can only report why it cannot run."""
    return message


ACTIONS = {
    "fail": fail,
    "run_checks": run_checks,
    "make_image": make_image,
    "generate_files": generate_files,
    "install_toolchain": install_toolchain,
    "build_one": build_one,
    "dist_one": dist_one,
    "check_platforms": check_platforms,
    "write_sums": write_sums,
    "verify_dist": verify_dist,
}

"""What gobuild's doit tasks do: one plain function per action.

Each loads the project itself, so the heavy imports (pydantic, the planner) happen
only when a task really runs. They raise :class:`~gobuild.errors.GobuildError` or
return a failure message; :func:`gobuild.tasks.dicts.action` turns either into a
doit failure. A front end: these print what the library returns.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gobuild.builds import records, xvars
from gobuild.builds import run as build
from gobuild.builds.plan import BuildPlan, build_plan, checked_binaries, dist_plans
from gobuild.errors import ConfigError
from gobuild.gocache import lookups
from gobuild.gocache import shared as gocache
from gobuild.project import lock
from gobuild.project.config import Project, load_project
from gobuild.project.environ import Environment
from gobuild.project.platforms import Target
from gobuild.toolchain.cache import Installed
from gobuild.toolchain.install import ensure, request_for
from gobuild.ui.console import Notices


def _project(env: Environment, root: str, profile: str | None) -> Project:
    """The project at ``root`` with the profile the task was created for."""
    return load_project(Path(root), env).with_profile(profile, "profile")


def _plan(project: Project, spec: Mapping[str, Any]) -> BuildPlan:
    """Recompute a task's plan; refuse if the configuration changed since doit loaded it."""
    found = [b for b in checked_binaries(project) if b.name == spec["binary"]]
    if not found:
        raise ConfigError(f"binary {spec['binary']!r} is no longer configured; run doit again")
    target = Target.parse(spec["target"]) if spec["target"] else None
    plan = build_plan(project, found[0], lock.pinned_version(project), target)
    if plan.fingerprint() != spec["fingerprint"]:
        raise ConfigError("the build configuration changed while doit was running; run it again")
    return plan


def _installed(project: Project) -> Installed:
    return ensure(request_for(project), Notices(sys.stderr)).installed


def _build(project: Project, plan: BuildPlan) -> tuple[build.Built, Installed]:
    installed = _installed(project)
    values, warnings = build.values_for(project, installed)
    for message in warnings:
        print(f"gobuild: warning: {message}", file=sys.stderr)
    notices = Notices(sys.stderr)
    shared = gocache.prepare(project, installed, notices)
    with tempfile.TemporaryDirectory(prefix="gobuild-gocache-") as tmp:
        stats = Path(tmp) / "lookups.jsonl"
        environ = {
            **project.env.variables,
            **gocache.connect(shared, project.env.network, notices.notice, stats),
        }
        built = build.run(plan, installed, values, project.root, environ)
        if shared is not None and stats.exists():
            print(f"gobuild: {lookups.read(stats).text(shared.remote)}", file=sys.stderr)
    if unset := xvars.warning(project, plan, installed):
        print(f"gobuild: warning: {unset}", file=sys.stderr)
    return built, installed


def install_toolchain(env: Environment, root: str, profile: str | None) -> dict[str, str]:
    """Ensure the pinned Go."""
    found = _installed(_project(env, root, profile))
    return {"version": str(found.version), "goroot": str(found.goroot)}


def build_one(
    env: Environment, root: str, profile: str | None, spec: Mapping[str, Any]
) -> dict[str, str]:
    """Build one host binary."""
    project = _project(env, root, profile)
    built, _ = _build(project, _plan(project, spec))
    return {"sha256": built.sha256}


def dist_one(
    env: Environment, root: str, profile: str | None, spec: Mapping[str, Any]
) -> dict[str, str]:
    """Build one dist artifact and its JSON record."""
    project = _project(env, root, profile)
    built, installed = _build(project, _plan(project, spec))
    records.write_record(built, installed, project.env.variables)
    return {"sha256": built.sha256}


def list_inputs(
    env: Environment, root: str, profile: str | None, spec: Mapping[str, Any]
) -> dict[str, list[str]]:
    """calc_dep: a build's inputs, listed once the toolchain task installed the pinned Go
    (the task specs were described before it was)."""
    from gobuild.builds.planinputs import plan_inputs  # noqa: PLC0415

    project = _project(env, root, profile)
    return {"file_dep": plan_inputs(project, [_plan(project, spec)]).of(0)}


def check_platforms(env: Environment, root: str, profile: str | None) -> None:
    """Refuse targets the pinned Go cannot build, before anything builds."""
    project = _project(env, root, profile)
    plans = dist_plans(project, lock.pinned_version(project))
    build.check_platforms(plans, _installed(project), project.env.variables)


def write_sums(env: Environment, root: str, profile: str | None) -> None:
    """SHA256SUMS over the dist artifacts."""
    project = _project(env, root, profile)
    plans = dist_plans(project, lock.pinned_version(project))
    records.write_sums(project.out_dir, [project.root / p.output for p in plans])


def verify_dist(env: Environment, root: str, profile: str | None) -> str | None:
    """Rebuild from a fresh copy and compare; print the table; return a failure message."""
    from gobuild.builds import verify  # noqa: PLC0415

    project = _project(env, root, profile)
    installed = _installed(project)
    plans = dist_plans(project, str(installed.version))
    with tempfile.TemporaryDirectory(prefix="gobuild-verify-") as work:
        verdicts = verify.verify(project, plans, installed, Path(work))
    table, failure = verify.report(verdicts)
    print(table)
    return failure


def generate_files(env: Environment, root: str, profile: str | None) -> None:
    """Write the generated files (never over hand edits)."""
    from gobuild.render import generate  # noqa: PLC0415 - Jinja2 only when generating

    print(generate.describe(generate.generate(_project(env, root, profile))))


def make_release(env: Environment, root: str, profile: str | None, snapshot: bool) -> None:
    """Archive the dist binaries into dist/release, with SHA256SUMS and the record."""
    from gobuild.release.assemble import assemble  # noqa: PLC0415

    release = assemble(
        _project(env, root, profile), snapshot=snapshot, reporter=Notices(sys.stderr)
    )
    print("\n".join(release.summary()))


def publish_release(env: Environment, root: str, profile: str | None, force: bool) -> None:
    """Push dist/release's image and its attachments to [release] repository."""
    from gobuild.release.assemble import registry_client, release_dir  # noqa: PLC0415
    from gobuild.release.publish import publish  # noqa: PLC0415

    project = _project(env, root, profile)
    configured = project.settings.release.verify_key
    done = publish(
        project, release_dir(project), client=registry_client(project), force=force,
        key=project.root / configured if configured else None, reporter=Notices(sys.stderr),
    )  # fmt: skip
    print("\n".join(done.summary()))


def make_image(env: Environment, root: str, profile: str | None, released: bool = False) -> None:
    """Build the image from the generated Dockerfile (or, ``released``, the release
    Dockerfile and the dist binary), check it and report."""
    from gobuild.image.make import make_image  # noqa: PLC0415 - the docker SDK
    from gobuild.tools.install import ensure_tool  # noqa: PLC0415

    project = _project(env, root, profile)
    reporter = Notices(sys.stderr)
    # Built (or found in the tool cache) only when a BuildKit daemon is the builder.
    report = make_image(
        project,
        reporter,
        released=released,
        buildctl=lambda: ensure_tool(project, "buildctl", reporter).path,
    )
    print(report.text())


def fail(message: str) -> str:
    """A task that can only report why it cannot run."""
    return message


ACTIONS = {
    "fail": fail,
    "make_image": make_image,
    "make_release": make_release,
    "publish_release": publish_release,
    "generate_files": generate_files,
    "install_toolchain": install_toolchain,
    "build_one": build_one,
    "dist_one": dist_one,
    "list_inputs": list_inputs,
    "check_platforms": check_platforms,
    "write_sums": write_sums,
    "verify_dist": verify_dist,
}

"""doit task dictionaries built from a project: the only module that speaks doit.

The ``*_task(s)`` functions are pure: project in, task dicts out, so tasks are
tested as data. Actions are module-level functions taking plain data (picklable
for ``doit -n`` under any multiprocessing start method); they turn gobuild's
errors into doit failures with the one-line message and no traceback. As
doit's adapter, this module reports through doit's captured output streams.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterator
from functools import cached_property, wraps
from pathlib import Path
from typing import Any, TypeVar

from doit.exceptions import InvalidDodoFile, TaskFailed
from doit.tools import config_changed

from gobuild import build, inputs, toolchain
from gobuild.config import Project, load_project
from gobuild.errors import GobuildError
from gobuild.plan import BuildPlan, dist_plans, host_plans
from gobuild.progress import Silent
from gobuild.settings import BinarySection

Task = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Any])

DEP_FILE_NAME = "doit.sqlite3"
# Declared so `doit build --profile prod` parses; the value itself is read from the
# command line before tasks are created (see profile_from_argv), because plans depend on it.
PROFILE_PARAM = {"name": "profile", "long": "profile", "default": "", "help": "gobuild profile"}


def profile_from_argv(argv: list[str]) -> str | None:
    """The value of ``--profile X`` / ``--profile=X`` on doit's command line, if any."""
    for i, arg in enumerate(argv):
        if arg == "--profile" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--profile="):
            return arg.split("=", 1)[1]
    return None


def creating(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a task creator: gobuild errors become doit's one-line ERROR, no traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = fn(*args, **kwargs)
            # Run a generator to the end here, so its errors surface here too.
            if isinstance(result, Iterator):
                items = list(result)
                return (item for item in items)  # doit wants a generator object
            return result
        except GobuildError as exc:
            raise InvalidDodoFile(str(exc)) from None

    return wrapper


def load(start: Path, profile: str | None = None) -> Project:
    """Load the project for a dodo file; errors become doit's one-line ERROR, no traceback."""
    try:
        return load_project(start).with_profile(profile, "profile=")
    except GobuildError as exc:
        raise InvalidDodoFile(str(exc)) from None


def doit_config(project: Project) -> dict[str, Any]:
    """DOIT_CONFIG for a gobuild project: state in the state dir, a sqlite3 backend
    (safe for two doit runs at once, unlike dbm), ``build`` by default."""
    project.state_dir.mkdir(parents=True, exist_ok=True)
    return {
        "dep_file": str(project.state_dir / DEP_FILE_NAME),
        "backend": "sqlite3",
        "default_tasks": ["build"],
        "verbosity": 1,
    }


def _failing_cleanly(fn: F) -> F:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = fn(*args, **kwargs)
        except GobuildError as exc:
            return TaskFailed(str(exc))
        return result if result is not None else True

    return wrapper  # type: ignore[return-value]


class _Notices(Silent):
    """Shows the library's one-line notices (e.g. a source fallback) in doit's output."""

    def notice(self, message: str) -> None:
        print(f"gobuild: {message}", file=sys.stderr)


def _installed(project: Project) -> toolchain.Installed:
    return toolchain.ensure(toolchain.request_for(project), _Notices()).installed


def _warn(messages: list[str]) -> None:
    for message in messages:
        print(f"gobuild: warning: {message}", file=sys.stderr)


# -- actions (module level: picklable) ------------------------------------------------------


@_failing_cleanly
def install_toolchain(project: Project) -> dict[str, str]:
    """Action: ensure the pinned Go."""
    found = _installed(project)
    return {"version": str(found.version), "goroot": str(found.goroot)}


def toolchain_present(project: Project) -> bool:
    """uptodate: the pinned Go is installed and matches gobuild.lock (no network)."""
    try:
        return toolchain.find_installed(toolchain.request_for(project)) is not None
    except GobuildError:
        return False  # let the action run and report the error properly


def _build(project: Project, plan: BuildPlan) -> tuple[build.Built, toolchain.Installed]:
    installed = _installed(project)
    values, warnings = build.values_for(project, installed)
    _warn(warnings)
    return build.run(plan, installed, values, project.root, project.environ), installed


@_failing_cleanly
def build_one(project: Project, plan: BuildPlan) -> dict[str, str]:
    """Action: build one plan with the pinned Go and the tree's embedded values."""
    built, _ = _build(project, plan)
    return {"sha256": built.sha256}


@_failing_cleanly
def dist_one(project: Project, plan: BuildPlan) -> dict[str, str]:
    """Action: build one dist artifact and its JSON record."""
    built, installed = _build(project, plan)
    build.write_record(built, installed, project.environ)
    return {"sha256": built.sha256}


@_failing_cleanly
def check_platforms(project: Project, plans: list[BuildPlan]) -> None:
    """Action: refuse targets the pinned Go cannot build, before anything builds."""
    build.check_platforms(plans, _installed(project), project.environ)


@_failing_cleanly
def write_sums(project: Project, plans: list[BuildPlan]) -> None:
    """Action: SHA256SUMS over the dist artifacts."""
    build.write_sums(project.out_dir, [project.root / p.output for p in plans])


@_failing_cleanly
def verify_dist(project: Project, plans: list[BuildPlan]) -> TaskFailed | None:
    """Action: rebuild from a fresh copy and compare; print a table."""
    installed = _installed(project)
    with tempfile.TemporaryDirectory(prefix="gobuild-verify-") as work:
        verdicts = build.verify(project, plans, installed, Path(work))
    width = max(len(v.artifact) for v in verdicts) if verdicts else 8
    print(f"{'artifact':<{width}}  result    sha256 (rebuilt)")
    for v in verdicts:
        detail = v.rebuilt or "-"
        if not v.ok:
            detail += f"  (SHA256SUMS {v.recorded or 'missing'}, dist/ {v.in_dist or 'missing'})"
        print(f"{v.artifact:<{width}}  {'match' if v.ok else 'MISMATCH':<8}  {detail}")
    bad = [v.artifact for v in verdicts if not v.ok]
    if bad:
        return TaskFailed(
            f"verify: {len(bad)} of {len(verdicts)} artifacts differ: {', '.join(bad)}"
        )
    print(f"verify: all {len(verdicts)} artifacts rebuilt bit-for-bit")
    return None


# -- task dicts ---------------------------------------------------------------------------


class Context:
    """What every task creator of one doit run shares, computed at most once.

    doit calls each ``task_*`` function separately; without this, each would
    load the project and walk the module's files again.
    """

    def __init__(self, project: Project) -> None:
        self.project = project

    @cached_property
    def go_version(self) -> str:
        """The pinned version as known offline (lock or exact pin)."""
        return toolchain.pinned_version(toolchain.request_for(self.project))

    @cached_property
    def file_dep(self) -> list[str]:
        """The module's build inputs (see :mod:`gobuild.inputs`)."""
        p = self.project
        return [str(f) for f in inputs.build_inputs(p.root, (p.out_dir, p.state_dir))]

    @cached_property
    def binaries(self) -> list[BinarySection]:
        """The binaries, detected once (detection reads every package's files)."""
        return self.project.binaries()

    @cached_property
    def dist_plans(self) -> list[BuildPlan]:
        """One plan per binary per configured platform."""
        return dist_plans(self.project, self.go_version, self.binaries)


def toolchain_task(project: Project) -> Task:
    """Make the project's pinned Go present (verified, cached, recorded in gobuild.lock)."""
    return {
        "basename": "toolchain",
        "doc": "install the project's pinned Go (sha256-verified, cached)",
        "actions": [(install_toolchain, [project])],
        "uptodate": [(toolchain_present, [project])],
        "verbosity": 2,
    }


def build_tasks(ctx: Context) -> Iterator[Task]:
    """Build each main package with the pinned Go into dist/ (host platform)."""
    project = ctx.project
    yield {
        "basename": "build",
        "name": None,
        "doc": "build the module's binaries into dist/",
        "params": [PROFILE_PARAM],
    }
    deps = ctx.file_dep
    for plan in host_plans(project, ctx.go_version, ctx.binaries):
        yield {
            "basename": "build",
            "name": plan.binary,
            "doc": f"build {plan.package} into {plan.output}",
            "actions": [(build_one, [project, plan])],
            "file_dep": deps,
            "targets": [str(project.root / plan.output)],
            "task_dep": ["toolchain"],
            "uptodate": [config_changed(plan.fingerprint())],
            "verbosity": 2,
            "params": [PROFILE_PARAM],
        }


def dist_tasks(ctx: Context) -> Iterator[Task]:
    """The cross-compile matrix: one task per artifact (parallel under -n), then SHA256SUMS."""
    project, plans, deps = ctx.project, ctx.dist_plans, ctx.file_dep
    yield {
        "basename": "dist",
        "name": None,
        "doc": "cross-compile every platform, SHA256SUMS",
        "params": [PROFILE_PARAM],
    }
    yield {
        "basename": "dist",
        "name": "platforms",
        "doc": "check the platforms against `go tool dist list`",
        "actions": [(check_platforms, [project, plans])],
        "task_dep": ["toolchain"],
        "uptodate": [
            config_changed(" ".join([*sorted({str(p.target) for p in plans}), ctx.go_version]))
        ],
    }
    names = []
    for plan in plans:
        name = Path(plan.output).name
        names.append(f"dist:{name}")
        yield {
            "basename": "dist",
            "name": name,
            "doc": f"build {plan.package} for {plan.target}",
            "actions": [(dist_one, [project, plan])],
            "file_dep": deps,
            "targets": [str(project.root / plan.output)],
            "task_dep": ["toolchain", "dist:platforms"],
            "uptodate": [config_changed(plan.fingerprint())],
            "verbosity": 2,
            "params": [PROFILE_PARAM],
        }
    yield {
        "basename": "dist",
        "name": build.SUMS_NAME,
        "doc": "write SHA256SUMS",
        "actions": [(write_sums, [project, plans])],
        "file_dep": [str(project.root / p.output) for p in plans],
        "targets": [str(project.out_dir / build.SUMS_NAME)],
        "task_dep": names,
    }


def verify_task(ctx: Context) -> Task:
    """Rebuild dist/ from a fresh copy of the tree and compare bit for bit."""
    project, plans = ctx.project, ctx.dist_plans
    return {
        "basename": "verify",
        "doc": "rebuild dist/ from a fresh copy and compare with dist/ and SHA256SUMS",
        "actions": [(verify_dist, [project, plans])],
        "task_dep": ["toolchain"],
        "uptodate": [False],
        "verbosity": 2,
        "params": [PROFILE_PARAM],
    }

"""doit task dictionaries: the only module that speaks doit.

Task descriptions are computed by :func:`gobuild.jobs.specs` as plain data and
cached in the state directory (``tasks.json``) under a stamp of everything
they depend on: every file's path, size and mtime, the environment variables
gobuild reads, the profile and gobuild's own code. A no-op ``doit build`` then
loads JSON instead of importing the planner and reading the module's files,
which keeps it as cheap as doit itself. Actions are trampolines into
:mod:`gobuild.jobs`, imported only when a task runs; gobuild errors become
doit failures with their one-line message.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from doit.exceptions import InvalidDodoFile, TaskFailed
from doit.tools import config_changed

from gobuild import stamps

Task = dict[str, Any]
Spec = dict[str, Any]

STATE_DIR = ".gobuild"  # config.STATE_DIR_NAME, without importing config
DEP_FILE_NAME = "doit.sqlite3"
CACHE_NAME = "tasks.json"
CACHE_FORMAT = 1
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


# -- the spec cache ---------------------------------------------------------------------------


def stamp(root: Path, environ: Mapping[str, str], profile: str | None, out_dir: str) -> str:
    """A digest of everything task specs depend on (see the module docstring)."""
    return stamps.digest(
        [
            f"tasks {CACHE_FORMAT} {json.dumps(profile)}",
            stamps.environment(environ),
            *stamps.code(),
            *stamps.tree(root, {root / ".git", root / STATE_DIR, root / out_dir}),
        ]
    )


def load_specs(root: Path, environ: Mapping[str, str], profile: str | None) -> Spec:
    """The task specs for ``root``: from the cache when its stamp still holds."""
    cache = root / STATE_DIR / CACHE_NAME
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached.get("stamp") == stamp(root, environ, profile, cached["specs"]["out_dir"]):
            return dict(cached["specs"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    from gobuild import atomic  # noqa: PLC0415 - the slow path only
    from gobuild.errors import GobuildError  # noqa: PLC0415
    from gobuild.tasks import actions as jobs  # noqa: PLC0415

    try:
        specs = jobs.specs(jobs.project_for(str(root), profile))
    except GobuildError as exc:
        raise InvalidDodoFile(str(exc)) from None
    cache.parent.mkdir(parents=True, exist_ok=True)
    data = {"stamp": stamp(root, environ, profile, specs["out_dir"]), "specs": specs}
    atomic.write_text(cache, json.dumps(data))
    return specs


# -- actions: trampolines into gobuild.jobs ----------------------------------------------------


def action(name: str, *args: Any) -> Any:
    """Run ``gobuild.jobs.ACTIONS[name]``; a gobuild error is a doit failure, no traceback."""
    jobs = importlib.import_module("gobuild.tasks.actions")
    errors = importlib.import_module("gobuild.errors")
    try:
        result = jobs.ACTIONS[name](*args)
    except errors.GobuildError as exc:
        return TaskFailed(str(exc))
    if isinstance(result, str):  # a failure message
        return TaskFailed(result)
    return result if result is not None else True


def toolchain_ready(spec: Mapping[str, str]) -> bool:
    """uptodate: the pinned Go is installed and matches gobuild.lock (offline, stdlib only)."""
    from gobuild.errors import GobuildError  # noqa: PLC0415 - light modules, loaded on use
    from gobuild.project.platforms import Platform  # noqa: PLC0415
    from gobuild.project.versions import VersionRequest  # noqa: PLC0415
    from gobuild.toolchain.cache import find  # noqa: PLC0415

    try:
        request = VersionRequest.parse(spec["request"])
        platform = Platform.parse(spec["platform"])
        return find(Path(spec["cache"]), request, platform, Path(spec["lock"])) is not None
    except GobuildError:
        return False  # let the action run and report the problem properly


# -- doit configuration and task dicts ----------------------------------------------------------


def doit_config(root: Path) -> dict[str, Any]:
    """DOIT_CONFIG: state in the state dir, a sqlite3 backend (safe for two doit runs
    at once, unlike dbm), ``build`` by default."""
    (root / STATE_DIR).mkdir(parents=True, exist_ok=True)
    return {
        "dep_file": str(root / STATE_DIR / DEP_FILE_NAME),
        "backend": "sqlite3",
        "default_tasks": ["build"],
        "verbosity": 1,
    }


def toolchain_task(specs: Spec) -> Task:
    """Make the project's pinned Go present (verified, cached, recorded in gobuild.lock)."""
    args = [specs["root"], specs["profile"]]
    return {
        "basename": "toolchain",
        "doc": "install the project's pinned Go (sha256-verified, cached)",
        "actions": [(action, ["install_toolchain", *args])],
        "uptodate": [(toolchain_ready, [specs["toolchain"]])],
        "verbosity": 2,
    }


def build_tasks(specs: Spec) -> Iterator[Task]:
    """Build each main package with the pinned Go into dist/ (host platform)."""
    args = [specs["root"], specs["profile"]]
    if specs.get("build_error"):
        yield _failing("build", specs["build_error"])
        return
    yield {
        "basename": "build",
        "name": None,
        "doc": "build the module's binaries into dist/",
        "params": [PROFILE_PARAM],
    }
    for spec in specs["build"]:
        yield {
            "basename": "build",
            "name": spec["binary"],
            "doc": f"build {spec['package']} into {spec['output']}",
            "actions": [(action, ["build_one", *args, spec])],
            "file_dep": specs["inputs"],
            "targets": [spec["output"]],
            "task_dep": ["toolchain"],
            "uptodate": [config_changed(spec["fingerprint"])],
            "verbosity": 2,
            "params": [PROFILE_PARAM],
        }


def _failing(basename: str, message: str) -> Task:
    return {
        "basename": basename,
        "doc": f"(unavailable: {message})",
        "actions": [(action, ["fail", message])],
        "params": [PROFILE_PARAM],
    }


def dist_tasks(specs: Spec) -> Iterator[Task]:
    """The cross-compile matrix: one task per artifact (parallel under -n), then SHA256SUMS."""
    args = [specs["root"], specs["profile"]]
    if specs.get("build_error"):
        yield _failing("dist", specs["build_error"])
        return
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
        "actions": [(action, ["check_platforms", *args])],
        "task_dep": ["toolchain"],
        "uptodate": [config_changed(specs["platforms"])],
    }
    names = []
    for spec in specs["dist"]:
        names.append(f"dist:{spec['name']}")
        yield {
            "basename": "dist",
            "name": spec["name"],
            "doc": f"build {spec['package']} for {spec['target']}",
            "actions": [(action, ["dist_one", *args, spec])],
            "file_dep": specs["inputs"],
            "targets": [spec["output"]],
            "task_dep": ["toolchain", "dist:platforms"],
            "uptodate": [config_changed(spec["fingerprint"])],
            "verbosity": 2,
            "params": [PROFILE_PARAM],
        }
    yield {
        "basename": "dist",
        "name": "SHA256SUMS",
        "doc": "write SHA256SUMS",
        "actions": [(action, ["write_sums", *args])],
        "file_dep": [s["output"] for s in specs["dist"]],
        "targets": [specs["sums"]],
        "task_dep": names,
    }


def generate_task(specs: Spec) -> Task:
    """Render the Makefile from gobuild.toml and gobuild.lock."""
    return {
        "basename": "generate",
        "doc": "write Dockerfile, .dockerignore and Makefile from gobuild.toml and gobuild.lock",
        "actions": [(action, ["generate_files", specs["root"], specs["profile"]])],
        "file_dep": specs["config_files"],
        "targets": specs["generated"],
        "task_dep": ["toolchain"],
        "verbosity": 2,
    }


CPUS_PARAM = {"name": "cpus", "long": "cpus", "default": "", "help": "CPU budget"}
MEMORY_PARAM = {"name": "memory", "long": "memory", "default": "", "help": "memory budget (4GiB)"}
CHECK_KINDS = {
    "test": ("test",),
    "lint": ("lint",),
    "bench": ("bench",),
    "check": ("test", "lint"),
}
_CHECK_DOCS = {
    "test": "go test -json within the CPU/memory budget (JUnit XML in .gobuild/checks/)",
    "lint": "go vet, gofmt and configured linters, each a unit within the budget",
    "bench": "go test -bench, alone on the machine; results kept for gobuild bench compare",
    "check": "test and lint concurrently within the budget",
}


def checks_action(
    kinds: list[str], root: str, profile: str | None, cpus: str = "", memory: str = ""
) -> Any:
    """doit passes the task's --cpus/--memory by parameter name."""
    return action("run_checks", root, profile, kinds, cpus, memory)


def check_task(specs: Spec, name: str) -> Task:
    """test, lint, bench or check: one scheduler run over the kind's units."""
    return {
        "basename": name,
        "doc": _CHECK_DOCS[name],
        "actions": [(checks_action, [list(CHECK_KINDS[name]), specs["root"], specs["profile"]])],
        "task_dep": ["toolchain"],
        "uptodate": [False],
        "verbosity": 2,
        "params": [PROFILE_PARAM, CPUS_PARAM, MEMORY_PARAM],
    }


def image_task(specs: Spec) -> Task:
    """Build the image from the generated Dockerfile on the Docker engine and check it."""
    return {
        "basename": "image",
        "doc": "build the image (BuildKit), then check labels, USER, a smoke run and the binary",
        "actions": [(action, ["make_image", specs["root"], specs["profile"]])],
        "uptodate": [False],  # BuildKit's own cache decides what is rebuilt
        "verbosity": 2,
        "params": [PROFILE_PARAM],
    }


def verify_task(specs: Spec) -> Task:
    """Rebuild dist/ from a fresh copy of the tree and compare bit for bit."""
    return {
        "basename": "verify",
        "doc": "rebuild dist/ from a fresh copy and compare with dist/ and SHA256SUMS",
        "actions": [(action, ["verify_dist", specs["root"], specs["profile"]])],
        "task_dep": ["toolchain"],
        "uptodate": [False],
        "verbosity": 2,
        "params": [PROFILE_PARAM],
    }

"""doit task dictionaries, made from the task specs (:mod:`.specs`) as plain data.

Actions are trampolines into :mod:`gobuild.tasks.actions`, imported only when a task
runs; gobuild errors become doit failures with their one-line message. Every action
gets the environment :mod:`gobuild.dodo` read, with the project's root and profile.
"""

from __future__ import annotations

import importlib
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

from doit.exceptions import TaskFailed
from doit.tools import config_changed

from gobuild.project.environ import Environment
from gobuild.project.layout import STATE_DIR_NAME
from gobuild.project.names import DEFAULT_CHECK_KINDS, CheckKind
from gobuild.tasks.specs import Spec, toolchain_ready
from gobuild.ui import options

Task = dict[str, Any]

DEP_FILE_NAME = "doit.sqlite3"
# Declared so `doit build --profile prod` parses; the value itself is read from the
# command line before tasks are created (see specs.profile_from_argv): plans depend on it.
PROFILE_PARAM = options.PROFILE.doit_param()


# -- actions: trampolines into gobuild.tasks.actions -------------------------------------------


def action(name: str, *args: Any) -> Any:
    """Run ``gobuild.tasks.actions.ACTIONS[name]`` (``run_checks``: the check job's, which
    loads less); a gobuild error is a doit failure, with its one-line message and no
    traceback."""
    errors = importlib.import_module("gobuild.errors")
    try:
        if name == "run_checks":
            result = importlib.import_module("gobuild.tasks.checkjob").run_checks(*args)
        else:
            result = importlib.import_module("gobuild.tasks.actions").ACTIONS[name](*args)
    except errors.GobuildError as exc:
        return TaskFailed(str(exc))
    if isinstance(result, str):  # a failure message
        return TaskFailed(result)
    return result if result is not None else True


# -- doit configuration and task dicts ----------------------------------------------------------


def doit_config(root: Path) -> dict[str, Any]:
    """DOIT_CONFIG: state in the state dir, a sqlite3 backend (safe for two doit runs
    at once, unlike dbm), ``build`` by default."""
    (root / STATE_DIR_NAME).mkdir(parents=True, exist_ok=True)
    return {
        "dep_file": str(root / STATE_DIR_NAME / DEP_FILE_NAME),
        "backend": "sqlite3",
        "default_tasks": ["build"],
        "verbosity": 1,
    }


def toolchain_task(specs: Spec, env: Environment) -> Task:
    """Make the project's pinned Go present (verified, cached, recorded in gobuild.lock)."""
    args = [env, specs["root"], specs["profile"]]
    return {
        "basename": "toolchain",
        "doc": "install the project's pinned Go (sha256-verified, cached)",
        "actions": [(action, ["install_toolchain", *args])],
        "uptodate": [(toolchain_ready, [specs["toolchain"]])],
        "verbosity": 2,
    }


def build_tasks(specs: Spec, env: Environment) -> Iterator[Task]:
    """Build each main package with the pinned Go into dist/ (host platform)."""
    args = [env, specs["root"], specs["profile"]]
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
        deps = yield from _inputs(specs, spec, "build", spec["binary"], args)
        yield {
            "basename": "build",
            "name": spec["binary"],
            "doc": f"build {spec['package']} into {spec['output']}",
            "actions": [(action, ["build_one", *args, spec])],
            **deps,
            "targets": [spec["output"]],
            "task_dep": ["toolchain"],
            "uptodate": [_built_from(specs, spec)],
            "verbosity": 2,
            "params": [PROFILE_PARAM],
        }


def _built_from(specs: Spec, spec: Spec) -> Any:
    """Up to date while the plan and the git state it embeds are the same."""
    return config_changed({"plan": spec["fingerprint"], "source": specs.get("source", "")})


def _inputs(
    specs: Spec, spec: Spec, basename: str, name: str, args: list[Any]
) -> Generator[Task, None, dict[str, list[str]]]:
    """A build task's inputs: its ``file_dep``, as the specs list them.

    Described before the pinned Go was installed, the specs have only the file finder's
    list (:data:`gobuild.builds.planinputs.NO_GO`). doit would record that list with the
    build and, the next run having go list's, build again for nothing; so instead a
    ``calc_dep`` task (yielded here) lists the inputs with go list once the ``toolchain``
    task has installed Go, and doit records those.
    """
    if specs["inputs_from"] != "no go":
        return {"file_dep": specs["input_sets"][spec["inputs"]]}
    calc = f"{name}@inputs"  # '@' is in no binary's or artifact's name
    yield {
        "basename": basename,
        "name": calc,
        "doc": f"list {basename}:{name}'s inputs with the pinned Go, once installed",
        "actions": [(action, ["list_inputs", *args, spec])],
        "task_dep": ["toolchain"],
        "uptodate": [False],
        "params": [PROFILE_PARAM],
    }
    return {"file_dep": [], "calc_dep": [f"{basename}:{calc}"]}


def _failing(basename: str, message: str) -> Task:
    return {
        "basename": basename,
        "doc": f"(unavailable: {message})",
        "actions": [(action, ["fail", message])],
        "params": [PROFILE_PARAM],
    }


def dist_tasks(specs: Spec, env: Environment) -> Iterator[Task]:
    """The cross-compile matrix: one task per artifact (parallel under -n), then SHA256SUMS."""
    args = [env, specs["root"], specs["profile"]]
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
        deps = yield from _inputs(specs, spec, "dist", spec["name"], args)
        yield {
            "basename": "dist",
            "name": spec["name"],
            "doc": f"build {spec['package']} for {spec['target']}",
            "actions": [(action, ["dist_one", *args, spec])],
            **deps,
            "targets": [spec["output"]],
            "task_dep": ["toolchain", "dist:platforms"],
            "uptodate": [_built_from(specs, spec)],
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


def generate_task(specs: Spec, env: Environment) -> Task:
    """Render the Makefile from gobuild.toml and gobuild.lock."""
    return {
        "basename": "generate",
        "doc": "write Dockerfile, .dockerignore and Makefile from gobuild.toml and gobuild.lock",
        "actions": [(action, ["generate_files", env, specs["root"], specs["profile"]])],
        "file_dep": specs["config_files"],
        "targets": specs["generated"],
        "task_dep": ["toolchain"],
        "verbosity": 2,
    }


CHECK_KINDS: dict[str, tuple[CheckKind, ...]] = {
    "test": ("test",),
    "lint": ("lint",),
    "bench": ("bench",),
    "check": DEFAULT_CHECK_KINDS,
}
_CHECK_DOCS = {
    "test": "go test -json within the CPU/memory budget (reports in .gobuild/checks/)",
    "lint": "go vet, gofmt and configured linters, each a unit within the budget",
    "bench": "go test -bench, alone on the machine; results kept for gobuild bench compare",
    "check": "test and lint concurrently within the budget",
}


def checks_action(  # noqa: PLR0917 - doit passes the parameters by position and name
    kinds: list[CheckKind],
    env: Environment,
    root: str,
    profile: str | None,
    cpus: str = "",
    memory: str = "",
    enforcement: str = "",
) -> Any:
    """doit passes the task's --cpus/--memory/--enforcement by parameter name."""
    return action("run_checks", env, root, profile, kinds, cpus, memory, enforcement)


def check_task(specs: Spec, env: Environment, name: str) -> Task:
    """test, lint, bench or check: one scheduler run over the kind's units."""
    kinds = CHECK_KINDS[name]
    return {
        "basename": name,
        "doc": _CHECK_DOCS[name],
        "actions": [(checks_action, [list(kinds), env, specs["root"], specs["profile"]])],
        "task_dep": ["toolchain"],
        "uptodate": [False],
        "verbosity": 2,
        "params": [
            PROFILE_PARAM,
            options.CPUS.doit_param(),
            options.MEMORY.doit_param(),
            options.ENFORCEMENT.doit_param(),
        ],
    }


def _switch(name: str, text: str) -> dict[str, Any]:
    """A ``--name`` flag of a task (doit passes it to the action by that name)."""
    return {"name": name, "long": name, "type": bool, "default": False, "help": text}


SNAPSHOT_PARAM = _switch(
    "snapshot",
    "release any tree (untagged, uncommitted changes), marked a snapshot",
)


def release_action(env: Environment, root: str, profile: str | None, snapshot: bool) -> Any:
    """doit passes the task's --snapshot by parameter name."""
    return action("make_release", env, root, profile, snapshot)


def release_task(specs: Spec, env: Environment) -> Task:
    """Archive the dist binaries, SHA256SUMS and the release record into dist/release."""
    return {
        "basename": "release",
        "doc": "archives of every dist binary, SHA256SUMS and release.json in dist/release "
        "(a clean, tagged tree; --snapshot for any)",
        "actions": [(release_action, [env, specs["root"], specs["profile"]])],
        "task_dep": ["dist"],
        "uptodate": [False],  # cheap, and it checks the tree's state every time
        "verbosity": 2,
        "params": [PROFILE_PARAM, SNAPSHOT_PARAM],
    }


FORCE_PARAM = _switch(
    "force",
    "move the version's tag when it already points to other content",
)


def publish_action(env: Environment, root: str, profile: str | None, force: bool) -> Any:
    """doit passes the task's --force by parameter name."""
    return action("publish_release", env, root, profile, force)


def publish_task(specs: Spec, env: Environment) -> Task:
    """Push dist/release's image index, with its SBOMs and provenance, to the registry."""
    return {
        "basename": "publish",
        "doc": "push dist/release's image to [release] repository, SBOMs and provenance "
        "attached (--force moves an existing tag)",
        "actions": [(publish_action, [env, specs["root"], specs["profile"]])],
        "uptodate": [False],  # the registry, not doit, knows what it holds
        "verbosity": 2,
        "params": [PROFILE_PARAM, FORCE_PARAM],
    }


RELEASED_PARAM = _switch(
    "released",
    "build from the release Dockerfile: the dist binary for the engine's platform "
    "(run doit dist first)",
)


def image_action(env: Environment, root: str, profile: str | None, released: bool) -> Any:
    """doit passes the task's --released by parameter name."""
    return action("make_image", env, root, profile, released)


def image_task(specs: Spec, env: Environment) -> Task:
    """Build the image from the generated Dockerfile on the Docker engine and check it."""
    return {
        "basename": "image",
        "doc": "build the image (BuildKit), then check labels, USER, a smoke run and the "
        "binary (--released: from the dist binary, through the release Dockerfile)",
        "actions": [(image_action, [env, specs["root"], specs["profile"]])],
        "uptodate": [False],  # BuildKit's own cache decides what is rebuilt
        "verbosity": 2,
        "params": [PROFILE_PARAM, RELEASED_PARAM],
    }


def verify_task(specs: Spec, env: Environment) -> Task:
    """Rebuild dist/ from a fresh copy of the tree and compare bit for bit."""
    return {
        "basename": "verify",
        "doc": "rebuild dist/ from a fresh copy and compare with dist/ and SHA256SUMS",
        "actions": [(action, ["verify_dist", env, specs["root"], specs["profile"]])],
        "task_dep": ["toolchain"],
        "uptodate": [False],
        "verbosity": 2,
        "params": [PROFILE_PARAM],
    }

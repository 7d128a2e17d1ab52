"""Remembered answers: ``gobuild toolchain install``'s and ``gobuild check``'s plan.

A repeat install of an installed toolchain (CI scripts and Makefiles run it
before every build) should cost no more than starting Python. Loading the
configuration imports and builds its schema, which takes several times as
long, so the answer of the last successful run is kept in the state
directory under a stamp (:mod:`gobuild.stamps`) of everything it depends on:
go.mod, gobuild.toml and gobuild.lock, the environment variables
configuration reads, gobuild's own code, and the toolchain's completion
marker. Any change to one of them, or a removed toolchain, sends the command
down the full path again.

``gobuild check`` keeps its plan (the units, budget and GOROOT; see
:class:`gobuild.checks.plan.CheckPlan`) the same way, stamped with every file of
the module (packages and go files are part of the plan), the command's
arguments and the host's CPUs and memory as well. Standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from gobuild import stamps
from gobuild.project import workspace
from gobuild.project.environ import Environment
from gobuild.project.layout import CONFIG_NAME, LOCK_NAME, state_dir

NAME = "toolchain.json"  # in the state directory
_FORMAT = "toolchain-memo 2"
_CHECKS_FORMAT = "checks-memo 2"


def lookup(start: Path, environ: Environment) -> dict[str, Any] | None:
    """The remembered result (``InstallResult.as_json()``) for the project at or above
    ``start``, if everything it depends on is unchanged; else None."""
    root = workspace.find_root(start)
    if root is None:
        return None
    result = _recall(state_dir(root) / NAME, lambda: _stamp(start, root, environ))
    try:
        if result is None or not (Path(result["goroot"]) / "bin" / "go").is_file():
            return None
    except (KeyError, TypeError):
        return None
    return result


def remember(
    start: Path, root: Path, environ: Environment, result: Mapping[str, Any], marker: Path
) -> None:
    """Keep ``result`` (a cached install's JSON) for :func:`lookup`; best effort."""
    value = {**result, "cached": True, "timings": {}, "notices": []}
    _keep(state_dir(root) / NAME, _stamp(start, root, environ), marker, value)


def lookup_checks(start: Path, environ: Environment, args: Sequence[str]) -> dict[str, Any] | None:
    """The remembered check plan (``CheckPlan.to_json()``) for ``args`` in the project at
    or above ``start``, if nothing it depends on changed; else None."""
    root = workspace.find_root(start)
    if root is None:
        return None
    return _recall(
        state_dir(root) / _checks_name(args), lambda: _checks_stamp(start, root, environ, args)
    )


def checks_key(kinds: Sequence[str], *options: object) -> list[str]:
    """The argument set a check plan is remembered for: the kinds and each option's value
    (the front ends pass the same options in the same order, so they share plans)."""
    return [",".join(kinds), *(str(o) for o in options)]


def recall_checks(
    start: Path,
    environ: Environment,
    args: Sequence[str],
    plan: Callable[[], tuple[Path, Mapping[str, Any]]],
    usable: Callable[[Mapping[str, Any]], bool] = lambda _: True,
) -> dict[str, Any]:
    """The remembered plan for ``args`` (:func:`lookup_checks`) if ``usable``, else
    ``plan()``'s (the project root and the plan's JSON), remembered for next time."""
    found = lookup_checks(start, environ, args)
    if found is not None and usable(found):
        return found
    root, value = plan()
    remember_checks(start, root, environ, args, value)
    return dict(value)


def remember_checks(
    start: Path,
    root: Path,
    environ: Environment,
    args: Sequence[str],
    plan: Mapping[str, Any],
) -> None:
    """Keep ``plan`` (whose ``marker`` is the toolchain's) for :func:`lookup_checks`."""
    stamp = _checks_stamp(start, root, environ, args)
    _keep(state_dir(root) / _checks_name(args), stamp, Path(plan["marker"]), dict(plan))


def _recall(path: Path, stamp: Callable[[], str]) -> dict[str, Any] | None:
    """The value kept in ``path`` if its stamp still holds and its marker is unchanged."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["stamp"] != stamp() or data["marker"] != stamps.file(Path(data["marker_path"])):
            return None
        value = data["value"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return dict(value) if isinstance(value, dict) else None


def _keep(path: Path, stamp: str, marker: Path, value: Mapping[str, Any]) -> None:
    """Write what :func:`_recall` reads; best effort (a read-only checkout just
    takes the full path every time)."""
    from gobuild import atomic  # noqa: PLC0415 - writing is the slow path's business

    data = {"stamp": stamp, "marker_path": str(marker), "marker": stamps.file(marker)}
    try:
        path.parent.mkdir(exist_ok=True)
        atomic.write_text(path, json.dumps({**data, "value": value}) + "\n", durable=False)
    except OSError:
        pass


def _stamp(start: Path, root: Path, environ: Environment) -> str:
    return stamps.digest(
        [
            f"{_FORMAT}\0{start}\0{root}",
            environ.stamp(),
            *stamps.code(),
            *(stamps.file(root / name) for name in ("go.mod", "go.work", CONFIG_NAME, LOCK_NAME)),
            *(stamps.file(p) for p in workspace.decided_by(root)),
        ]
    )


def _checks_name(args: Sequence[str]) -> str:
    """One file per argument set: `check` and `check --cpus 1` each keep their plan."""
    return f"checks-plan.{stamps.digest(args)[:16]}.json"


def _checks_stamp(start: Path, root: Path, environ: Environment, args: Sequence[str]) -> str:
    from gobuild.checks.budget import Host  # noqa: PLC0415 - checks only

    host = Host.measure()
    return stamps.digest(
        [
            f"{_CHECKS_FORMAT}\0{start}\0{root}\0{json.dumps(list(args))}",
            f"host {host.cpus} {host.memory}",
            environ.stamp(),
            *stamps.code(),
            *stamps.tree(root, {root / ".git", state_dir(root)}),
            *(stamps.file(p) for p in workspace.decided_by(root)),
        ]
    )

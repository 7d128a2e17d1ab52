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
:class:`gobuild.checkjob.CheckPlan`) the same way, stamped with every file of
the module (packages and go files are part of the plan), the command's
arguments and the host's CPUs and memory as well. Standard library only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gobuild import gomod, stamps

NAME = "toolchain.json"  # in the state directory
_FORMAT = "toolchain-memo 1"
_CHECKS_FORMAT = "checks-memo 1"


def lookup(start: Path, environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The remembered result (``InstallResult.as_json()``) for the project at or above
    ``start``, if everything it depends on is unchanged; else None."""
    try:
        root = gomod.find_module_root(start)
        if root is None:
            return None
        data = json.loads((root / ".gobuild" / NAME).read_text(encoding="utf-8"))
        result = data["result"]
        if data["stamp"] != _stamp(start, root, environ):
            return None
        if data["marker"] != stamps.file(Path(data["marker_path"])):
            return None
        if not (Path(result["goroot"]) / "bin" / "go").is_file():
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return dict(result)


def remember(
    start: Path, root: Path, environ: Mapping[str, str], result: Mapping[str, Any], marker: Path
) -> None:
    """Keep ``result`` (a cached install's JSON) for :func:`lookup`; best effort."""
    from gobuild import atomic  # noqa: PLC0415 - writing is the slow path's business

    data = {
        "stamp": _stamp(start, root, environ),
        "marker_path": str(marker),
        "marker": stamps.file(marker),
        "result": {**result, "cached": True, "timings": {}, "notices": []},
    }
    try:
        (root / ".gobuild").mkdir(exist_ok=True)
        atomic.write_text(root / ".gobuild" / NAME, json.dumps(data) + "\n", durable=False)
    except OSError:
        pass  # a read-only checkout: every run takes the full path


def _stamp(start: Path, root: Path, environ: Mapping[str, str]) -> str:
    return stamps.digest(
        [
            f"{_FORMAT}\0{start}\0{root}",
            stamps.environment(environ),
            *stamps.code(),
            *(stamps.file(root / name) for name in ("go.mod", "gobuild.toml", "gobuild.lock")),
        ]
    )


def lookup_checks(
    start: Path, environ: Mapping[str, str], args: Sequence[str]
) -> dict[str, Any] | None:
    """The remembered check plan (``CheckPlan.to_json()``) for ``args`` in the project at
    or above ``start``, if nothing it depends on changed; else None."""
    try:
        root = gomod.find_module_root(start)
        if root is None:
            return None
        data = json.loads((root / ".gobuild" / _checks_name(args)).read_text(encoding="utf-8"))
        plan = data["plan"]
        if data["stamp"] != _checks_stamp(start, root, environ, args):
            return None
        if data["marker"] != stamps.file(Path(plan["marker"])):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return dict(plan)


def remember_checks(
    start: Path,
    root: Path,
    environ: Mapping[str, str],
    args: Sequence[str],
    plan: Mapping[str, Any],
) -> None:
    """Keep ``plan`` for :func:`lookup_checks`; best effort."""
    from gobuild import atomic  # noqa: PLC0415 - writing is the slow path's business

    data = {
        "stamp": _checks_stamp(start, root, environ, args),
        "marker": stamps.file(Path(plan["marker"])),
        "plan": dict(plan),
    }
    try:
        (root / ".gobuild").mkdir(exist_ok=True)
        path = root / ".gobuild" / _checks_name(args)
        atomic.write_text(path, json.dumps(data) + "\n", durable=False)
    except OSError:
        pass


def _checks_name(args: Sequence[str]) -> str:
    """One file per argument set: `check` and `check --cpus 1` each keep their plan."""
    return f"checks-plan.{stamps.digest(args)[:16]}.json"


def _checks_stamp(start: Path, root: Path, environ: Mapping[str, str], args: Sequence[str]) -> str:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return stamps.digest(
        [
            f"{_CHECKS_FORMAT}\0{start}\0{root}\0{json.dumps(list(args))}",
            f"host {cpus} {memory}",
            stamps.environment(environ),
            *stamps.code(),
            *stamps.tree(root, {root / ".git", root / ".gobuild"}),
        ]
    )

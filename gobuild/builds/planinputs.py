"""Every build plan's inputs: go list's answer with the pinned Go, remembered under a stamp.

With the pinned Go installed, each plan's inputs are what :mod:`.golist` says its build
reads, listed with the plan's own flags and environment (so a dist target gets its
GOOS/GOARCH's files). Plans built the same way share one go list run. Each answer is
remembered in the state directory (``inputs.json``) under the go command, the flags,
the packages and the variables that choose files, and is used again while its
:class:`~gobuild.builds.golist.Watch` stamp holds: describing the tasks again after an
edit outside the packages (a README, gobuild.toml) or inside a function runs no go list.

Before the pinned Go is installed (doit describes the tasks before its ``toolchain``
task runs), the inputs come from the file finder (:mod:`.inputs`) and say so:
:data:`NO_GO`. Whoever remembers them must describe again once that Go is there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gobuild import atomic, stamps
from gobuild.builds import golist
from gobuild.builds.inputs import build_inputs
from gobuild.builds.plan import BuildPlan
from gobuild.builds.shapes import Shapes
from gobuild.errors import GobuildError
from gobuild.project import platforms
from gobuild.project.config import Project
from gobuild.toolchain.cache import Installed, find

MEMO_NAME = "inputs.json"
MEMO_FORMAT = 3
MEMO_ENTRIES = 32  # answers kept for other profiles, tags and targets
# Variables that change which packages and files go list picks (beside GO*).
_CHOOSERS = ("CC", "CXX", "CGO_ENABLED")

Source = Literal["go list", "no go", "go list failed"]
GO_LIST: Source = "go list"  # exact: every plan listed, every answer complete
NO_GO: Source = "no go"  # the finder's: the pinned Go is not installed yet
FAILED: Source = "go list failed"  # the finder's and go list's: an error to fix first


@dataclass(frozen=True)
class PlanInputs:
    """Input file lists (each once) and, per plan, which list is its own."""

    sets: list[list[str]]
    index: list[int]  # plans[i]'s inputs are sets[index[i]]
    source: Source

    def of(self, i: int) -> list[str]:
        """The inputs of the ``i``-th plan."""
        return self.sets[self.index[i]]


def plan_inputs(project: Project, plans: Sequence[BuildPlan]) -> PlanInputs:
    """The inputs of each of ``plans`` (see the module docstring)."""
    if not plans:
        return PlanInputs([], [], GO_LIST)
    installed = installed_go(project)
    if installed is None:
        return _shared(project, plans, NO_GO)
    memo = _Memo(project.state_dir / MEMO_NAME)
    groups: dict[str, list[int]] = {}
    for i, plan in enumerate(plans):
        groups.setdefault(_context(project, installed, plan), []).append(i)
    keys = {
        context: stamps.digest([context, *sorted({plans[i].module_package for i in members})])
        for context, members in groups.items()
    }
    answers = {context: memo.get(keys[context]) for context in groups}
    missing = [context for context, found in answers.items() if found is None]

    def listed(context: str) -> golist.Listing | None:
        members = groups[context]
        plan = plans[members[0]]
        return golist.run(
            installed.go,
            installed.version,
            plan.flags,
            sorted({plans[i].module_package for i in members}),
            root=project.root,
            env=plan.environ(installed.goroot, project.env.variables),
            module=project.root / plan.module_dir,
        )

    with ThreadPoolExecutor(max_workers=max(1, min(len(missing), 4))) as pool:
        fresh = dict(zip(missing, pool.map(listed, missing), strict=True))
    if any(found is None for found in fresh.values()):
        return _shared(project, plans, FAILED)
    for context, found in fresh.items():
        assert found is not None
        answers[context] = found
        if found.complete:
            memo.put(keys[context], found)
    memo.save(list(keys.values()))
    complete = all(a is not None and a.complete for a in answers.values())
    extra = _finder(project) if not complete else []
    lists: list[list[str]] = [[] for _ in plans]
    for context, members in groups.items():
        answer = answers[context]
        assert answer is not None
        for i in members:
            lists[i] = sorted({*answer.inputs.get(plans[i].module_package, ()), *extra})
    return _deduplicated(lists, GO_LIST if complete else FAILED)


def installed_go(project: Project) -> Installed | None:
    """The pinned Go if it is installed (offline: the cache and gobuild.lock)."""
    try:
        return find(
            project.cache_dir, project.go_pin().request, platforms.host(), project.lock_file
        )
    except GobuildError:
        return None  # the toolchain task will report it


def _context(project: Project, installed: Installed, plan: BuildPlan) -> str:
    """What chooses go list's answer for ``plan``, besides the files: the go command, the
    flags and the variables that pick packages and files."""
    environ = plan.environ(installed.goroot, project.env.variables)
    # The host build is its platform's dist build: one go list answers both.
    environ.setdefault("GOOS", installed.platform.goos)
    environ.setdefault("GOARCH", installed.platform.goarch)
    env = sorted((k, v) for k, v in environ.items() if k.startswith("GO") or k in _CHOOSERS)
    return stamps.digest(
        [
            f"inputs {MEMO_FORMAT}",
            str(installed.goroot),
            str(installed.version),
            json.dumps(list(plan.flags)),
            json.dumps(env),
            plan.module_dir,
        ]
    )


def _finder(project: Project) -> list[str]:
    found = build_inputs(project.root, (project.out_dir, project.state_dir))
    return [str(p) for p in found]


def _shared(project: Project, plans: Sequence[BuildPlan], source: Source) -> PlanInputs:
    return PlanInputs([_finder(project)], [0] * len(plans), source)


def _deduplicated(lists: Iterable[list[str]], source: Source) -> PlanInputs:
    sets: list[list[str]] = []
    seen: dict[tuple[str, ...], int] = {}
    index = []
    for files in lists:
        index.append(seen.setdefault(tuple(files), len(sets)))
        if index[-1] == len(sets):
            sets.append(files)
    return PlanInputs(sets, index, source)


class _Memo:
    """go list's complete answers, each with its watch list and stamp."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, Any] = {}
        self.changed = False
        self.seen: dict[str, list[str]] = {}  # stamp parts, taken once per path
        known: Any = None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") == MEMO_FORMAT and isinstance(data.get("entries"), dict):
                self.entries = data["entries"]
                known = data.get("shapes")
        except (OSError, ValueError, AttributeError):
            pass
        self.shapes = Shapes(known)

    def get(self, key: str) -> golist.Listing | None:
        entry: Any = self.entries.get(key)
        try:
            watch = golist.Watch.from_json(entry["watch"])
            if watch.stamp(self.seen, self.shapes) != entry["stamp"]:
                return None
            inputs = {k: tuple(v) for k, v in entry["inputs"].items()}
        except (TypeError, KeyError, AttributeError):
            return None
        return golist.Listing(inputs, watch, complete=True)

    def put(self, key: str, listing: golist.Listing) -> None:
        self.entries[key] = {
            "stamp": listing.watch.stamp(shapes=self.shapes),
            "watch": listing.watch.as_json(),
            "inputs": {k: list(v) for k, v in listing.inputs.items()},
        }
        self.changed = True

    def save(self, used: Sequence[str]) -> None:
        """Write the answers back when one is new: those just used first, then the others
        as they were (most recent first), up to :data:`MEMO_ENTRIES`; with the shapes of
        the files looked at (when one had to be read)."""
        if not (self.changed or self.shapes.changed):
            return
        order = [*used, *(k for k in self.entries if k not in used)]
        kept = {k: self.entries[k] for k in order[:MEMO_ENTRIES] if k in self.entries}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(
            self.path,
            json.dumps({"format": MEMO_FORMAT, "entries": kept, "shapes": self.shapes.used}),
            durable=False,
        )

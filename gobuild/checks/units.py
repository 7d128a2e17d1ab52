"""The checks' values: a unit's caps, the unit itself, and how it ended.

Plain data shared by the planner (:mod:`.commands`, :mod:`.plan`), the budget, the
limits, the scheduler and the reports, so none of them imports another for a type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from gobuild.project.names import CheckKind, Mechanism

Status = Literal["passed", "failed", "timed out", "over memory limit", "killed", "skipped"]
"""How a unit ended."""
STATUSES: tuple[Status, ...] = get_args(Status)
# A run passes when every unit ended in one of these (a linter not installed is skipped).
PASSING: frozenset[Status] = frozenset({"passed", "skipped"})

OutputKind = Literal["test-json", "test-json-file", "gofmt", "plain", "bench"]
"""How a unit's output is read: ``go test -json`` events (on its stdout, or in its
:func:`events_file` when gotestsum runs the tests), gofmt's file list, text, benchmarks."""


@dataclass(frozen=True)
class Caps:
    """A unit's share: CPUs (may be fractional) and memory in bytes, and its CPU weight
    (cgroup v2's cpu.weight scale: 100 is the default) for when units want more CPU
    together than there is: a test unit outweighs a linter beside it."""

    cpus: float
    memory: int
    weight: int = 100

    def covers(self, other: Caps) -> bool:
        """Whether this asks for at least as much as ``other`` of everything."""
        return self.cpus >= other.cpus and self.memory >= other.memory


@dataclass(frozen=True)
class Unit:
    """One command the scheduler runs within caps."""

    name: str  # test, test:2, lint:vet, bench
    kind: CheckKind
    argv: tuple[str, ...]  # argv[0] is a tool name: go, gofmt, staticcheck, golangci-lint
    caps: Caps
    timeout: float
    exclusive: bool
    env: tuple[tuple[str, str], ...]
    output: OutputKind
    dir: str = "."  # where it runs, relative to the project root: its module's directory

    @property
    def file_stem(self) -> str:
        """The unit's name as a file name (its log, its coverage profile)."""
        return file_stem(self.name)


@dataclass
class Result:
    """How one unit ended, with what it used."""

    name: str
    kind: CheckKind
    status: Status
    returncode: int | None
    wall: float
    cpu: float
    peak_memory: int | None
    mechanism: Mechanism
    start: float
    end: float
    cpus: float
    memory: int
    exclusive: bool
    log: str
    output: str = field(default="", repr=False)
    note: str = ""
    flaky: tuple[str, ...] = ()  # tests that failed, ran again and passed: "pkg Test (…)"

    @property
    def passed(self) -> bool:
        """Whether the unit did not fail the run."""
        return self.status in PASSING


def file_stem(name: str) -> str:
    """A unit name as a file name: ``test:pkg`` → ``test-pkg``."""
    return name.replace(":", "-").replace("/", "_")


def events_file(reports: Path, name: str) -> Path:
    """Where gotestsum writes the ``go test -json`` events of the unit ``name``."""
    return reports / f"{file_stem(name)}.json"


def failures(results: list[Result]) -> list[Result]:
    """The units that failed the run."""
    return [r for r in results if not r.passed]

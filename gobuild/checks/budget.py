"""The budget: the CPUs and memory a check run may use, and each kind's share of it.

Decided here once: the host's default budget (its CPUs and about 75% of its
memory), a run's budget from the command line over gobuild.toml over those
defaults, each kind's caps and timeout, and the Go runtime's share of a unit's
caps (GOMAXPROCS, and GOMEMLIMIT at 90% of the memory cap). Running units take
their caps from the shared :mod:`.ledger`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gobuild.checks.units import Caps
from gobuild.errors import ConfigError
from gobuild.project.names import CheckKind
from gobuild.project.quantities import Memory, parse_duration, parse_size

if TYPE_CHECKING:
    # Types only: a remembered plan runs without loading the configuration.
    from gobuild.project.config import Project
    from gobuild.project.settings import CapsSection

GIB = 1 << 30
# The share of the host's memory a run takes when nothing says otherwise.
HOST_MEMORY_SHARE = 0.75
# GOMEMLIMIT's share of a unit's memory cap: the GC works harder before the kernel
# would have to kill.
GOMEMLIMIT_SHARE = 0.9
# Each kind's CPU weight when overcommitted units contend (cgroup v2's scale, 100 the
# default): go test, usually the longest unit and so the run's critical path, takes the
# CPU it can use; a linter beside it gets what the test leaves idle (compiling one
# package on one core, waiting on a test's timers) but cannot slow it down much.
WEIGHTS: dict[CheckKind, int] = {"test": 100, "lint": 10, "bench": 100}
# (cpus, memory, timeout) when gobuild.toml says nothing; clamped to the budget.
DEFAULTS: dict[CheckKind, tuple[float | None, int | None, float]] = {
    "test": (2.0, 2 * GIB, 600.0),
    "lint": (1.0, 1 * GIB, 300.0),
    "bench": (None, None, 1200.0),
}


@dataclass(frozen=True)
class Budget:
    """The whole run's share of the machine.

    ``overcommit``: running units' CPU caps may add up to ``cpus * overcommit``
    (memory is never overcommitted); the run's total stays at ``cpus``, held by the
    kernel for the whole pool of units (:class:`~.limits.cgroups.Pool`).
    """

    cpus: float
    memory: int
    overcommit: float = 1.0

    @property
    def cpu_caps(self) -> float:
        """How many CPUs the running units' caps may add up to."""
        return self.cpus * self.overcommit


@dataclass(frozen=True)
class Host:
    """What this machine has: the CPUs this process may use and its physical memory."""

    cpus: int
    memory: int

    @classmethod
    def measure(cls) -> Host:
        """This machine, now."""
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            cpus = os.cpu_count() or 1
        return cls(cpus, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))

    def default_budget(self) -> Budget:
        """All of the CPUs and :data:`HOST_MEMORY_SHARE` of the memory."""
        return Budget(cpus=float(self.cpus), memory=int(self.memory * HOST_MEMORY_SHARE))


def resolve_budget(
    project: Project, host: Host, cpus: float | None, memory: Memory | None
) -> Budget:
    """The run's budget: command-line values over gobuild.toml over the host's defaults."""
    checks = project.settings.checks
    default = host.default_budget()
    mem = default.memory
    if memory is None and checks.memory is not None:
        memory, where = Memory.parse(checks.memory), f"{project.config_file}: checks.memory"
    else:
        where = "--memory"
    if memory is not None:
        mem = memory.of(host.memory)
        if mem > host.memory:
            raise ConfigError(
                f"{where}: {memory.text} is more than this host's memory "
                f"({host.memory / GIB:.1f} GiB)"
            )
    c = cpus if cpus is not None else checks.cpus
    return Budget(
        cpus=c if c is not None else default.cpus, memory=mem, overcommit=checks.overcommit
    )


def caps_for(project: Project, kind: CheckKind, budget: Budget) -> tuple[Caps, float]:
    """A kind's caps and timeout: configured (must fit the budget) or defaults (clamped)."""
    section: CapsSection = getattr(project.settings.checks, kind)
    d_cpus, d_mem, d_timeout = DEFAULTS[kind]
    where = f"{project.config_file}: checks.{kind}"
    cpus = section.cpus if section.cpus is not None else min(d_cpus or budget.cpus, budget.cpus)
    memory = (
        parse_size(section.memory) if section.memory else min(d_mem or budget.memory, budget.memory)
    )
    if cpus > budget.cpus + 1e-9:
        raise ConfigError(f"{where}.cpus = {cpus:g} is more than the budget's {budget.cpus:g}")
    if memory > budget.memory:
        raise ConfigError(
            f"{where}.memory = {section.memory} is more than the budget's "
            f"{budget.memory / GIB:.2f} GiB"
        )
    timeout = parse_duration(section.timeout) if section.timeout else d_timeout
    return Caps(cpus=cpus, memory=memory, weight=WEIGHTS[kind]), timeout


def procs(caps: Caps) -> int:
    """GOMAXPROCS, ``go test -p`` and ``-parallel`` for ``caps``."""
    return max(1, math.floor(caps.cpus + 0.5))


def memlimit(memory: int) -> int:
    """GOMEMLIMIT for a memory cap of ``memory`` bytes."""
    return int(memory * GOMEMLIMIT_SHARE)

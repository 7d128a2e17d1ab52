"""What a confinement is: a unit's command, wrapped so its caps hold for its whole tree.

A :class:`Confinement` wraps the command line, knows afterwards whether the memory cap
was hit, reports the peak, and can kill everything it holds, including processes that
left the process group. The mechanisms: :mod:`.cgroups` (v1 and v2), :mod:`.systemd`,
:mod:`.watchdog`, and :class:`Unenforced` where the host offers none of them;
:mod:`.detect` picks the best the host offers.
"""

from __future__ import annotations

import contextlib
import os
import signal

from gobuild.checks.units import Caps
from gobuild.project.names import Mechanism

# A gated command waits for the line "go" on stdin before exec'ing (with /dev/null as
# its stdin); at end of file it exits 125 without having run.
_GATE = 'read -r go && [ "$go" = go ] || exit 125; exec "$@" </dev/null'


class Confinement:
    """The base of every mechanism: no enforcement of its own; it kills the process group."""

    mechanism: Mechanism

    def __init__(self, caps: Caps) -> None:
        self.caps = caps
        self.pgid: int | None = None

    def wrap(self, argv: list[str]) -> list[str]:
        """The command line that runs ``argv`` inside the confinement."""
        return argv

    def started(self, pid: int) -> None:
        """The wrapped command started as ``pid`` (leader of its own process group)."""
        self.pgid = pid

    def exited(self, returncode: int, output: str, stopped: bool) -> None:
        """The command ended (``stopped``: gobuild itself signalled it)."""

    def over_memory(self) -> bool:
        """Whether the memory cap was hit (and the kernel or the watchdog killed for it)."""
        return False

    def peak_memory(self) -> int | None:
        """The highest memory use seen, in bytes, if the mechanism measures it."""
        return None

    def kill_all(self) -> None:
        """SIGKILL everything the task left behind."""
        if self.pgid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pgid, signal.SIGKILL)

    def close(self) -> None:
        """Kill what remains and release the mechanism's resources."""
        self.kill_all()


class Unenforced(Confinement):
    """``none``: nothing holds the caps (macOS, a BSD, or asked for). The unit still gets
    its share through the Go runtime (GOMAXPROCS, GOMEMLIMIT) and ``-p``/``-parallel``,
    its timeout, and its process group killed at the end; its peak is what rusage says."""

    mechanism: Mechanism = "none"


def gate(argv: list[str]) -> list[str]:
    """``argv`` held until the line "go" arrives on its stdin (it exits 125 at end of
    file without running). Wrapped in a confinement, the hold comes after the join:
    ``conf.wrap(gate(argv))``."""
    return ["/bin/sh", "-c", _GATE, "sh", *argv]


def worth_preparing(mechanism: Mechanism) -> bool:
    """Whether a task's confinement is worth setting up ahead of its start.

    Moving a process into a cgroup (v1 or v2, and systemd-run's scope) takes the
    kernel's cgroup_threadgroup_rwsem for writing, which waits for an RCU grace
    period when no move happened recently: ~7-15 ms per task on these machines, for
    a task that does nothing else meanwhile. A task prepared ahead makes that move
    while the tasks before it still run, then waits at its gate (:func:`gate`).
    """
    return mechanism in ("cgroup1", "cgroup2", "systemd-run")

"""The watchdog: where no cgroup can be had, sample the process group's memory and kill
it on breach (memory only: CPUs are left to GOMAXPROCS and ``go test -p``)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from gobuild.checks.limits.confinement import Confinement
from gobuild.checks.units import Caps
from gobuild.project.names import Mechanism

_PAGE = os.sysconf("SC_PAGE_SIZE")


class Watchdog(Confinement):
    """Samples the process group's resident memory; SIGKILLs the group on breach.

    Memory only: CPUs are left to GOMAXPROCS and ``go test -p``.
    """

    mechanism: Mechanism = "watchdog"
    interval = 0.05

    def __init__(self, caps: Caps) -> None:
        super().__init__(caps)
        self.peak = 0
        self.breached = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def started(self, pid: int) -> None:
        super().started(pid)
        self._thread = threading.Thread(target=self._watch, name=f"watchdog-{pid}", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        assert self.pgid is not None
        while not self._stop.wait(self.interval):
            used = sum(_rss(pid) for pid in group_members(self.pgid))
            self.peak = max(self.peak, used)
            if used > self.caps.memory:
                self.breached = True
                self.kill_all()
                return

    def over_memory(self) -> bool:
        return self.breached

    def peak_memory(self) -> int | None:
        return self.peak or None

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        super().close()


def group_members(pgid: int) -> list[int]:
    """Every live process whose process group is ``pgid`` (from /proc)."""
    out = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields follow the last ')'.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(entry.name))
    return out


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0

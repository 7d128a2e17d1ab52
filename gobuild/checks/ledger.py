"""The ledger of running units: one CPU and memory budget shared by every gobuild run in
one project.

doit runs tasks in separate worker processes under ``doit -n N``, and each
test/lint/bench task runs several units itself, so the budget lives in a small
ledger file (``budget.json`` in the state directory) guarded by a file lock. A unit
takes its share only when it fits beside everything already running; an exclusive
unit (a benchmark) only when nothing else runs. CPU caps may add up to the budget's
overcommitted CPUs (:attr:`~.budget.Budget.cpu_caps`), memory caps to its memory.
Entries of processes that died are dropped, so a killed run never holds budget forever.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from filelock import FileLock

from gobuild import atomic
from gobuild.checks.budget import Budget
from gobuild.checks.units import Caps

# Compare with a little slack: 0.1 + 0.2 CPUs must fit in 0.3.
_EPS = 1e-9


class Ledger:
    """The shared record of what runs, in ``state_dir``."""

    def __init__(self, state_dir: Path, budget: Budget) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / "budget.json"
        self.lock = FileLock(str(state_dir / "budget.lock"))
        self.budget = budget
        self._local = threading.Lock()  # FileLock is per-thread reentrant; serialise here

    def _read(self) -> list[dict[str, object]]:
        try:
            entries = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return []
        return [e for e in entries if isinstance(e, dict) and _alive(int(str(e.get("pid", 0))))]

    def try_acquire(self, caps: Caps, exclusive: bool, label: str) -> str | None:
        """Take ``caps`` if they fit now; the entry id, or None."""
        with self._local, self.lock:
            entries = self._read()
            if any(e.get("exclusive") for e in entries):
                return None
            if exclusive and entries:
                return None
            cpus = sum(float(str(e["cpus"])) for e in entries) + caps.cpus
            memory = sum(int(str(e["memory"])) for e in entries) + caps.memory
            if entries and (cpus > self.budget.cpu_caps + _EPS or memory > self.budget.memory):
                return None
            entry_id = os.urandom(16).hex()
            entries.append(
                {
                    "id": entry_id,
                    "pid": os.getpid(),
                    "label": label,
                    "cpus": caps.cpus,
                    "memory": caps.memory,
                    "exclusive": exclusive,
                    "since": time.time(),
                }
            )
            atomic.write_text(self.path, json.dumps(entries), durable=False)
            return entry_id

    def release(self, entry_id: str) -> None:
        """Give an entry's share back."""
        with self._local, self.lock:
            entries = [e for e in self._read() if e.get("id") != entry_id]
            atomic.write_text(self.path, json.dumps(entries), durable=False)

    def version(self) -> tuple[int, int, int] | None:
        """A token that changes whenever the ledger is written (no lock taken), so a
        waiting scheduler can tell cheaply whether trying again could succeed."""
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def running(self) -> list[dict[str, object]]:
        """What holds budget now (for status lines and tests)."""
        with self._local, self.lock:
            return self._read()


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

"""cgroup v1 and v2: directories gobuild creates, joins before exec and removes.

The command joins its cgroups before it execs (a small ``sh`` does it), so every
descendant is inside from its first instruction; the kernel enforces memory and CPU.

A unit's CPU cgroup sits inside its project's :class:`Pool`, whose own quota is the
run's budget: units may then hold caps adding up to more than the budget (one
compiles or waits while another computes) and the kernel still never gives them
more than the budget together.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gobuild.checks.limits.confinement import Confinement
from gobuild.checks.units import Caps
from gobuild.errors import GobuildError
from gobuild.project.names import Mechanism

CGROUP_ROOT = Path("/sys/fs/cgroup")
_PERIOD_US = 100_000
# Joins the cgroups named by the first N arguments, then execs the rest: the command
# is inside its cgroups before its first instruction, so every descendant is too.
_JOIN = (
    'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ >"$1" || exit 126; shift; n=$((n-1)); done; '
    'exec "$@"'
)


def _own_cgroup(controller: str) -> Path | None:
    """This process's cgroup directory for a v1 ``controller`` (or v2 when "")."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, names, path = line.split(":", 2)
        if (controller == "" and names == "") or controller in names.split(","):
            mount = CGROUP_ROOT if controller == "" else _v1_mount(controller)
            if mount is None:
                return None
            return mount / path.lstrip("/")
    return None


def _v1_mount(controller: str) -> Path | None:
    for candidate in (controller, f"{controller},cpuacct", f"cpuacct,{controller}"):
        if (CGROUP_ROOT / candidate / "cgroup.procs").exists():
            return CGROUP_ROOT / candidate
    return None


def _quota_us(caps: Caps) -> int:
    """CPU time per period for ``caps.cpus`` (the kernel's minimum is 1 ms)."""
    return max(1000, int(caps.cpus * _PERIOD_US))


@dataclass(frozen=True)
class Pool:
    """The cgroup every unit of one project's runs shares (``doit -n 2 test lint`` too):
    ``name`` under gobuild's own cgroup, its CPU quota ``cpus``, the budget."""

    name: str
    cpus: float

    @property
    def quota_us(self) -> int:
        """The pool's CPU time per period."""
        return _quota_us(Caps(self.cpus, 0))


def _in_pool(pool: Pool | None, base: Path, name: str, controls: dict[str, str]) -> Path:
    """Make the unit's directory ``name`` in ``pool`` (or directly under ``base``); the
    pool is made if need be and its ``controls`` (re)written: the last run to start sets
    them."""
    if pool is None:
        (base / name).mkdir()
        return base / name
    for _ in range(5):
        parent = base / pool.name
        parent.mkdir(exist_ok=True)
        try:
            for control, value in controls.items():
                (parent / control).write_text(value)
            (parent / name).mkdir()
            return parent / name
        except FileNotFoundError:
            continue  # another run's last unit removed the pool just now: make it again
    raise GobuildError(f"cgroup pool {base / pool.name} keeps vanishing")


def _shares(weight: int) -> int:
    """cgroup v1's cpu.shares for a cpu.weight (1024 is v1's default, as 100 is v2's)."""
    return max(2, min(262_144, weight * 1024 // 100))


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return None


def _oom_kills(path: Path) -> int:
    """The ``oom_kill N`` counter of memory.oom_control (v1) or memory.events (v2)."""
    try:
        text = path.read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill" and value.strip().isdigit():
            return int(value)
    return 0


def _pids(procs_file: Path) -> list[int]:
    try:
        return [int(p) for p in procs_file.read_text().split()]
    except (OSError, ValueError):
        return []


class _Cgroups(Confinement):
    """Shared by cgroup v1 and v2: directories we create, join and remove."""

    def __init__(
        self, caps: Caps, dirs: list[Path], memory_dir: Path, pool_dir: Path | None = None
    ) -> None:
        super().__init__(caps)
        self.dirs = dirs
        self.memory_dir = memory_dir
        self.pool_dir = pool_dir

    def wrap(self, argv: list[str]) -> list[str]:
        procs = [str(d / "cgroup.procs") for d in self.dirs]
        return ["/bin/sh", "-c", _JOIN, "sh", str(len(procs)), *procs, *argv]

    def kill_all(self) -> None:
        super().kill_all()
        for _ in range(100):
            pids = _pids(self.memory_dir / "cgroup.procs")
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)

    @contextlib.contextmanager
    def _removed_on_error(self) -> Iterator[None]:
        """Setting the limits failed: leave no empty cgroups behind."""
        try:
            yield
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self.kill_all()
        for d in self.dirs:
            for _ in range(50):  # the kernel frees a cgroup a moment after its last task
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
        if self.pool_dir is not None:
            # The pool goes with its last unit; another run's units keep it (EBUSY).
            with contextlib.suppress(OSError):
                self.pool_dir.rmdir()


class CgroupV1(_Cgroups):
    """cgroup v1 (needs root): memory.limit_in_bytes and the CFS quota."""

    mechanism: Mechanism = "cgroup1"

    @classmethod
    def create(cls, caps: Caps, name: str, pool: Pool | None = None) -> CgroupV1:
        mem_base, cpu_base = _own_cgroup("memory"), _own_cgroup("cpu")
        if mem_base is None or cpu_base is None:
            raise GobuildError("cgroup v1 memory and cpu controllers are not mounted")
        # Memory is never overcommitted: only the CPU cgroup goes into the pool.
        mem = mem_base / name
        mem.mkdir()
        try:
            controls = (
                {"cpu.cfs_period_us": str(_PERIOD_US), "cpu.cfs_quota_us": str(pool.quota_us)}
                if pool
                else {}
            )
            cpu = _in_pool(pool, cpu_base, name, controls)
        except (OSError, GobuildError):
            mem.rmdir()
            raise
        self = cls(caps, [mem, cpu], mem, cpu.parent if pool else None)
        with self._removed_on_error():
            (mem / "memory.limit_in_bytes").write_text(str(caps.memory))
            swap = mem / "memory.memsw.limit_in_bytes"
            if swap.exists():  # no escaping the cap into swap
                with contextlib.suppress(OSError):
                    swap.write_text(str(caps.memory))
            (cpu / "cpu.cfs_period_us").write_text(str(_PERIOD_US))
            (cpu / "cpu.cfs_quota_us").write_text(str(_quota_us(caps)))
            (cpu / "cpu.shares").write_text(str(_shares(caps.weight)))
        return self

    def over_memory(self) -> bool:
        return _oom_kills(self.memory_dir / "memory.oom_control") > 0

    def peak_memory(self) -> int | None:
        return _read_int(self.memory_dir / "memory.max_usage_in_bytes")


class CgroupV2(_Cgroups):
    """A delegated cgroup v2 subtree: memory.max and cpu.max."""

    mechanism: Mechanism = "cgroup2"

    @classmethod
    def create(cls, caps: Caps, name: str, pool: Pool | None = None) -> CgroupV2:
        base = _own_cgroup("")
        if base is None or not (base / "cgroup.subtree_control").exists():
            raise GobuildError("no cgroup v2 hierarchy")
        enabled = (base / "cgroup.subtree_control").read_text().split()
        for controller in ("memory", "cpu"):
            if controller not in enabled:
                (base / "cgroup.subtree_control").write_text(f"+{controller}")
        controls = (
            {"cgroup.subtree_control": "+memory +cpu", "cpu.max": f"{pool.quota_us} {_PERIOD_US}"}
            if pool
            else {}
        )
        d = _in_pool(pool, base, name, controls)
        self = cls(caps, [d], d, d.parent if pool else None)
        with self._removed_on_error():
            (d / "memory.max").write_text(str(caps.memory))
            swap = d / "memory.swap.max"
            if swap.exists():
                with contextlib.suppress(OSError):
                    swap.write_text("0")
            (d / "cpu.max").write_text(f"{_quota_us(caps)} {_PERIOD_US}")
            (d / "cpu.weight").write_text(str(max(1, min(10_000, caps.weight))))
        return self

    def over_memory(self) -> bool:
        return _oom_kills(self.memory_dir / "memory.events") > 0

    def peak_memory(self) -> int | None:
        return _read_int(self.memory_dir / "memory.peak")

"""Enforcing a task's CPU and memory caps on its whole process tree.

The best mechanism the host offers is detected at run time: a delegated
cgroup v2 subtree, ``systemd-run --user --scope``, cgroup v1 when running as
root, and everywhere a watchdog that samples the process group's memory and
kills it on breach. Never RLIMIT_AS: the Go runtime reserves far more address
space than it uses and would not start. A :class:`Confinement` wraps the
command line, knows afterwards whether the memory cap was hit, reports the
peak, and can kill everything it holds, including processes that left the
process group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gobuild import proc
from gobuild.errors import GobuildError

CGROUP_ROOT = Path("/sys/fs/cgroup")
_PAGE = os.sysconf("SC_PAGE_SIZE")
_PERIOD_US = 100_000
# Joins the cgroups named by the first N arguments, then execs the rest: the command
# is inside its cgroups before its first instruction, so every descendant is too.
_JOIN = (
    'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ >"$1" || exit 126; shift; n=$((n-1)); done; '
    'exec "$@"'
)
# A gated command waits for the line "go" on stdin before exec'ing (with /dev/null as
# its stdin); at end of file it exits 125 without having run.
_GATE = 'read -r go && [ "$go" = go ] || exit 125; exec "$@" </dev/null'


@dataclass(frozen=True)
class Caps:
    """A task's share: CPUs (may be fractional) and memory in bytes."""

    cpus: float
    memory: int


class Confinement:
    """No enforcement beyond what subclasses add; the base kills the process group."""

    mechanism = "none"

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

    def __init__(self, caps: Caps, dirs: list[Path], memory_dir: Path) -> None:
        super().__init__(caps)
        self.dirs = dirs
        self.memory_dir = memory_dir

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


class CgroupV1(_Cgroups):
    """cgroup v1 (needs root): memory.limit_in_bytes and the CFS quota."""

    mechanism = "cgroup1"

    @classmethod
    def create(cls, caps: Caps, name: str) -> CgroupV1:
        mem_base, cpu_base = _own_cgroup("memory"), _own_cgroup("cpu")
        if mem_base is None or cpu_base is None:
            raise GobuildError("cgroup v1 memory and cpu controllers are not mounted")
        mem, cpu = mem_base / name, cpu_base / name
        mem.mkdir()
        try:
            cpu.mkdir()
        except OSError:
            mem.rmdir()
            raise
        self = cls(caps, [mem, cpu], mem)
        with self._removed_on_error():
            (mem / "memory.limit_in_bytes").write_text(str(caps.memory))
            swap = mem / "memory.memsw.limit_in_bytes"
            if swap.exists():  # no escaping the cap into swap
                with contextlib.suppress(OSError):
                    swap.write_text(str(caps.memory))
            (cpu / "cpu.cfs_period_us").write_text(str(_PERIOD_US))
            (cpu / "cpu.cfs_quota_us").write_text(str(_quota_us(caps)))
        return self

    def over_memory(self) -> bool:
        return _oom_kills(self.memory_dir / "memory.oom_control") > 0

    def peak_memory(self) -> int | None:
        return _read_int(self.memory_dir / "memory.max_usage_in_bytes")


class CgroupV2(_Cgroups):
    """A delegated cgroup v2 subtree: memory.max and cpu.max."""

    mechanism = "cgroup2"

    @classmethod
    def create(cls, caps: Caps, name: str) -> CgroupV2:
        base = _own_cgroup("")
        if base is None or not (base / "cgroup.subtree_control").exists():
            raise GobuildError("no cgroup v2 hierarchy")
        enabled = (base / "cgroup.subtree_control").read_text().split()
        for controller in ("memory", "cpu"):
            if controller not in enabled:
                (base / "cgroup.subtree_control").write_text(f"+{controller}")
        d = base / name
        d.mkdir()
        self = cls(caps, [d], d)
        with self._removed_on_error():
            (d / "memory.max").write_text(str(caps.memory))
            swap = d / "memory.swap.max"
            if swap.exists():
                with contextlib.suppress(OSError):
                    swap.write_text("0")
            (d / "cpu.max").write_text(f"{_quota_us(caps)} {_PERIOD_US}")
        return self

    def over_memory(self) -> bool:
        return _oom_kills(self.memory_dir / "memory.events") > 0

    def peak_memory(self) -> int | None:
        return _read_int(self.memory_dir / "memory.peak")


class SystemdScope(Confinement):
    """``systemd-run --user --scope``: systemd makes and removes the cgroup."""

    mechanism = "systemd-run"

    def __init__(self, caps: Caps, name: str) -> None:
        super().__init__(caps)
        self.unit = f"{name}.scope"
        self.killed_by_kernel = False

    def wrap(self, argv: list[str]) -> list[str]:
        return [
            "systemd-run", "--user", "--scope", "--quiet", "--collect",
            f"--unit={self.unit}",
            "-p", f"MemoryMax={self.caps.memory}",
            "-p", "MemorySwapMax=0",
            "-p", f"CPUQuota={max(1, round(self.caps.cpus * 100))}%",
            "--", *argv,
        ]  # fmt: skip

    def exited(self, returncode: int, output: str, stopped: bool) -> None:
        killed = returncode == -signal.SIGKILL or "signal: killed" in output
        self.killed_by_kernel = killed and not stopped

    def over_memory(self) -> bool:
        # The scope is collected on exit, so its counters are gone; the kernel's OOM
        # killer shows as processes dead of SIGKILL that gobuild did not send.
        return self.killed_by_kernel


class Watchdog(Confinement):
    """Samples the process group's resident memory; SIGKILLs the group on breach.

    Memory only: CPUs are left to GOMAXPROCS and ``go test -p``.
    """

    mechanism = "watchdog"
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


def gate(argv: list[str]) -> list[str]:
    """``argv`` held until the line "go" arrives on its stdin (it exits 125 at end of
    file without running). Wrapped in a confinement, the hold comes after the join:
    ``conf.wrap(gate(argv))``."""
    return ["/bin/sh", "-c", _GATE, "sh", *argv]


def worth_preparing(mechanism: str) -> bool:
    """Whether a task's confinement is worth setting up ahead of its start.

    Moving a process into a cgroup (v1 or v2, and systemd-run's scope) takes the
    kernel's cgroup_threadgroup_rwsem for writing, which waits for an RCU grace
    period when no move happened recently: ~7-15 ms per task on these machines, for
    a task that does nothing else meanwhile. A task prepared ahead makes that move
    while the tasks before it still run, then waits at its gate (:func:`gate`).
    """
    return mechanism in ("cgroup1", "cgroup2", "systemd-run")


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


def available(mechanism: str) -> str | None:  # noqa: PLR0911 - one reason per case
    """None when ``mechanism`` can be used here, else why not."""
    probe = Caps(cpus=1, memory=64 << 20)
    if mechanism == "watchdog":
        return None if Path("/proc/self/stat").exists() else "no /proc"
    if mechanism == "systemd-run":
        runtime = os.environ.get("XDG_RUNTIME_DIR", "")
        if not os.environ.get("DBUS_SESSION_BUS_ADDRESS") and not (
            runtime and Path(runtime, "bus").exists()
        ):
            return "no user session bus (systemd --user is not running)"
        try:
            res = proc.run(
                ["systemd-run", "--user", "--scope", "--quiet", "--collect", "true"],
                check=False,
                timeout=20,
            )
        except GobuildError as exc:
            return str(exc)
        return None if res.returncode == 0 else (res.stderr.strip().splitlines() or ["failed"])[0]
    if mechanism not in ("cgroup1", "cgroup2"):
        return f"unknown mechanism {mechanism!r}"
    if mechanism == "cgroup1" and os.geteuid() != 0:
        return "cgroup v1 needs root"
    name = f"gobuild-probe-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        made = (
            CgroupV1.create(probe, name) if mechanism == "cgroup1" else CgroupV2.create(probe, name)
        )
        made.close()
    except (OSError, GobuildError) as exc:
        return str(exc)
    return None


def detect(preferred: str = "auto") -> tuple[str, list[str]]:
    """The mechanism to use, and why each better one was passed over."""
    order = ["cgroup2", "systemd-run", "cgroup1", "watchdog"]
    if preferred != "auto":
        why = available(preferred)
        if why is not None:
            raise GobuildError(f"limits: {preferred} cannot be used here: {why}")
        return preferred, []
    skipped: list[str] = []
    for name in order:
        why = available(name)
        if why is None:
            return name, skipped
        skipped.append(f"{name}: {why}")
    raise GobuildError("no way to enforce limits here: " + "; ".join(skipped))


def confine(mechanism: str, caps: Caps, label: str) -> Confinement:
    """A fresh confinement of ``caps`` for one task run."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in label)[:40]
    name = f"gobuild-{os.getpid()}-{safe}-{os.urandom(4).hex()}"
    if mechanism == "cgroup1":
        return CgroupV1.create(caps, name)
    if mechanism == "cgroup2":
        return CgroupV2.create(caps, name)
    if mechanism == "systemd-run":
        return SystemdScope(caps, name)
    return Watchdog(caps)

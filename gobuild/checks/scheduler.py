"""Running test, lint and bench units concurrently within a budget.

Units start in order as their caps fit in the shared :class:`~gobuild.budget.Ledger`
(an exclusive unit waits until nothing else runs, and nothing starts beside
it). Each runs in its own process group inside a
:class:`~gobuild.limits.Confinement`; its output goes to a log file and is
handed back whole, so callers print one block per unit. On timeout, memory
breach, failure or Ctrl-C the unit's whole tree is stopped: SIGTERM to the
group, SIGKILL after the grace period, then everything left in the group or
cgroup — ``go test`` does not kill its tests' children itself.

Where each unit is moved into cgroups, the next unit still waiting for its
share is prepared ahead: its cgroups made and joined, its command held at a
gate (:func:`gobuild.limits.gate`) until the share is granted, so the
kernel's wait for the move overlaps the units before it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gobuild import atomic, proc
from gobuild.checks.budget import Ledger
from gobuild.checks.limits import cgroups as limits
from gobuild.checks.limits.cgroups import Caps
from gobuild.errors import GobuildError


@dataclass
class Result:
    """How one unit ended, with what it used."""

    name: str
    kind: str
    status: str
    returncode: int | None
    wall: float
    cpu: float
    peak_memory: int | None
    mechanism: str
    start: float
    end: float
    cpus: float
    memory: int
    exclusive: bool
    log: str
    output: str = field(default="", repr=False)
    note: str = ""


@dataclass(frozen=True)
class Unit:
    """One command the scheduler runs within caps."""

    name: str  # test, test:2, lint:vet, bench
    kind: str  # test | lint | bench
    argv: tuple[str, ...]  # argv[0] is a tool name: go, gofmt, staticcheck, golangci-lint
    caps: Caps
    timeout: float
    exclusive: bool
    env: tuple[tuple[str, str], ...]
    output: str  # how to read the output: test-json, gofmt, plain, bench


class Listener:
    """Receives scheduling events; the default ignores them."""

    def started(self, unit: Unit) -> None:
        """``unit`` got its share and started."""

    def finished(self, result: Result) -> None:
        """A unit ended; ``result.output`` holds its whole output."""

    def tick(self, running: list[tuple[str, float]], queued: int, done: int) -> None:
        """About ten times a second: running units with elapsed seconds."""


@dataclass
class _Running:
    unit: Unit
    thread: threading.Thread
    started: float
    stop: Callable[[str], None]


def run(
    units: list[Unit],
    *,
    tools: Mapping[str, str],
    root: Path,
    base_env: Mapping[str, str],
    ledger: Ledger,
    mechanism: str,
    reports: Path,
    grace: float = proc.GRACE_SECONDS,
    listener: Listener | None = None,
) -> list[Result]:
    """Run ``units``; ``tools`` maps argv[0] names (go, gofmt…) to executables.

    ``base_env`` is used as given (callers scrub it); each unit's own env goes on top.
    """
    reports.mkdir(parents=True, exist_ok=True)
    context = _Context(tools, root, base_env, mechanism, reports, grace)
    sched = _Scheduler(context, ledger, listener or Listener())
    results = sched.run(units)
    ordered = [results[u.name] for u in units if u.name in results]
    write_summary(reports / "summary.json", ordered)
    return ordered


@dataclass(frozen=True)
class _Context:
    """What every unit's run needs besides the unit."""

    tools: Mapping[str, str]
    root: Path
    base_env: Mapping[str, str]
    mechanism: str
    reports: Path
    grace: float


# How often the scheduler looks at the ledger, and retries regardless of it.
_POLL = 0.05
_RETRY = 1.0


class _Scheduler:
    """Starts units in order as their shares fit; stops them all on Ctrl-C."""

    def __init__(self, context: _Context, ledger: Ledger, listener: Listener) -> None:
        self.context = context
        self.ledger = ledger
        self.listener = listener
        self.results: dict[str, Result] = {}
        self.running: dict[str, _Running] = {}
        # The next unit, its confinement set up ahead and its command held at the gate.
        self.ready: _Runner | None = None
        self.ahead = limits.worth_preparing(context.mechanism)
        self.wake = threading.Event()  # a unit finished: look again now, not at the next poll
        self.lock = threading.Lock()

    def run(self, units: list[Unit]) -> dict[str, Result]:
        pending = list(units)
        seen: tuple[int, int, int] | None = None  # the ledger when a pass last found no room
        last_pass = 0.0
        woken = True
        try:
            while pending or self.running:
                now = time.monotonic()
                # Try again when one of ours finished, when another process (doit -n)
                # wrote the ledger, or after a while (a killed process frees its
                # share without writing it): each try takes the ledger's file lock.
                if woken or self.ledger.version() != seen or now - last_pass >= _RETRY:
                    self._start_what_fits(pending)
                    seen, last_pass = self.ledger.version(), now
                for name, r in list(self.running.items()):
                    if name in self.results or not r.thread.is_alive():
                        r.thread.join()  # it has handed in its result: ends at once
                        del self.running[name]
                ticks = [(n, now - r.started) for n, r in self.running.items()]
                self.listener.tick(ticks, len(pending), len(self.results))
                if pending or self.running:
                    woken = self.wake.wait(_POLL)
                    self.wake.clear()
        except BaseException:
            # Ctrl-C (or a bug): stop every running tree before letting go.
            for r in self.running.values():
                r.stop("killed")
            for r in self.running.values():
                r.thread.join(timeout=self.context.grace + 10)
            raise
        finally:
            if self.ready is not None:
                self.ready.discard()
        return self.results

    def _start_what_fits(self, pending: list[Unit]) -> None:
        refused: list[Caps] = []  # shares the ledger did not grant in this pass
        for unit in list(pending):
            if unit.argv[0] not in self.context.tools:
                pending.remove(unit)
                note = f"{unit.argv[0]} not found"
                self.results[unit.name] = _not_run(unit, self.context.mechanism, "skipped", note)
                self.listener.finished(self.results[unit.name])
                continue
            if not unit.exclusive and any(_covers(unit.caps, c) for c in refused):
                continue  # as much as a share refused a moment ago: no need to ask
            entry = self.ledger.try_acquire(unit.caps, unit.exclusive, unit.name)
            if entry is None:
                if unit.exclusive:
                    break  # keep order: nothing overtakes a waiting exclusive unit
                refused.append(unit.caps)
                continue
            pending.remove(unit)
            if self.ready is not None and self.ready.unit is unit:
                runner, self.ready = self.ready, None
            else:
                runner = _Runner(unit, self.context)
            thread = threading.Thread(
                target=self._body, args=(runner, entry), name=unit.name, daemon=True
            )
            self.running[unit.name] = _Running(unit, thread, time.monotonic(), runner.stop)
            self.listener.started(unit)
            thread.start()
        if self.ahead and self.ready is None and pending:
            self._prepare(pending[0])

    def _prepare(self, unit: Unit) -> None:
        """Set up ``unit``'s confinement while others run (see limits.worth_preparing)."""
        runner = self.ready = _Runner(unit, self.context)  # discarded on the way out
        try:
            runner.prepare()
        except (OSError, GobuildError):
            # It starts the plain way when its turn comes, and fails there if it must.
            self.ready, self.ahead = None, False
            runner.discard()

    def _body(self, runner: _Runner, entry: str) -> None:
        try:
            result = runner.run()
        except (OSError, GobuildError) as exc:
            # The unit could not be set up or started (a cgroup, its log): it failed.
            why = f"could not start: {exc}"
            result = _not_run(runner.unit, self.context.mechanism, "failed", why)
        finally:
            self.ledger.release(entry)
        with self.lock:
            self.results[runner.unit.name] = result
        self.listener.finished(result)
        self.wake.set()


def _covers(caps: Caps, other: Caps) -> bool:
    """Whether ``caps`` asks for at least as much as ``other`` of everything."""
    return caps.cpus >= other.cpus and caps.memory >= other.memory


def _not_run(unit: Unit, mechanism: str, status: str, note: str) -> Result:
    now = time.time()
    return Result(unit.name, unit.kind, status, None, 0.0, 0.0, None, mechanism, now, now,
                  unit.caps.cpus, unit.caps.memory, unit.exclusive, "", "", note)  # fmt: skip


class _Runner:
    """One unit's run: confinement, process, timeout and the verdict."""

    def __init__(self, unit: Unit, context: _Context) -> None:
        self.unit = unit
        self.context = context
        self.log = context.reports / (unit.name.replace(":", "-").replace("/", "_") + ".log")
        self.reason: str | None = None  # "timed out" / "killed", set by whoever stops it
        self.pgid: int | None = None
        self.exited = threading.Event()
        self.conf: limits.Confinement | None = None
        self.child: subprocess.Popen[bytes] | None = None

    def prepare(self) -> None:
        """Set up the confinement and start the command held at its gate, before the
        unit's share is granted: :meth:`run` lets it go, :meth:`discard` ends it."""
        self._spawn(gated=True)

    def discard(self) -> None:
        """A prepared unit that will not run: its held command exits unstarted."""
        if self.child is not None and self.child.stdin is not None:
            self.child.stdin.close()  # end of file at the gate: it exits
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.child.wait(timeout=self.context.grace)
        if self.conf is not None:
            self.conf.close()

    def _spawn(self, gated: bool) -> None:
        unit, ctx = self.unit, self.context
        argv = [ctx.tools[unit.argv[0]], *unit.argv[1:]]
        if gated:  # inside the confinement: joined first, then held
            argv = limits.gate(argv)
        env = {**ctx.base_env, **dict(unit.env)}
        self.conf = limits.confine(ctx.mechanism, unit.caps, unit.name)
        try:
            with self.log.open("wb") as out:  # the child holds its own descriptor
                self.child = proc.spawn(
                    self.conf.wrap(argv), cwd=ctx.root, env=env, output=out, stdin_pipe=gated
                )
        except BaseException:
            self.conf.close()
            raise
        self.conf.started(self.child.pid)

    def stop(self, reason: str) -> None:
        """Stop the unit's whole tree (from another thread): TERM, grace, KILL."""
        if self.reason is None:
            self.reason = reason
        if self.pgid is None:
            return
        proc.signal_group(self.pgid, signal.SIGTERM)
        if not self.exited.wait(self.context.grace):
            proc.signal_group(self.pgid, signal.SIGKILL)
        if self.conf is not None:
            self.conf.kill_all()

    def run(self) -> Result:
        unit = self.unit
        start_wall, start = time.time(), time.monotonic()
        timer = threading.Timer(unit.timeout, self.stop, args=("timed out",))
        try:
            if self.child is None:
                self._spawn(gated=False)
            else:
                self._open_gate()
            assert self.child is not None and self.conf is not None
            self.pgid = self.child.pid
            timer.start()
            code, cpu, maxrss = proc.wait_usage(self.child)
            self.exited.set()
            # Read the cgroup's verdict before it is removed.
            self.conf.kill_all()
            output = self.log.read_text(encoding="utf-8", errors="replace")
            self.conf.exited(code, output, self.reason is not None)
            over, peak = self.conf.over_memory(), self.conf.peak_memory()
        finally:
            timer.cancel()
            if self.conf is not None:
                self.conf.close()  # whatever the tree left behind dies here
        wall = time.monotonic() - start
        status, note = self._verdict(code, output, over)
        return Result(
            name=unit.name, kind=unit.kind, status=status, returncode=code, wall=wall, cpu=cpu,
            peak_memory=peak or maxrss, mechanism=self.conf.mechanism,
            start=start_wall, end=start_wall + wall, cpus=unit.caps.cpus,
            memory=unit.caps.memory, exclusive=unit.exclusive, log=str(self.log),
            output=output, note=note,
        )  # fmt: skip

    def _open_gate(self) -> None:
        assert self.child is not None and self.child.stdin is not None
        # A held command that died meanwhile shows as its exit status (125, or a signal).
        # close() flushes, and closes the pipe even when the flush finds it broken.
        with contextlib.suppress(BrokenPipeError):
            self.child.stdin.write(b"go\n")
            self.child.stdin.close()

    def _verdict(self, code: int, output: str, over: bool) -> tuple[str, str]:
        if self.reason == "timed out" or "panic: test timed out after" in output:
            return "timed out", f"after {self.unit.timeout:g}s"
        if over:
            return "over memory limit", f"cap {self.unit.caps.memory / (1 << 20):.0f} MiB"
        if self.reason == "killed":
            return "killed", "interrupted"
        if code < 0:
            return "killed", f"signal {-code}"
        if self.unit.output == "gofmt" and code == 0 and output.strip():
            return "failed", "gofmt would reformat: " + ", ".join(output.split()[:5])
        return ("passed", "") if code == 0 else ("failed", f"exit {code}")


def write_summary(path: Path, results: list[Result]) -> None:
    """The results as JSON (without the outputs), for tools and tests."""
    data = [{k: v for k, v in asdict(r).items() if k != "output"} for r in results]
    atomic.write_text(path, json.dumps(data, indent=2), durable=False)


def table(results: list[Result]) -> str:
    """The summary table: task, status, wall, CPU, peak memory, mechanism."""
    header = ("task", "status", "wall", "cpu", "peak mem", "mechanism")
    rows = [header] + [
        (r.name, r.status + (f" ({r.note})" if r.note and r.status != "passed" else ""),
         f"{r.wall:.1f}s", f"{r.cpu:.1f}s",
         f"{r.peak_memory / (1 << 20):.0f} MiB" if r.peak_memory else "-", r.mechanism)
        for r in results
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def human_output(result: Result) -> str:
    """A unit's output as a person reads it (``go test -json`` back to text)."""
    if result.kind != "test" or not result.output.lstrip().startswith("{"):
        return result.output
    lines = []
    for line in result.output.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            lines.append(line + "\n")
            continue
        if isinstance(event, dict) and event.get("Action") == "output":
            lines.append(str(event.get("Output", "")))
    return "".join(lines)


def ensure_tools(goroot: Path, wanted: set[str], environ: Mapping[str, str]) -> dict[str, str]:
    """Executables for the tools units name: go and gofmt from the pinned GOROOT,
    linters from PATH (absent ones are skipped with a note)."""
    tools = {"go": str(goroot / "bin" / "go"), "gofmt": str(goroot / "bin" / "gofmt")}
    for name in wanted - tools.keys():
        found = shutil.which(name, path=environ.get("PATH", os.defpath))
        if found:
            tools[name] = found
    for name in ("go", "gofmt"):
        if not Path(tools[name]).exists():
            raise GobuildError(f"{tools[name]} is missing from the pinned Go")
    return tools

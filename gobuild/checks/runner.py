"""One unit's run: its confinement, its process, its timeout and its verdict.

The unit runs in its own process group inside a confinement
(:mod:`~.limits`); its output goes to a log file and is handed back whole. On
timeout, memory breach, failure or Ctrl-C its whole tree is stopped: SIGTERM to the
group, SIGKILL after the grace period, then everything left in the group or cgroup
(``go test`` does not kill its tests' children itself).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gobuild import proc
from gobuild.checks import testevents
from gobuild.checks.limits.cgroups import Pool
from gobuild.checks.limits.confinement import Confinement, gate
from gobuild.checks.limits.detect import confine
from gobuild.checks.units import Result, Status, Unit, events_file
from gobuild.project.names import Mechanism


@dataclass(frozen=True)
class Context:
    """What every unit's run needs besides the unit.

    ``tools`` maps argv[0] names (go, gofmt…) to executables; ``base_env`` is used as
    given (the caller scrubs it) and each unit's own env goes on top. ``pool``: the
    cgroup holding every unit to the budget, where the mechanism has one.
    """

    tools: Mapping[str, str]
    root: Path
    base_env: Mapping[str, str]
    mechanism: Mechanism
    reports: Path
    grace: float
    pool: Pool | None = None


def not_run(unit: Unit, mechanism: Mechanism, status: Status, note: str) -> Result:
    """The result of a unit that never ran (``skipped``, or ``failed`` to start)."""
    now = time.time()
    return Result(unit.name, unit.kind, status, None, 0.0, 0.0, None, mechanism, now, now,
                  unit.caps.cpus, unit.caps.memory, unit.exclusive, "", "", note)  # fmt: skip


class Runner:
    """One unit's run: confinement, process, timeout and the verdict."""

    def __init__(self, unit: Unit, context: Context) -> None:
        self.unit = unit
        self.context = context
        self.log = context.reports / f"{unit.file_stem}.log"
        self.reason: str | None = None  # "timed out" / "killed", set by whoever stops it
        self.pgid: int | None = None
        self.exited = threading.Event()
        self.conf: Confinement | None = None
        self.child: proc.Child | None = None

    def prepare(self) -> None:
        """Set up the confinement and start the command held at its gate, before the
        unit's share is granted: :meth:`run` lets it go, :meth:`discard` ends it."""
        self._spawn(gated=True)

    def discard(self) -> None:
        """A prepared unit that will not run: its held command exits unstarted."""
        if self.child is not None and self.child.stdin is not None:
            self.child.stdin.close()  # end of file at the gate: it exits
            proc.wait(self.child, self.context.grace)
        if self.conf is not None:
            self.conf.close()

    def _spawn(self, gated: bool) -> None:
        unit, ctx = self.unit, self.context
        argv = [ctx.tools[unit.argv[0]], *unit.argv[1:]]
        if gated:  # inside the confinement: joined first, then held
            argv = gate(argv)
        env = {**ctx.base_env, **dict(unit.env)}
        self.conf = confine(ctx.mechanism, unit.caps, unit.name, ctx.pool)
        try:
            with self.log.open("wb") as out:  # the child holds its own descriptor
                self.child = proc.spawn(
                    self.conf.wrap(argv),
                    cwd=ctx.root / unit.dir,
                    env=env,
                    output=out,
                    stdin_pipe=gated,
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
        flaky: tuple[str, ...] = ()
        if unit.output == "test-json-file":
            # gotestsum ran the tests: its log is its own text, the events are in the file.
            events = events_file(self.context.reports, unit.name)
            if events.is_file():
                output = events.read_text(encoding="utf-8", errors="replace")
                flaky = tuple(str(f) for f in testevents.flaky(output))
        status, note = self._verdict(code, output, over)
        if flaky and status == "passed":
            note = f"{len(flaky)} flaky"
        return Result(
            name=unit.name, kind=unit.kind, status=status, returncode=code, wall=wall, cpu=cpu,
            peak_memory=peak or maxrss, mechanism=self.conf.mechanism,
            start=start_wall, end=start_wall + wall, cpus=unit.caps.cpus,
            memory=unit.caps.memory, exclusive=unit.exclusive, log=str(self.log),
            output=output, note=note, flaky=flaky,
        )  # fmt: skip

    def _open_gate(self) -> None:
        assert self.child is not None and self.child.stdin is not None
        # A held command that died meanwhile shows as its exit status (125, or a signal).
        # close() flushes, and closes the pipe even when the flush finds it broken.
        with contextlib.suppress(BrokenPipeError):
            self.child.stdin.write(b"go\n")
            self.child.stdin.close()

    def _verdict(self, code: int, output: str, over: bool) -> tuple[Status, str]:
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

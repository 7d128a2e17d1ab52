"""Running units concurrently within a budget.

Units start in order as their caps fit in the shared :class:`~.ledger.Ledger` (an
exclusive unit waits until nothing else runs, and nothing starts beside it); each runs
in a :class:`~.runner.Runner` on a thread of its own. On Ctrl-C every running tree is
stopped before the interruption goes on.

Where each unit is moved into cgroups, the next unit still waiting for its share is
prepared ahead: its cgroups made and joined, its command held at a gate
(:func:`~.limits.confinement.gate`) until the share is granted, so the kernel's wait
for the move overlaps the units before it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from gobuild.checks.budget import Budget
from gobuild.checks.ledger import Ledger
from gobuild.checks.limits.confinement import worth_preparing
from gobuild.checks.runner import Context, Runner, not_run
from gobuild.checks.units import Caps, Result, Unit
from gobuild.errors import GobuildError
from gobuild.project.names import Mechanism


class Listener:
    """Receives a run's events; the default ignores them (front ends print them)."""

    def begun(self, budget: Budget, mechanism: Mechanism, passed_over: list[str]) -> None:
        """The run starts within ``budget``, its caps enforced by ``mechanism`` (the
        better mechanisms ``passed_over``, each with the reason)."""

    def notice(self, message: str) -> None:
        """A one-line message for the user (a warning, before the units start)."""

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


def run(units: list[Unit], context: Context, ledger: Ledger, listener: Listener) -> list[Result]:
    """Run ``units``, each once its share fits; their results in the units' order."""
    context.reports.mkdir(parents=True, exist_ok=True)
    results = _Scheduler(context, ledger, listener).run(units)
    return [results[u.name] for u in units if u.name in results]


# How often the scheduler looks at the ledger, and retries regardless of it.
_POLL = 0.05
_RETRY = 1.0


class _Scheduler:
    """Starts units in order as their shares fit; stops them all on Ctrl-C."""

    def __init__(self, context: Context, ledger: Ledger, listener: Listener) -> None:
        self.context = context
        self.ledger = ledger
        self.listener = listener
        self.results: dict[str, Result] = {}
        self.running: dict[str, _Running] = {}
        # The next unit, its confinement set up ahead and its command held at the gate.
        self.ready: Runner | None = None
        self.ahead = worth_preparing(context.mechanism)
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
                # Never a pass: the plan names every tool its units run (a missing one
                # stopped the planning in one line), so this is a plan made by hand.
                pending.remove(unit)
                note = f"{unit.argv[0]} not found"
                self.results[unit.name] = not_run(unit, self.context.mechanism, "failed", note)
                self.listener.finished(self.results[unit.name])
                continue
            if not unit.exclusive and any(unit.caps.covers(c) for c in refused):
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
                runner = Runner(unit, self.context)
            thread = threading.Thread(
                target=self._body, args=(runner, entry), name=unit.name, daemon=True
            )
            self.running[unit.name] = _Running(unit, thread, time.monotonic(), runner.stop)
            self.listener.started(unit)
            thread.start()
        if self.ahead and self.ready is None and pending:
            self._prepare(pending[0])

    def _prepare(self, unit: Unit) -> None:
        """Set up ``unit``'s confinement while others run (see worth_preparing)."""
        runner = self.ready = Runner(unit, self.context)  # discarded on the way out
        try:
            runner.prepare()
        except (OSError, GobuildError):
            # It starts the plain way when its turn comes, and fails there if it must.
            self.ready, self.ahead = None, False
            runner.discard()

    def _body(self, runner: Runner, entry: str) -> None:
        try:
            result = runner.run()
        except (OSError, GobuildError) as exc:
            # The unit could not be set up or started (a cgroup, its log): it failed.
            why = f"could not start: {exc}"
            result = not_run(runner.unit, self.context.mechanism, "failed", why)
        finally:
            self.ledger.release(entry)
        with self.lock:
            self.results[runner.unit.name] = result
        self.listener.finished(result)
        self.wake.set()

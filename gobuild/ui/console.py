"""Terminal output for long-running work: notices, progress bars, and a check run as it
happens. Both front ends print through these; the library only reports events.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from gobuild.checks import report
from gobuild.checks.budget import Budget
from gobuild.checks.scheduler import Listener
from gobuild.checks.units import Result, Unit
from gobuild.progress import Reporter, Silent
from gobuild.project.names import Mechanism

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class Notices(Silent):
    """Quiet but for one-line notices (a source fallback, a warning), on ``err``."""

    def __init__(self, err: TextIO) -> None:
        super().__init__()
        self.err = err

    def notice(self, message: str) -> None:
        """Print ``gobuild: MESSAGE``."""
        print(f"gobuild: {message}", file=self.err)


class ProgressBars(Notices):
    """rich progress bars for download and extraction on a terminal."""

    def __init__(self, err: TextIO) -> None:
        # rich only loads on a terminal: every other run starts faster without it.
        from rich.console import Console  # noqa: PLC0415
        from rich.progress import (  # noqa: PLC0415
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        super().__init__(err)
        self.progress: Progress = Progress(
            TextColumn("{task.description:<9}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(file=err),
            transient=True,
        )
        self.task: TaskID | None = None
        self.started = False

    def stage(self, name: str, total: int | None = None) -> None:
        """Start a bar for the stage (hiding the last one)."""
        if not self.started:
            self.progress.start()
            self.started = True
        if self.task is not None:
            self.progress.update(self.task, visible=False)
        self.task = self.progress.add_task(name, total=total)

    def advance(self, amount: int) -> None:
        """Move the current bar."""
        if self.task is not None:
            self.progress.advance(self.task, amount)

    def notice(self, message: str) -> None:
        """Print above the bars."""
        self.progress.console.print(f"gobuild: {message}", markup=False, highlight=False)

    def close(self) -> None:
        """Take the bars off the terminal."""
        if self.started:
            self.progress.stop()


@contextmanager
def reporter(err: TextIO) -> Iterator[Reporter]:
    """Progress bars on a terminal, else notices only; closed on the way out."""
    bars = ProgressBars(err) if err.isatty() else None
    try:
        yield bars or Notices(err)
    finally:
        if bars is not None:
            bars.close()


class CheckPrinter(Listener):
    """A check run as it happens: one block on ``out`` per unit as it ends, and a live
    status line on ``err`` when it is a terminal (a line per start otherwise).

    ``root`` is the module's root: the blocks name files relative to it.
    """

    def __init__(self, out: TextIO, err: TextIO, root: Path | None = None) -> None:
        self.out, self.err = out, err
        self.root = root
        self.tty = err.isatty()
        self.last = 0.0

    def begun(self, budget: Budget, mechanism: Mechanism, passed_over: list[str]) -> None:
        """Print the run's budget and mechanism."""
        print(report.opening(budget, mechanism, passed_over), file=self.out, flush=True)

    def notice(self, message: str) -> None:
        """Print ``gobuild: MESSAGE`` on the error stream."""
        print(f"gobuild: {message}", file=self.err, flush=True)

    def started(self, unit: Unit) -> None:
        """Say so, unless a status line shows it."""
        if not self.tty:
            print(report.started(unit), file=self.out)

    def finished(self, result: Result) -> None:
        """Print the unit's block."""
        if self.tty:
            print("\r\033[K", end="", file=self.err)
        print(report.block(result, self.root), file=self.out, flush=True)

    def tick(self, running: list[tuple[str, float]], queued: int, done: int) -> None:
        """Redraw the status line, at most five times a second."""
        now = time.monotonic()
        if not self.tty or now - self.last < 0.2:
            return
        self.last = now
        line = report.status_line(running, queued, done)
        print(f"\r\033[K{line[:150]}", end="", file=self.err, flush=True)

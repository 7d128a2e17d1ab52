"""What a check run tells: the text a person reads, and the reports tools read.

Text is returned, never printed (the front ends print it): the run's opening line,
one block per unit as it ends, the summary table. Files go to the run's reports
directory: ``summary.json``, ``test.json`` (every test unit's ``go test -json``
events), ``junit.xml`` and ``bench.txt``; benchmark results are also kept in the
state directory's ``bench/`` for ``gobuild bench compare``.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

from gobuild import atomic, proc
from gobuild.checks.budget import GIB, Budget
from gobuild.checks.units import Result, Unit
from gobuild.project.names import Mechanism

MIB = 1 << 20


def opening(budget: Budget, mechanism: Mechanism, passed_over: list[str]) -> str:
    """The run's first line: its budget and how the caps are enforced."""
    line = (
        f"checks: budget {budget.cpus:g} CPUs, {budget.memory / GIB:.1f} GiB; "
        f"limits enforced by {mechanism}"
    )
    return line + (f" (not available: {'; '.join(passed_over)})" if passed_over else "")


def started(unit: Unit) -> str:
    """A unit got its share (the line a non-terminal shows)."""
    return f"started  {unit.name}  ({unit.caps.cpus:g} CPU, {unit.caps.memory / MIB:.0f} MiB)"


def block(result: Result) -> str:
    """A unit's ending: a heading with its status, then its output as a person reads it."""
    note = f", {result.note}" if result.note else ""
    heading = f"── {result.name}: {result.status} ({result.wall:.1f}s{note}) ──"
    text = human_output(result).rstrip()
    return f"{heading}\n{text}" if text else heading


def status_line(running: list[tuple[str, float]], queued: int, done: int) -> str:
    """What runs (with seconds so far), what waits and what is done, in one line."""
    names = ", ".join(f"{n} {t:.0f}s" for n, t in running)
    return f"running {len(running)} [{names}] · queued {queued} · done {done}"


def table(results: list[Result]) -> str:
    """The summary table: task, status, wall, CPU, peak memory, mechanism."""
    header = ("task", "status", "wall", "cpu", "peak mem", "mechanism")
    rows = [header] + [
        (r.name, r.status + (f" ({r.note})" if r.note and r.status != "passed" else ""),
         f"{r.wall:.1f}s", f"{r.cpu:.1f}s",
         f"{r.peak_memory / MIB:.0f} MiB" if r.peak_memory else "-", r.mechanism)
        for r in results
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def closing(results: list[Result], reports: Path) -> str:
    """The table and where the reports are."""
    return f"{table(results)}\nreports: {reports}"


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


def write_summary(path: Path, results: list[Result]) -> None:
    """The results as JSON (without the outputs), for tools and tests."""
    data = [{k: v for k, v in asdict(r).items() if k != "output"} for r in results]
    atomic.write_text(path, json.dumps(data, indent=2), durable=False)


def write_reports(
    results: list[Result],
    reports: Path,
    env: Mapping[str, str],
    root: Path,
) -> None:
    """summary.json, test.json (every test unit's events), junit.xml, and bench.txt.

    Reports are rewritten by the next run: renamed into place whole, not fsynced.
    """
    write_summary(reports / "summary.json", results)
    tests = [r for r in results if r.kind == "test" and r.output]
    if tests:
        events = "".join(r.output if r.output.endswith("\n") else r.output + "\n" for r in tests)
        log = reports / "test.json"
        atomic.write_text(log, events, durable=False)
        gotestsum = shutil.which("gotestsum", path=env.get("PATH"))
        if gotestsum:
            proc.run(
                [gotestsum, "--junitfile", str(reports / "junit.xml"), "--raw-command", "--",
                 "cat", str(log)],
                cwd=root, env=env, check=False, timeout=300,
            )  # fmt: skip
        if not (reports / "junit.xml").exists():
            from gobuild.checks import junit  # noqa: PLC0415 - XML only when tests ran

            junit_xml = junit.junit_from_events(events.splitlines())
            atomic.write_text(reports / "junit.xml", junit_xml, durable=False)
    for r in results:
        if r.kind == "bench" and r.output:
            atomic.write_text(reports / "bench.txt", r.output, durable=False)
            # Kept across runs for `gobuild bench compare`.
            history = reports.parent.parent / "bench"
            history.mkdir(exist_ok=True)
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(r.start))
            atomic.write_text(history / f"{stamp}.txt", r.output)
            atomic.write_text(history / "latest.txt", r.output)

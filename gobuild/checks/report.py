"""What a check run tells: the text a person reads, and the reports tools read.

Text is returned, never printed (the front ends print it): the run's opening line,
one block per unit as it ends, the summary table. Files go to the run's reports
directory: ``summary.json``, ``test.json`` (every test unit's ``go test -json``
events), ``bench.txt``, and ``junit.xml`` from the pinned gotestsum; benchmark
results are also kept in the state directory's ``bench/`` for ``gobuild bench
compare``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

from gobuild import atomic, proc
from gobuild.checks import coverage, failures
from gobuild.checks.budget import GIB, Budget
from gobuild.checks.units import Result, Unit
from gobuild.errors import GobuildError
from gobuild.project.names import Mechanism

MIB = 1 << 20
JUNIT = "junit.xml"
# How much of a failure's output a block shows (the unit's log has all of it), how many
# failures the summary lists, and how many compiler errors under each build failure.
EXCERPT_LINES = 80
SUMMARY_LIMIT = 100
COMPILER_ERRORS = 10


def opening(budget: Budget, mechanism: Mechanism, passed_over: list[str]) -> str:
    """The run's first line: its budget and how the caps are enforced."""
    line = f"checks: budget {budget.cpus:g} CPUs, {budget.memory / GIB:.1f} GiB; "
    if mechanism == "none":
        # GOMAXPROCS, GOMEMLIMIT, -p/-parallel and timeouts still shape every unit.
        line += (
            "caps not enforced (mechanism none): GOMAXPROCS, GOMEMLIMIT, -p and timeouts "
            "still apply"
        )
        return line + (f" (not available: {'; '.join(passed_over)})" if passed_over else "")
    line += f"limits enforced by {mechanism}"
    if budget.overcommit > 1:
        line += f", caps overcommitted to {budget.cpu_caps:g} CPUs within the budget"
    return line + (f" (not available: {'; '.join(passed_over)})" if passed_over else "")


def started(unit: Unit) -> str:
    """A unit got its share (the line a non-terminal shows)."""
    return f"started  {unit.name}  ({unit.caps.cpus:g} CPU, {unit.caps.memory / MIB:.0f} MiB)"


def block(result: Result, root: Path | None = None) -> str:
    """A unit's ending: a heading with its status, then what a person needs of its output.

    A test unit: one line per package (as go test sums them up), then each failing
    test's own output under ``=== FAIL: pkg TestName (0.01s)`` (gotestsum's testname
    format, without go test's ``=== RUN``/``--- FAIL`` framing). A linter: its
    ``file:line`` findings. Output gobuild cannot read is shown as it is; benchmarks too.
    File names are relative to ``root`` where they can be.
    """
    note = f", {result.note}" if result.note else ""
    heading = f"── {result.name}: {result.status} ({result.wall:.1f}s{note}) ──"
    text = _body(result, failures.read(result, root)).rstrip()
    return f"{heading}\n{text}" if text else heading


def _body(result: Result, reading: failures.Reading) -> str:
    if not reading.understood:
        return human_output(result)
    if result.kind == "lint":
        return "\n".join(reading.findings)
    lines = [*_package_lines(reading.packages), *(f"FLAKY {f}" for f in result.flaky)]
    lines += reading.stray
    for failure in reading.failures:
        if failure.kind != "test" or not failure.package:
            continue
        lines += ["", _heading(failure), *_excerpt(failure.output, result.log)]
    return "\n".join(lines)


def _package_lines(packages: tuple[failures.PackageResult, ...]) -> list[str]:
    lines = []
    for pkg in packages:
        if pkg.result == "skip":
            continue
        word = {"pass": "ok", "fail": "FAIL"}.get(pkg.result, "FAIL")
        if pkg.build_failed:
            tail = "[build failed]"
        elif not pkg.result:
            tail = "[did not finish]"
        else:
            tail = f"{pkg.elapsed or 0:.3f}s"
        lines.append(f"{word:<4}  {pkg.name}  {tail}")
    untested = sum(pkg.result == "skip" for pkg in packages)
    if untested:
        lines.append(f"{untested} package{'s' if untested > 1 else ''} without test files")
    return lines


def _heading(failure: failures.Failure) -> str:
    name = failure.test or ("[build failed]" if failure.reason == "build failed" else "")
    why = "" if failure.reason == "build failed" else f" ({failure.why})"
    return f"=== FAIL: {' '.join(w for w in (failure.package, name) if w)}{why}"


def _excerpt(lines: tuple[str, ...], log: str) -> list[str]:
    """At most EXCERPT_LINES of a failure's output, and where the rest is."""
    if len(lines) <= EXCERPT_LINES:
        return list(lines)
    more = len(lines) - EXCERPT_LINES
    return [*lines[:EXCERPT_LINES], f"… {more} more line{'s' if more > 1 else ''} in {log}"]


def status_line(running: list[tuple[str, float]], queued: int, done: int) -> str:
    """What runs (with seconds so far), what waits and what is done, in one line."""
    names = ", ".join(f"{n} {t:.0f}s" for n, t in running)
    return f"running {len(running)} [{names}] · queued {queued} · done {done}"


def table(results: list[Result]) -> str:
    """The summary table: task, status, wall, CPU, peak memory, mechanism."""
    header = ("task", "status", "wall", "cpu", "peak mem", "mechanism")
    rows = [header] + [
        (r.name, r.status + (f" ({r.note})" if r.note and (r.status != "passed" or r.flaky)
                             else ""),
         f"{r.wall:.1f}s", f"{r.cpu:.1f}s",
         f"{r.peak_memory / MIB:.0f} MiB" if r.peak_memory else "-", r.mechanism)
        for r in results
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def closing(results: list[Result], reports: Path, root: Path | None = None) -> str:
    """The table, every failure of the run in one list, and where the reports are."""
    parts = [table(results)]
    # A unit that passed has no failures to list: its output need not be read again.
    found = [f for r in results if not r.passed for f in failures.read(r, root).failures]
    if found:
        parts.append(failure_summary(found))
    flaky = [f for r in results for f in r.flaky]
    if flaky:
        count = f"{len(flaky)} flaky test{'s' if len(flaky) != 1 else ''} (passed when run again):"
        parts.append("\n".join([count, *(f"  {f}" for f in flaky)]))
    return "\n".join([*parts, reports_line(results, reports)])


def failure_summary(found: list[failures.Failure]) -> str:
    """``N failures:`` and a line for each: ``pkg TestName file.go:LINE (0.01s)``, a build
    failure with its compiler errors, a linter's ``unit file:line: message``."""
    count = f"{len(found)} failure{'s' if len(found) != 1 else ''}:"
    lines = [count]
    for failure in found[:SUMMARY_LIMIT]:
        lines.append("  " + summary_line(failure))
        if failure.reason == "build failed":
            lines += [f"      {e}" for e in failure.compiler_errors[:COMPILER_ERRORS]]
    if len(found) > SUMMARY_LIMIT:
        lines.append(f"  … and {len(found) - SUMMARY_LIMIT} more (see each unit's block)")
    return "\n".join(lines)


def summary_line(failure: failures.Failure) -> str:
    """One failure in one line."""
    if failure.kind == "lint" and failure.reason == "finding":
        return f"{failure.unit} {failure.location}: {failure.message}"
    if failure.reason == "build failed":
        return f"{failure.package} [build failed]"
    if not failure.package:  # the unit itself: nothing in its output to blame
        message = f" ({failure.message})" if failure.message else ""
        return f"{failure.unit} {failure.reason}{message}"
    words = (failure.package, failure.test or "[package]", failure.location, f"({failure.why})")
    return " ".join(w for w in words if w)


def reports_line(results: list[Result], reports: Path) -> str:
    """The run's last line: where the reports are, the full go test -json stream among them."""
    kept = []
    if any(r.kind == "test" and r.output for r in results):
        kept.append("full go test -json output: test.json")
        if (reports / JUNIT).is_file():
            kept.append(f"JUnit: {JUNIT}")
    if any(r.kind == "bench" and r.output for r in results):
        kept.append("benchmarks: bench.txt")
    kept.append("each unit's output: <unit>.log")
    return f"reports: {reports} ({'; '.join(kept)})"


def json_document(
    results: list[Result],
    reports: Path,
    root: Path | None,
    budget: Budget,
    mechanism: Mechanism,
) -> str:
    """The run as one JSON document (``gobuild check --json``): its units, its failures
    (with package, test, file, line, elapsed and an excerpt of the output) and its reports."""
    units = [
        {
            "name": r.name, "kind": r.kind, "status": r.status, "passed": r.passed,
            "note": r.note, "returncode": r.returncode, "elapsed": round(r.wall, 3),
            "cpu": round(r.cpu, 3), "peak_memory": r.peak_memory,
            "caps": {"cpus": r.cpus, "memory": r.memory}, "exclusive": r.exclusive,
            "mechanism": r.mechanism, "log": r.log or None, "flaky": list(r.flaky),
        }
        for r in results
    ]  # fmt: skip
    found = [
        {
            "unit": f.unit, "kind": f.kind, "reason": f.reason, "package": f.package or None,
            "test": f.test or None, "file": f.file or None, "line": f.line,
            "column": f.column, "elapsed": f.elapsed, "message": f.message,
            "output": "\n".join(_excerpt(f.output, _log(results, f.unit))),
        }
        for r in results
        if not r.passed
        for f in failures.read(r, root).failures
    ]  # fmt: skip
    tests = any(r.kind == "test" and r.output for r in results)
    bench = any(r.kind == "bench" and r.output for r in results)
    document = {
        "passed": all(r.passed for r in results),
        "budget": {"cpus": budget.cpus, "memory": budget.memory},
        "mechanism": mechanism,
        "units": units,
        "failures": found,
        "reports": {
            "directory": str(reports),
            "summary": str(reports / "summary.json"),
            "test_json": str(reports / "test.json") if tests else None,
            "junit": str(reports / JUNIT) if (reports / JUNIT).is_file() else None,
            "bench": str(reports / "bench.txt") if bench else None,
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _log(results: list[Result], unit: str) -> str:
    return next((r.log for r in results if r.name == unit), "")


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


def write_junit(
    gotestsum: str, events: Path, junit: Path, env: Mapping[str, str], root: Path
) -> None:
    """JUnit XML of the ``go test -json`` events in ``events``, by gotestsum: the events
    are replayed (``--raw-command``), so every unit's, reruns included, is one report."""
    partial = junit.with_name(f".{junit.name}.partial")
    res = proc.run(
        [gotestsum, "--format=standard-quiet", f"--junitfile={partial}", "--raw-command",
         "--", "cat", str(events)],
        cwd=root, env=env, check=False, timeout=300,
    )  # fmt: skip
    if not partial.is_file():
        why = (res.stderr.strip() or res.stdout.strip() or f"exit {res.returncode}").splitlines()
        raise GobuildError(f"gotestsum wrote no JUnit XML ({why[0] if why else 'no output'})")
    partial.replace(junit)


def write_summary(path: Path, results: list[Result]) -> None:
    """The results as JSON (without the outputs), for tools and tests."""
    data = [{k: v for k, v in asdict(r).items() if k != "output"} for r in results]
    atomic.write_text(path, json.dumps(data, indent=2), durable=False)


def write_reports(
    results: list[Result],
    reports: Path,
    env: Mapping[str, str],
    root: Path,
    gotestsum: str | None = None,
) -> None:
    """summary.json, test.json (every test unit's events), coverage.out (the units'
    profiles merged), bench.txt, and junit.xml when ``gotestsum`` (the pinned one's
    binary) is given.

    Reports are rewritten by the next run: renamed into place whole, not fsynced.
    Raises :class:`~gobuild.errors.GobuildError` when gotestsum writes no JUnit.
    """
    write_summary(reports / "summary.json", results)
    # Every test unit's coverage profile as one (the units split the packages).
    merged = coverage.merge(sorted(reports.glob("*.cover")))
    if merged is not None:
        atomic.write_text(reports / coverage.PROFILE_NAME, merged.text(), durable=False)
    tests = [r for r in results if r.kind == "test" and r.output]
    if tests:
        events = "".join(r.output if r.output.endswith("\n") else r.output + "\n" for r in tests)
        log = reports / "test.json"
        atomic.write_text(log, events, durable=False)
        if gotestsum:
            write_junit(gotestsum, log, reports / JUNIT, env, root)
    for r in results:
        if r.kind == "bench" and r.output:
            atomic.write_text(reports / "bench.txt", r.output, durable=False)
            # Kept across runs for `gobuild bench compare`.
            history = reports.parent.parent / "bench"
            history.mkdir(exist_ok=True)
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(r.start))
            atomic.write_text(history / f"{stamp}.txt", r.output)
            atomic.write_text(history / "latest.txt", r.output)

"""`doit test/lint/bench/check` and `gobuild check`: plan, schedule, report.

The edge between the checks scheduler and a terminal: it loads the project,
makes the pinned Go present, plans the units, runs them, writes the reports
(go test -json log, JUnit XML, bench results, summary.json) and prints one
block per unit plus the summary table to the streams it is given.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from gobuild import atomic, proc
from gobuild.checks import budget
from gobuild.checks import scheduler as checks
from gobuild.checks.limits import cgroups as limits
from gobuild.checks.scheduler import Unit
from gobuild.errors import GobuildError

if TYPE_CHECKING:
    from gobuild.project.config import Project

# Planning needs the configuration (gobuild.checkplan, gobuild.toolchain); running a
# plan does not, so a remembered plan (gobuild.memo) runs without loading it.


class _Printer(checks.Listener):
    """Blocks on ``out`` as units finish; a live status line on ``err`` if it is a TTY."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out, self.err = out, err
        self.tty = err.isatty()
        self.last = 0.0

    def started(self, unit: Unit) -> None:
        if not self.tty:
            mib = unit.caps.memory / (1 << 20)
            print(f"started  {unit.name}  ({unit.caps.cpus:g} CPU, {mib:.0f} MiB)", file=self.out)

    def finished(self, result: checks.Result) -> None:
        if self.tty:
            print("\r\033[K", end="", file=self.err)
        text = checks.human_output(result).rstrip()
        note = f", {result.note}" if result.note else ""
        print(f"── {result.name}: {result.status} ({result.wall:.1f}s{note}) ──", file=self.out)
        if text:
            print(text, file=self.out)
        self.out.flush()

    def tick(self, running: list[tuple[str, float]], queued: int, done: int) -> None:
        now = time.monotonic()
        if not self.tty or now - self.last < 0.2:
            return
        self.last = now
        names = ", ".join(f"{n} {t:.0f}s" for n, t in running)
        line = f"running {len(running)} [{names}] · queued {queued} · done {done}"
        print(f"\r\033[K{line[:150]}", end="", file=self.err, flush=True)


@dataclass(frozen=True)
class Outcome:
    """What a check run did, and where its reports are."""

    results: list[checks.Result]
    mechanism: str
    reports: Path
    budget: budget.Budget


@dataclass(frozen=True)
class CheckPlan:
    """Everything a check run needs, as plain data (JSON round trip)."""

    root: str
    state_dir: str
    kinds: tuple[str, ...]
    budget_cpus: float
    budget_memory: int
    goroot: str
    units: tuple[Unit, ...]
    enforcement: str
    grace: float
    scrubbed: tuple[str, ...]  # inherited variables the units must not see
    marker: str  # the toolchain's completion marker: a remembered plan needs it unchanged

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckPlan:
        """The plan :meth:`to_json` wrote (KeyError/TypeError/ValueError if malformed)."""
        units = tuple(_unit(u) for u in data["units"])
        return cls(
            root=str(data["root"]), state_dir=str(data["state_dir"]),
            kinds=tuple(data["kinds"]), budget_cpus=float(data["budget_cpus"]),
            budget_memory=int(data["budget_memory"]), goroot=str(data["goroot"]), units=units,
            enforcement=str(data["enforcement"]), grace=float(data["grace"]),
            scrubbed=tuple(data["scrubbed"]),
            marker=str(data["marker"]),
        )  # fmt: skip


def _unit(u: Mapping[str, Any]) -> Unit:
    return Unit(
        name=str(u["name"]),
        kind=str(u["kind"]),
        argv=tuple(str(a) for a in u["argv"]),
        caps=limits.Caps(float(u["caps"]["cpus"]), int(u["caps"]["memory"])),
        timeout=float(u["timeout"]),
        exclusive=bool(u["exclusive"]),
        env=tuple((str(k), str(v)) for k, v in u["env"]),
        output=str(u["output"]),
    )


def plan_checks(
    project: Project,
    kinds: tuple[str, ...],
    *,
    cpus: float | None = None,
    memory: str | None = None,
    enforcement: str | None = None,
) -> CheckPlan:
    """Decide the units of ``kinds`` for ``project`` (installs the pinned Go if needed)."""
    from gobuild.checks import commands as checkplan  # noqa: PLC0415 - see the note at the top
    from gobuild.progress import Silent  # noqa: PLC0415
    from gobuild.toolchain import install as toolchain  # noqa: PLC0415

    for kind in kinds:
        if kind not in checkplan.KINDS:
            raise GobuildError(f"unknown check {kind!r} (known: {', '.join(checkplan.KINDS)})")
    settings = project.settings.checks
    plan_budget = checkplan.resolve_budget(project, budget.host_budget(), cpus, memory)
    request = toolchain.request_for(project)
    installed = toolchain.ensure(request, Silent()).installed
    reports = _reports_dir(project.state_dir, kinds)
    base_env = _base_env(project.environ, checkplan.SCRUBBED, installed.goroot)
    units: list[Unit] = []
    if "test" in kinds:
        packages = _packages(project, installed.goroot, base_env)
        units += checkplan.test_units(project, plan_budget, packages, reports)
    if "lint" in kinds:
        units += checkplan.lint_units(project, plan_budget, checkplan.go_files(project))
    if "bench" in kinds:
        units += checkplan.bench_units(project, plan_budget)
    return CheckPlan(
        root=str(project.root), state_dir=str(project.state_dir), kinds=kinds,
        budget_cpus=plan_budget.cpus, budget_memory=plan_budget.memory,
        goroot=str(installed.goroot), units=tuple(units),
        enforcement=enforcement or settings.enforcement, grace=settings.grace,
        scrubbed=tuple(checkplan.SCRUBBED),
        marker=str(request.cache.marker(installed.version, installed.platform)),
    )  # fmt: skip


def run_checks(
    project: Project,
    kinds: tuple[str, ...],
    out: TextIO,
    err: TextIO,
    *,
    cpus: float | None = None,
    memory: str | None = None,
    enforcement: str | None = None,
) -> Outcome:
    """Plan and run the ``kinds`` (test, lint, bench) of ``project`` within the budget."""
    plan = plan_checks(project, kinds, cpus=cpus, memory=memory, enforcement=enforcement)
    return run_planned(plan, out, err, project.environ)


def run_planned(
    plan: CheckPlan, out: TextIO, err: TextIO, environ: Mapping[str, str] | None = None
) -> Outcome:
    """Run a :class:`CheckPlan` (``environ``: the inherited environment, default os.environ)."""
    environ = os.environ if environ is None else environ
    goroot, root = Path(plan.goroot), Path(plan.root)
    plan_budget = budget.Budget(cpus=plan.budget_cpus, memory=plan.budget_memory)
    # One folder per kind set: `doit -n 2 test lint` runs two of these at once.
    reports = _reports_dir(Path(plan.state_dir), plan.kinds)
    if reports.exists():
        shutil.rmtree(reports)
    reports.mkdir(parents=True)
    base_env = _base_env(environ, plan.scrubbed, goroot)
    units = list(plan.units)
    mechanism, skipped = limits.detect(plan.enforcement)
    tools = checks.ensure_tools(goroot, {u.argv[0] for u in units}, environ)
    ledger = budget.Ledger(Path(plan.state_dir), plan_budget)
    print(
        f"checks: budget {plan_budget.cpus:g} CPUs, {plan_budget.memory / (1 << 30):.1f} GiB; "
        f"limits enforced by {mechanism}"
        + (f" (not available: {'; '.join(skipped)})" if skipped else ""),
        file=out,
        flush=True,
    )
    results = checks.run(
        units, tools=tools, root=root, base_env=base_env, ledger=ledger,
        mechanism=mechanism, reports=reports, grace=plan.grace, listener=_Printer(out, err),
    )  # fmt: skip
    _write_reports(results, reports, tools, base_env, root)
    print(checks.table(results), file=out)
    print(f"reports: {reports}", file=out, flush=True)
    return Outcome(results, mechanism, reports, plan_budget)


def _reports_dir(state_dir: Path, kinds: tuple[str, ...]) -> Path:
    return state_dir / "checks" / "+".join(kinds)


def _base_env(
    environ: Mapping[str, str], scrubbed: tuple[str, ...], goroot: Path
) -> dict[str, str]:
    env = {k: v for k, v in environ.items() if k not in scrubbed}
    env["GOROOT"] = str(goroot)
    env["PATH"] = f"{goroot / 'bin'}:{env.get('PATH', '')}"
    return env


def _packages(project: Project, goroot: Path, base_env: Mapping[str, str]) -> list[str]:
    from gobuild.build.plan import go_env  # noqa: PLC0415 - see the note at the top

    argv = [str(goroot / "bin" / "go"), "list", "-e"]
    if (project.root / "vendor" / "modules.txt").is_file():
        argv.append("-mod=vendor")
    env = {**base_env, **go_env(project)}
    res = proc.run([*argv, "./..."], cwd=project.root, env=env, timeout=600)
    return [line for line in res.stdout.splitlines() if line.strip()]


def _write_reports(
    results: list[checks.Result],
    reports: Path,
    tools: Mapping[str, str],
    env: Mapping[str, str],
    root: Path,
) -> None:
    """test.json (every test unit's events), junit.xml, and bench.txt."""
    tests = [r for r in results if r.kind == "test" and r.output]
    if tests:
        events = "".join(r.output if r.output.endswith("\n") else r.output + "\n" for r in tests)
        log = reports / "test.json"
        # Reports are rewritten by the next run: renamed into place whole, not fsynced.
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

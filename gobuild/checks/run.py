"""Running a check plan: the tools, the mechanism, the shared budget, the reports.

:func:`run_planned` takes a :class:`~.plan.CheckPlan` (fresh, or remembered by a
front end) and runs it; it needs neither the configuration nor the planner, so a
remembered plan starts its first unit at once. What happens is told to a
:class:`~.scheduler.Listener`; the front ends turn it into text (:mod:`.report`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gobuild import atomic
from gobuild.builds.goenv import go_environ
from gobuild.checks import report, scheduler
from gobuild.checks.budget import Budget
from gobuild.checks.ledger import Ledger
from gobuild.checks.limits.cgroups import Pool
from gobuild.checks.limits.detect import Probe, detect, pools
from gobuild.checks.plan import CheckPlan
from gobuild.checks.runner import Context
from gobuild.checks.shards import DURATIONS_NAME, SHARD_NAME, package_durations, record_durations
from gobuild.checks.units import Result
from gobuild.errors import GobuildError
from gobuild.gocache import lookups
from gobuild.gocache import shared as gocache
from gobuild.project.environ import Environment
from gobuild.project.names import Mechanism


@dataclass(frozen=True)
class Outcome:
    """What a check run did, and where its reports are."""

    results: list[Result]
    mechanism: Mechanism
    reports: Path
    budget: Budget
    shared_cache: str | None = None  # what the shared cache's lookups came to, one line


def run_planned(
    plan: CheckPlan, env: Environment, listener: scheduler.Listener, probe: Probe | None = None
) -> Outcome:
    """Run ``plan`` in the environment ``env`` (inherited by the units, scrubbed).

    ``probe`` says which enforcement mechanisms the host offers (default: ask the host;
    see :func:`~.limits.detect.detect`)."""
    goroot, root = Path(plan.goroot), Path(plan.root)
    reports = plan.reports
    if reports.exists():
        shutil.rmtree(reports)
    reports.mkdir(parents=True)
    base_env = go_environ(goroot, env.variables, scrub=plan.scrubbed)
    lookups_file = reports / lookups.FILE_NAME
    base_env.update(gocache.connect(plan.shared_cache, env.network, listener.notice, lookups_file))
    units = list(plan.units)
    mechanism, passed_over = detect(plan.enforcement, env, probe)
    # Caps overcommit only where the kernel holds the whole run to the budget.
    pool = Pool(pool_name(plan.state_dir), plan.budget_cpus) if pools(mechanism) else None
    budget = Budget(plan.budget_cpus, plan.budget_memory, plan.overcommit if pool else 1.0)
    tools = find_tools(goroot, dict(plan.tools))
    listener.begun(budget, mechanism, passed_over)
    context = Context(tools, root, base_env, mechanism, reports, plan.grace, pool)
    results = scheduler.run(units, context, Ledger(Path(plan.state_dir), budget), listener)
    gotestsum = dict(plan.tools).get("gotestsum") if plan.junit else None
    report.write_reports(results, reports, base_env, root, gotestsum)
    if plan.shard:
        shard = {
            "shard": plan.shard,
            "split": plan.shard_split,
            "packages": list(plan.shard_packages),
        }
        atomic.write_text(reports / SHARD_NAME, json.dumps(shard, indent=1) + "\n")
    record_durations(durations_file(Path(plan.state_dir)), measured_durations(results))
    shared = None
    if plan.shared_cache is not None and lookups_file.exists():
        shared = lookups.read(lookups_file).text(plan.shared_cache.remote)
    return Outcome(results, mechanism, reports, budget, shared)


def measured_durations(results: list[Result]) -> dict[str, float]:
    """Each tested package's time, for the next split into shards: the unit's wall time
    when it tested that package alone (compiling included), else the package's own
    elapsed time from its events."""
    measured: dict[str, float] = {}
    for r in results:
        if r.kind != "test":
            continue
        found = package_durations(r.output.splitlines())
        if len(found) == 1:
            found = dict.fromkeys(found, round(r.wall, 3))
        measured.update(found)
    return measured


def durations_file(state_dir: Path) -> Path:
    """Where a project's test packages' recorded durations are kept."""
    return state_dir / "checks" / DURATIONS_NAME


def pool_name(state_dir: str) -> str:
    """The cgroup pool of a project's runs: one per state directory, as the ledger is."""
    return "gobuild-pool-" + hashlib.sha256(state_dir.encode()).hexdigest()[:12]


def find_tools(goroot: Path, pinned: Mapping[str, str]) -> dict[str, str]:
    """Executables for the tools units name: go and gofmt from the pinned GOROOT, and
    the ``pinned`` tools' binaries (never a tool that happens to be on PATH)."""
    tools = {"go": str(goroot / "bin" / "go"), "gofmt": str(goroot / "bin" / "gofmt")}
    for name in ("go", "gofmt"):
        if not Path(tools[name]).exists():
            raise GobuildError(f"{tools[name]} is missing from the pinned Go")
    return {**tools, **pinned}

"""Overcommitted caps, held to the budget by the kernel (real cgroups on this host).

A test unit leaves CPUs idle while it compiles and waits, so the ledger lets units'
CPU caps add up to ``overcommit`` times the budget; every unit's cgroup then sits in
the project's pool, whose quota is the budget. These tests run real processes in real
cgroups: the units overlap, live in the pool, and together get no more CPU time than
the budget, however much their own caps would allow.
"""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest

from gobuild.checks import scheduler
from gobuild.checks.limits.detect import detect, pools
from gobuild.checks.plan import CheckPlan
from gobuild.checks.run import pool_name, run_planned
from gobuild.checks.units import Caps, Unit
from gobuild.project.environ import current
from gobuild.ui.console import CheckPrinter

MIB = 1 << 20
HERE = current()
MECHANISM, _ = detect("auto", HERE)
pytestmark = pytest.mark.skipif(
    not pools(MECHANISM), reason=f"no cgroup pool here (mechanism {MECHANISM})"
)


def unit(name: str, cpus: float, script: str, weight: int = 100) -> Unit:
    return Unit(name, "lint", ("sh", "-c", script), Caps(cpus, 256 * MIB, weight), 120.0, False,
                (), "plain")  # fmt: skip


def plan(tmp_path: Path, units: list[Unit], cpus: float, overcommit: float) -> CheckPlan:
    goroot = tmp_path / "go"
    (goroot / "bin").mkdir(parents=True)
    for tool in ("go", "gofmt"):  # present, never run: the units are sh
        (goroot / "bin" / tool).write_text("#!/bin/sh\nexit 99\n")
        (goroot / "bin" / tool).chmod(0o755)
    return CheckPlan.from_json({
        "root": str(tmp_path), "state_dir": str(tmp_path / "state"), "kinds": ["lint"],
        "budget_cpus": cpus, "budget_memory": 1 << 30, "overcommit": overcommit,
        "goroot": str(goroot), "units": [json.loads(json.dumps(asdict(u))) for u in units],
        "enforcement": "auto", "grace": 1.0, "scrubbed": [], "marker": "",
        # The units run sh: a plan names every tool beside go and gofmt.
        "tools": [["sh", shutil.which("sh")]], "junit": False,
    })  # fmt: skip


# What a unit writes: its CPU cgroup, and its pool's quota as the kernel holds it.
REPORT = r"""
cg=$(sed -n 's/^[0-9]*:\(cpu,cpuacct\|cpu\|cpuacct,cpu\|\):\(.*\)/\2/p' /proc/self/cgroup | head -1)
for d in /sys/fs/cgroup/cpu$cg /sys/fs/cgroup/cpu,cpuacct$cg /sys/fs/cgroup$cg; do
  [ -d "$d" ] || continue
  echo "cgroup $cg"
  cat "$d/../cpu.cfs_quota_us" 2>/dev/null || cut -d' ' -f1 "$d/../cpu.max"
  cat "$d/cpu.shares" 2>/dev/null || echo "weight $(cat "$d/cpu.weight")"
  break
done
sleep 1
"""


def test_units_whose_caps_exceed_the_budget_overlap_inside_the_budgets_pool(
    tmp_path: Path,
) -> None:
    units = [unit("test", 2.0, REPORT, 100), unit("lint:vet", 1.0, REPORT, 10)]
    out = io.StringIO()
    outcome = run_planned(plan(tmp_path, units, 2.0, 1.5), HERE, CheckPrinter(out, out))
    assert "caps overcommitted to 3 CPUs within the budget" in out.getvalue()
    test, vet = outcome.results
    assert test.status == vet.status == "passed", (test.output, vet.output)
    assert test.start < vet.end and vet.start < test.end  # they ran at once
    pool = pool_name(str(tmp_path / "state"))
    # Under contention the test (weight 100) outweighs the linter (10) ten to one.
    for r, weight in ((test, ("1024", "weight 100")), (vet, ("102", "weight 10"))):
        cgroup, quota, share = r.output.splitlines()[:3]
        assert f"/{pool}/gobuild-" in cgroup  # the unit's own cgroup, in the pool
        assert int(quota) == 200_000  # the pool's quota: 2 CPUs per 100 ms period
        assert share in weight  # v1's cpu.shares, or v2's cpu.weight
    assert not any(Path("/sys/fs/cgroup").glob(f"*/{pool}")), "the pool outlived the run"
    assert not any(Path("/sys/fs/cgroup").glob(pool))


# Two busy processes for 2 s: as much CPU as a unit's cap lets it have.
BURN = "timeout 2 sh -c 'while :; do :; done' & timeout 2 sh -c 'while :; do :; done'; wait"


def test_the_pool_holds_overlapping_units_to_the_budget_together(tmp_path: Path) -> None:
    # Each unit may use 0.375 CPU, 0.75 CPU together, but the budget is half a CPU: the
    # pool's quota gives them at most 0.5 CPU-second per second between them. (A busy
    # host can only give them less, so the bound holds however noisy the machine is;
    # small shares keep the unpooled 0.75 within what even a busy 2-core host gives.)
    units = [unit("lint:a", 0.375, BURN), unit("lint:b", 0.375, BURN)]
    outcome = run_planned(plan(tmp_path, units, 0.5, 1.5), HERE, scheduler.Listener())
    a, b = outcome.results
    assert a.start < b.end and b.start < a.end
    together = max(a.end, b.end) - min(a.start, b.start)
    assert (a.cpu + b.cpu) / together < 0.6, (a.cpu, b.cpu, together)
    # Each one still got some: both burned, neither starved.
    assert a.cpu > 0.1 and b.cpu > 0.1

"""Choosing how caps are enforced, and running where nothing enforces them (``none``).

Which mechanisms a host offers is the one seam: :func:`detect` and :func:`run_planned`
take the host's answer as a ``probe`` (default: ask the host), so a Linux machine can
stand in for one without cgroups, systemd or /proc (a laptop running macOS). Units are
``sh`` commands: tests/functional/test_laptop.py runs a real Go module the same way.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from gobuild.checks import report, scheduler
from gobuild.checks.budget import Budget
from gobuild.checks.ledger import Ledger
from gobuild.checks.limits.confinement import Unenforced, worth_preparing
from gobuild.checks.limits.detect import ENFORCING, Probe, available, confine, detect
from gobuild.checks.plan import CheckPlan
from gobuild.checks.run import run_planned
from gobuild.checks.runner import Context
from gobuild.checks.units import Caps, Result, Unit
from gobuild.errors import GobuildError
from gobuild.project.environ import Environment
from gobuild.project.names import ENFORCEMENTS, MECHANISMS, Mechanism
from gobuild.ui import options
from gobuild.ui.console import CheckPrinter

MIB = 1 << 20
HERE = Environment(os.environ)


def nothing_here(mechanism: Mechanism, env: Environment) -> str | None:
    """A host offering no mechanism (macOS: no cgroups, no systemd, no /proc)."""
    return f"{mechanism} hidden by the test"


def only(*offered: Mechanism) -> Probe:
    def probe(mechanism: Mechanism, env: Environment) -> str | None:
        return None if mechanism in offered else f"{mechanism} hidden by the test"

    return probe


def never_asked(mechanism: Mechanism, env: Environment) -> str | None:
    raise AssertionError(f"the host was asked about {mechanism}")


# --- the words ---------------------------------------------------------------------------


def test_none_is_a_mechanism_and_an_enforcement_the_option_takes() -> None:
    assert MECHANISMS[-1] == "none"  # the last resort, after every one that holds caps
    assert "none" in ENFORCEMENTS and "none" not in ENFORCING
    assert options.ENFORCEMENT.value("none") == "none"
    assert "none" in (options.ENFORCEMENT.metavar or "")
    with pytest.raises(GobuildError, match=r"--enforcement: 'off' is not one of .*none"):
        options.ENFORCEMENT.value("off")


# --- detection ---------------------------------------------------------------------------


def test_auto_where_nothing_enforces_runs_with_none_and_says_why() -> None:
    mechanism, passed_over = detect("auto", HERE, nothing_here)
    assert mechanism == "none"
    assert passed_over == [f"{m}: {m} hidden by the test" for m in ENFORCING]


def test_auto_takes_the_best_the_host_offers() -> None:
    assert detect("auto", HERE, only("watchdog", "cgroup1")) == (
        "cgroup1",
        ["cgroup2: cgroup2 hidden by the test", "systemd-run: systemd-run hidden by the test"],
    )
    assert detect("auto", HERE, only("watchdog"))[0] == "watchdog"


def test_none_asked_for_asks_the_host_nothing() -> None:
    assert detect("none", HERE, never_asked) == ("none", [])
    assert available("none", Environment({})) is None


@pytest.mark.parametrize("mechanism", ENFORCING)
def test_a_mechanism_asked_for_but_missing_is_one_line(mechanism: Mechanism) -> None:
    with pytest.raises(GobuildError) as caught:
        detect(mechanism, HERE, nothing_here)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"limits: {mechanism} cannot be used here: {mechanism} hidden")
    assert '"none"' in message and '"auto"' in message  # what to ask for instead


def test_a_mechanism_asked_for_and_offered_is_used() -> None:
    assert detect("watchdog", HERE, only("watchdog")) == ("watchdog", [])


def test_the_host_is_asked_when_no_probe_is_given() -> None:
    # Whatever this host offers, auto finds something to run with and never fails.
    mechanism, passed_over = detect("auto", HERE)
    assert mechanism in MECHANISMS
    assert len(passed_over) == MECHANISMS.index(mechanism)


# --- running with none -------------------------------------------------------------------


def shell_unit(name: str, script: str, timeout: float = 60.0) -> Unit:
    return Unit(name, "lint", ("sh", "-c", script), Caps(1, 64 * MIB), timeout, False, (), "plain")


def run_units(tmp_path: Path, units: list[Unit], grace: float = 1.0) -> list[Result]:
    reports = tmp_path / "reports"
    context = Context({"sh": "/bin/sh"}, tmp_path, {"PATH": os.environ["PATH"]}, "none",
                      reports, grace)  # fmt: skip
    ledger = Ledger(tmp_path / "state", Budget(cpus=2, memory=1 << 30))
    return scheduler.run(units, context, ledger, scheduler.Listener())


def test_none_confines_nothing_but_still_owns_the_process_group() -> None:
    conf = confine("none", Caps(1, 64 * MIB), "x")
    assert isinstance(conf, Unenforced) and conf.mechanism == "none"
    assert conf.wrap(["go", "test"]) == ["go", "test"]
    assert not conf.over_memory() and conf.peak_memory() is None
    assert not worth_preparing("none")  # no cgroup to join ahead


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to find the sleeper")
def test_under_none_units_run_and_timeouts_still_stop_whole_trees(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    ok = shell_unit("ok", "echo fine")
    hung = shell_unit("hung", f"sleep 60 & echo $! > {pidfile}; wait", timeout=0.5)
    ra, rb = run_units(tmp_path, [ok, hung])
    assert (ra.status, ra.mechanism, ra.output) == ("passed", "none", "fine\n")
    assert ra.peak_memory  # rusage's, as no mechanism measures it
    assert (rb.status, rb.mechanism) == ("timed out", "none")
    child = int(pidfile.read_text())
    for _ in range(100):  # the group was killed; the kernel reaps the orphan shortly
        try:
            stat = Path(f"/proc/{child}/stat").read_text()
        except FileNotFoundError:
            break
        if stat.rsplit(") ", 1)[1].startswith("Z"):
            break
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the timed-out unit's child outlived it")


def fake_goroot(tmp_path: Path) -> Path:
    goroot = tmp_path / "go"
    (goroot / "bin").mkdir(parents=True)
    for tool in ("go", "gofmt"):  # present, never run: the units are sh
        (goroot / "bin" / tool).write_text("#!/bin/sh\nexit 99\n")
        (goroot / "bin" / tool).chmod(0o755)
    return goroot


def plan_of(tmp_path: Path, units: list[Unit], enforcement: str) -> CheckPlan:
    return CheckPlan.from_json({
        "root": str(tmp_path), "state_dir": str(tmp_path / "state"), "kinds": ["lint"],
        "budget_cpus": 2.0, "budget_memory": 1 << 30, "overcommit": 1.5, "goroot": str(fake_goroot(tmp_path)),
        "units": [json.loads(json.dumps(asdict(u))) for u in units],
        "enforcement": enforcement, "grace": 1.0, "scrubbed": [], "marker": "",
        # The units run sh: a plan names every tool beside go and gofmt.
        "tools": [["sh", shutil.which("sh")]], "junit": False,
    })  # fmt: skip


def test_where_no_pool_holds_the_total_caps_are_not_overcommitted(tmp_path: Path) -> None:
    # The plan allows 1.5x (3 CPUs of caps), but under none (as under the watchdog or
    # systemd scopes) nothing would hold a 2-CPU and a 1-CPU unit to the 2-CPU budget.
    sleep = ("sh", "-c", "sleep 0.3")
    units = [
        Unit(n, "lint", sleep, Caps(cpus, 64 * MIB), 60.0, False, (), "plain")
        for n, cpus in (("lint:a", 2.0), ("lint:b", 1.0))
    ]
    out = io.StringIO()
    outcome = run_planned(plan_of(tmp_path, units, "none"), HERE, CheckPrinter(out, out))
    assert outcome.budget.overcommit == 1.0 and "overcommitted" not in out.getvalue()
    a, b = outcome.results
    assert a.end <= b.start or b.end <= a.start


def test_a_run_where_nothing_enforces_says_so_in_one_line_and_passes(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, [shell_unit("lint:a", "true"), shell_unit("lint:b", "true")], "auto")
    out, err = io.StringIO(), io.StringIO()
    outcome = run_planned(plan, HERE, CheckPrinter(out, err), nothing_here)
    assert outcome.mechanism == "none"
    assert [r.status for r in outcome.results] == ["passed", "passed"]
    lines = out.getvalue().splitlines()
    told = [ln for ln in lines if "none" in ln or "not available" in ln]
    assert told == [lines[0]]  # the opening line, once, before any unit
    assert "not available: cgroup2: cgroup2 hidden by the test" in lines[0]
    assert err.getvalue() == ""
    rows = json.loads((plan.reports / "summary.json").read_text())
    assert {r["mechanism"] for r in rows} == {"none"}
    assert report.table(outcome.results).splitlines()[1].endswith("none")


def test_none_asked_for_has_no_reasons_to_give(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, [shell_unit("lint:a", "true")], "none")
    out = io.StringIO()
    outcome = run_planned(plan, HERE, CheckPrinter(out, io.StringIO()), never_asked)
    assert outcome.mechanism == "none" and outcome.results[0].status == "passed"
    assert "not available" not in out.getvalue()


def test_a_missing_mechanism_asked_for_stops_the_run_before_any_unit(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    plan = plan_of(tmp_path, [shell_unit("lint:a", f"touch {ran}")], "cgroup2")
    out = io.StringIO()
    with pytest.raises(GobuildError, match=r"^limits: cgroup2 cannot be used here"):
        run_planned(plan, HERE, CheckPrinter(out, io.StringIO()), nothing_here)
    assert not ran.exists() and out.getvalue() == ""

"""test/lint/bench's pieces without Go: the ledger, the scheduler, the gate and the limits.

Units here are ``sh`` and ``python3`` commands, so the budget, the scheduler's waiting,
the gate and the enforcement mechanisms are exercised without a toolchain. The watchdog
runs everywhere; the cgroup cases need cgroup v1 as root (marked ``cgroups``) and skip
elsewhere. tests/functional/test_checks.py runs the real thing against a Go module.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gobuild.checks import commands, scheduler
from gobuild.checks.budget import Budget
from gobuild.checks.ledger import Ledger
from gobuild.checks.limits import cgroups
from gobuild.checks.limits.confinement import gate
from gobuild.checks.limits.detect import available, confine
from gobuild.checks.runner import Context
from gobuild.checks.units import Caps, Result, Unit
from gobuild.project.config import load_project
from gobuild.project.environ import Environment
from gobuild.project.names import Mechanism

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the watchdog reads /proc")

MIB = 1 << 20
HERE = Environment(os.environ)


def schedule(
    units: list[Unit],
    *,
    tools: dict[str, str],
    root: Path,
    base_env: dict[str, str],
    ledger: Ledger,
    mechanism: Mechanism,
    reports: Path,
    grace: float = 5.0,
    listener: scheduler.Listener | None = None,
) -> list[Result]:
    context = Context(tools, root, base_env, mechanism, reports, grace)
    return scheduler.run(units, context, ledger, listener or scheduler.Listener())


def test_ledger_fits_budget_and_exclusive(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path, Budget(cpus=2, memory=1000))
    a = ledger.try_acquire(Caps(1, 400), False, "a")
    b = ledger.try_acquire(Caps(1, 400), False, "b")
    assert a and b
    assert ledger.try_acquire(Caps(0.5, 100), False, "c") is None  # CPUs exhausted
    assert ledger.try_acquire(Caps(2, 1000), True, "bench") is None  # others run
    ledger.release(a)
    assert ledger.try_acquire(Caps(1, 700), False, "d") is None  # memory would exceed
    ledger.release(b)
    x = ledger.try_acquire(Caps(2, 1000), True, "bench")
    assert x and ledger.try_acquire(Caps(0.1, 1), False, "e") is None  # nothing beside it
    ledger.release(x)
    assert ledger.running() == []


def test_an_overcommitted_ledger_lets_cpu_caps_add_up_past_the_budget_but_not_memory(
    tmp_path: Path,
) -> None:
    ledger = Ledger(tmp_path, Budget(cpus=2, memory=1000, overcommit=1.5))
    test = ledger.try_acquire(Caps(2, 400), False, "test")
    vet = ledger.try_acquire(Caps(1, 400), False, "lint:vet")
    assert test and vet  # 3 CPUs of caps on a 2-CPU budget: the pool holds the total
    assert ledger.try_acquire(Caps(0.5, 100), False, "more") is None  # past 1.5x
    ledger.release(vet)
    assert ledger.try_acquire(Caps(1, 700), False, "big") is None  # memory is not elastic


def test_a_test_unit_outweighs_the_linters_beside_it(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    project = load_project(tmp_path, Environment({}))
    budget = Budget(cpus=2, memory=4 << 30, overcommit=1.5)
    [test] = commands.test_units(project, budget, ["./..."], tmp_path)
    lints = commands.lint_units(project, budget, ["main.go"])
    assert test.caps.weight == 100
    assert [u.caps.weight for u in lints] == [10, 10]  # vet and gofmt


def test_ledger_drops_dead_processes(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path, Budget(cpus=1, memory=100))
    gone = subprocess.Popen(["true"])  # a run that was killed and left its entry behind
    gone.wait()
    entries = [{"id": "x", "pid": gone.pid, "cpus": 1, "memory": 100, "exclusive": True}]
    (tmp_path / "budget.json").write_text(json.dumps(entries))
    assert ledger.try_acquire(Caps(1, 100), False, "a") is not None


class CountingLedger(Ledger):
    """A ledger that counts the scheduler's tries (each takes the file lock)."""

    tries = 0

    def try_acquire(self, caps: Caps, exclusive: bool, label: str) -> str | None:
        self.tries += 1
        return super().try_acquire(caps, exclusive, label)


def sleeper(name: str, seconds: float) -> Unit:
    argv = ("sh", "-c", f"sleep {seconds}")
    return Unit(name, "test", argv, Caps(1, 64 << 20), 60.0, False, (), "plain")


def test_scheduler_waits_without_hammering_the_ledger(tmp_path: Path) -> None:
    # Two 1-CPU units in a 1-CPU budget: the second waits 0.8 s for the first. It must
    # start as soon as the first ends, without polling the file-locked ledger all along.
    ledger = CountingLedger(tmp_path / "state", Budget(cpus=1, memory=1 << 30))
    results = schedule(
        [sleeper("a", 0.8), sleeper("b", 0.1)], tools={"sh": "/bin/sh"}, root=tmp_path,
        base_env={"PATH": os.environ["PATH"]}, ledger=ledger, mechanism="watchdog",
        reports=tmp_path / "reports",
    )  # fmt: skip
    a, b = results
    assert (a.status, b.status) == ("passed", "passed")
    assert b.start >= a.end and b.start - a.end < 0.3
    assert ledger.tries <= 4  # was one try per 50 ms poll: about 17 here


def test_scheduler_does_not_ask_for_a_share_it_was_just_refused(tmp_path: Path) -> None:
    # Six equal units in a 1-CPU budget: each pass starts one and asks once for the
    # next; asking for the other four as well would take the file lock four more times.
    ledger = CountingLedger(tmp_path / "state", Budget(cpus=1, memory=1 << 30))
    results = schedule(
        [sleeper(f"u{i}", 0.2) for i in range(6)], tools={"sh": "/bin/sh"}, root=tmp_path,
        base_env={"PATH": os.environ["PATH"]}, ledger=ledger, mechanism="watchdog",
        reports=tmp_path / "reports",
    )  # fmt: skip
    assert [r.status for r in results] == ["passed"] * 6
    assert all(b.start >= a.end for a, b in itertools.pairwise(results))
    assert ledger.tries <= 13  # 2 per pass (one granted, one refused) and a spare; was 21


def test_scheduler_notices_budget_freed_by_another_process(tmp_path: Path) -> None:
    # Another run (a second doit worker) holds the whole budget and releases it at 0.4 s:
    # only the ledger file tells; the unit starts soon after, well before the 1 s retry.
    state = tmp_path / "state"
    other = Ledger(state, Budget(cpus=1, memory=1 << 30))
    held = other.try_acquire(Caps(1, 1 << 20), False, "other")
    assert held is not None
    released = 0.0

    def release_later() -> None:
        nonlocal released
        time.sleep(0.4)
        released = time.time()
        other.release(held)

    thread = threading.Thread(target=release_later)
    thread.start()
    ledger = CountingLedger(state, Budget(cpus=1, memory=1 << 30))
    (result,) = schedule(
        [sleeper("a", 0.1)], tools={"sh": "/bin/sh"}, root=tmp_path,
        base_env={"PATH": os.environ["PATH"]}, ledger=ledger, mechanism="watchdog",
        reports=tmp_path / "reports",
    )  # fmt: skip
    thread.join()
    assert result.status == "passed"
    assert 0 <= result.start - released < 0.5
    assert ledger.tries <= 3


def shell_unit(name: str, script: str) -> Unit:
    return Unit(name, "test", ("sh", "-c", script), Caps(1, 64 << 20), 60.0, False, (), "plain")


def run_units(
    tmp_path: Path, units: list[Unit], mechanism: Mechanism, **kw: object
) -> list[Result]:
    ledger = Ledger(tmp_path / "state", Budget(cpus=1, memory=1 << 30))
    return schedule(
        units, tools={"sh": "/bin/sh"}, root=tmp_path, base_env={"PATH": os.environ["PATH"]},
        ledger=ledger, mechanism=mechanism, reports=tmp_path / "reports", **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def own_cgroup_children() -> list[str]:
    """The cgroups this process made beside its units' (by name: gobuild-PID-...)."""
    base = cgroups._own_cgroup("memory")
    if base is None:
        return []
    return sorted(p.name for p in base.glob(f"gobuild-{os.getpid()}-*"))


# A mechanism beyond the watchdog: marked, and skipped with the reason where it is missing.
needs_cgroup1 = pytest.mark.skipif(
    available("cgroup1", HERE) is not None, reason="cgroup v1 (as root) is not available here"
)


@pytest.mark.cgroups
@needs_cgroup1
def test_next_unit_joins_its_cgroup_ahead_but_runs_only_when_its_share_is_granted(
    tmp_path: Path,
) -> None:
    # Budget 1 CPU, two 1-CPU units: b waits for a. Joining a cgroup waits for an RCU
    # grace period, so b's held process joins while a runs (a sees it there), and b's
    # own command starts only after a has ended and handed its share back.
    own = cgroups._own_cgroup("memory")
    assert own is not None
    a = shell_unit(
        "a",
        f"sleep 0.4; cat {own}/gobuild-{os.getpid()}-b-*/cgroup.procs > {tmp_path}/seen; sleep 0.2",
    )
    b = shell_unit("b", f"echo $$ > {tmp_path}/b.pid; date +%s.%N > {tmp_path}/b.start")
    ra, rb = run_units(tmp_path, [a, b], "cgroup1")
    assert (ra.status, rb.status) == ("passed", "passed"), (ra, rb)
    held = (tmp_path / "seen").read_text().split()
    assert held == [(tmp_path / "b.pid").read_text().strip()]  # the same process, later exec'd
    assert float((tmp_path / "b.start").read_text()) >= ra.end
    assert rb.start >= ra.end
    assert own_cgroup_children() == []


@pytest.mark.cgroups
@needs_cgroup1
def test_ctrl_c_lets_a_held_unit_go_without_running_it(tmp_path: Path) -> None:
    class Interrupt(scheduler.Listener):
        def tick(self, running: list[tuple[str, float]], queued: int, done: int) -> None:
            if running and running[0][1] > 0.3:
                raise KeyboardInterrupt

    a = shell_unit("a", "sleep 30")
    b = shell_unit("b", f"touch {tmp_path}/b.ran")
    with pytest.raises(KeyboardInterrupt):
        run_units(tmp_path, [a, b], "cgroup1", listener=Interrupt(), grace=1.0)
    assert not (tmp_path / "b.ran").exists()
    assert own_cgroup_children() == []


def test_gate_holds_a_command_until_go_and_drops_it_at_end_of_file() -> None:
    conf = confine("watchdog", Caps(1, 64 * MIB), "g")
    script = ["sh", "-c", "echo ran; cat"]  # cat: the command's stdin is /dev/null
    held = subprocess.Popen(conf.wrap(gate(script)), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)  # fmt: skip
    dropped = subprocess.Popen(gate(script), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    time.sleep(0.2)
    assert held.poll() is None and dropped.poll() is None  # both wait at the gate
    out, _ = held.communicate(b"go\n", timeout=10)
    assert (held.returncode, out) == (0, b"ran\n")
    out, _ = dropped.communicate(b"", timeout=10)
    assert (dropped.returncode, out) == (125, b"")
    conf.close()


def test_a_unit_that_cannot_start_fails_and_frees_its_share(tmp_path: Path) -> None:
    (tmp_path / "reports" / "a.log").mkdir(parents=True)  # its log cannot be opened
    ra, rb = run_units(tmp_path, [shell_unit("a", "true"), shell_unit("b", "true")], "watchdog")
    assert ra.status == "failed" and ra.note.startswith("could not start: ")
    assert rb.status == "passed"
    assert Ledger(tmp_path / "state", Budget(cpus=1, memory=1 << 30)).running() == []


def test_watchdog_kills_a_group_over_its_cap(tmp_path: Path) -> None:
    conf = confine("watchdog", Caps(cpus=1, memory=64 * MIB), "w")
    script = "x = bytearray(400 << 20); import time; time.sleep(30)"
    child = subprocess.Popen(conf.wrap(["python3", "-c", script]), start_new_session=True)
    conf.started(child.pid)
    try:
        assert child.wait(timeout=30) == -signal.SIGKILL
        assert conf.over_memory()
        assert (conf.peak_memory() or 0) > 64 * MIB
    finally:
        conf.close()


def test_bench_compare_needs_both_files_before_building_anything(tmp_path: Path) -> None:
    from gobuild.cli import main as cli

    old = tmp_path / "old.txt"
    old.write_text("pkg: m\nBenchmarkSum-2 1000 100 ns/op\n")
    (tmp_path / "go.mod").write_text("module m\n\ngo 1.22\n")
    out, err = io.StringIO(), io.StringIO()
    missing = tmp_path / "new.txt"
    argv = ["-C", str(tmp_path), "bench", "compare", str(old), str(missing)]
    assert cli.main(argv, stdout=out, stderr=err) == 1
    assert err.getvalue().strip() == f"gobuild: error: {missing}: no such benchmark results file"
    assert not (tmp_path / "gobuild.lock").exists()  # nothing resolved, nothing built


def test_linters_get_a_cache_directory_where_the_environment_has_none(tmp_path: Path) -> None:
    from gobuild.checks.commands import tool_cache_env
    from gobuild.project.config import load_project
    from gobuild.project.environ import Environment

    (tmp_path / "go.mod").write_text("module m\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text("package main\n\nfunc main() {}\n")
    bare = load_project(tmp_path, Environment({"GOBUILD_CACHE": str(tmp_path / "cache")}))
    assert tool_cache_env(bare, "golangci-lint") == {
        "GOLANGCI_LINT_CACHE": str(tmp_path / "cache" / "tool-caches" / "golangci-lint")
    }
    assert tool_cache_env(bare, "vet") == {}
    for given in ({"HOME": "/home/u"}, {"XDG_CACHE_HOME": "/c"}, {"STATICCHECK_CACHE": "/s"}):
        env = Environment({"GOBUILD_CACHE": str(tmp_path / "cache"), **given})
        assert tool_cache_env(load_project(tmp_path, env), "staticcheck") == {}


def test_packages_alike_at_the_end_get_units_of_their_own(tmp_path: Path) -> None:
    # fiber has utils and internal/template/utils, internal/memory and
    # internal/storage/memory: one unit name each, or one's events and profile are lost.
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    (tmp_path / "gobuild.toml").write_text('[checks.test]\nsplit = "package"\ncoverage = true\n')
    project = load_project(tmp_path, Environment({}))
    budget = Budget(cpus=2, memory=4 << 30)
    packages = ["example.com/m/utils", "example.com/m/internal/template/utils",
                "example.com/m/internal/memory", "example.com/m/internal/storage/memory",
                "example.com/m/cli"]  # fmt: skip
    units = commands.test_units(project, budget, packages, tmp_path / "r")
    assert [u.name for u in units] == [
        "test:m/utils", "test:template/utils", "test:internal/memory", "test:storage/memory",
        "test:cli",
    ]  # fmt: skip
    profiles = [a for u in units for a in u.argv if a.startswith("-coverprofile=")]
    assert len(set(profiles)) == len(units)

"""test/lint/bench under OS-enforced limits, against a real fixture module.

The fixture (tests/fixtures/limits) has a normal test, a slow one, one that
allocates far beyond its cap, one that hangs after starting a child, and a
benchmark. Each available enforcement mechanism is exercised; the watchdog
everywhere (the others are marked ``cgroups``). The pieces without Go (ledger,
scheduler, gate, limits) are in tests/unit/test_checks.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gobuild.checks.budget import Budget
from gobuild.checks.ledger import Ledger
from gobuild.checks.limits.detect import available, pools
from gobuild.project.environ import Environment
from gobuild.project.platforms import host
from tests.buildenv import BIN, GoEnv, make_repo, run_env

pytestmark = pytest.mark.skipif(host().key != "linux-amd64", reason="real archives are linux/amd64")

MIB = 1 << 20
# The mechanisms whose cgroup pool lets caps add up to 1.5x the budget.
POOLED = [m for m in ("cgroup1", "cgroup2") if pools(m)]
CONFIG = """
[checks]
cpus = 2
memory = "2GiB"
grace = 1.0
[checks.test]
cpus = 1
memory = "512MiB"
timeout = "{timeout}"
split = "package"
[checks.lint]
cpus = 1
memory = "256MiB"
[checks.bench]
count = 3
benchtime = "2000x"
# Compiled packages come from the session's shared GOCACHE; test results never do.
[profiles.dev]
goflags = ["-count=1"]
"""


HERE = Environment(os.environ)


def mechanisms() -> list[Any]:
    """The watchdog, and each cgroup mechanism this host offers (marked ``cgroups``)."""
    out = [pytest.param("watchdog", id="watchdog")]
    for name in ("cgroup2", "systemd-run", "cgroup1"):
        if available(name, HERE) is None:
            out.append(pytest.param(name, id=name, marks=pytest.mark.cgroups))
    return out


def repo(tmp_path: Path, go: GoEnv, timeout: str = "10s", extra: str = "") -> Path:
    root = make_repo(tmp_path / "m", "limits", go, CONFIG.format(timeout=timeout) + extra)
    # Compile once outside the caps: the tests are about running tests, and a cold
    # standard-library build under a 1-CPU cap would eat the timeouts.
    env = run_env(go, GOCACHE=str(go.gocache))
    subprocess.run(
        [str(BIN / "gobuild"), "-C", str(root), "go", "test", "-count=1", "-run=^$", "./..."],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    return root


def drop(root: Path, *packages: str) -> None:
    """Remove fixture packages a test does not want (the hog, the hung test...)."""
    for pkg in packages:
        shutil.rmtree(root / pkg)


def check(root: Path, go: GoEnv, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = run_env(go, GOCACHE=str(go.gocache), HANG_PIDFILE=str(tmp_path / "hang.pid"))
    return subprocess.run(
        [str(BIN / "gobuild"), "-C", str(root), "check", *args],
        env=env, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip


def summary(root: Path, kinds: str) -> list[dict[str, object]]:
    data: list[dict[str, object]] = json.loads(
        (root / ".gobuild" / "checks" / kinds / "summary.json").read_text()
    )
    return data


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ", 1)[1][0] != "Z"


def hang_pids(tmp_path: Path) -> list[int]:
    return [int(x) for x in (tmp_path / "hang.pid").read_text().split()]


def max_concurrency(rows: list[dict[str, object]]) -> tuple[float, int, int]:
    """Peak summed CPUs, memory and unit count over the recorded intervals."""
    events = sorted(
        [(float(str(r["start"])), 1, r) for r in rows]
        + [(float(str(r["end"])), -1, r) for r in rows],
        key=lambda e: (e[0], e[1]),  # ends before starts at the same instant
    )
    cpus = peak_cpus = 0.0
    mem = peak_mem = n = peak_n = 0
    for _, delta, r in events:
        cpus += delta * float(str(r["cpus"]))
        mem += delta * int(str(r["memory"]))
        n += delta
        peak_cpus, peak_mem, peak_n = max(peak_cpus, cpus), max(peak_mem, mem), max(peak_n, n)
    return peak_cpus, peak_mem, peak_n


@pytest.mark.slow
@pytest.mark.parametrize("mechanism", mechanisms())
def test_hog_over_memory_hang_timed_out_others_pass(
    tmp_path: Path, go: GoEnv, mechanism: str
) -> None:
    root = repo(tmp_path, go)
    res = check(root, go, tmp_path, "test", "--enforcement", mechanism)
    assert res.returncode == 1, res.stdout + res.stderr
    rows = {str(r["name"]): r for r in summary(root, "test")}
    assert {n: r["status"] for n, r in rows.items()} == {
        "test:bench": "passed",
        "test:hang": "timed out",
        "test:hog": "over memory limit",
        "test:normal": "passed",
        "test:slow": "passed",
    }, res.stdout
    assert {r["mechanism"] for r in rows.values()} == {mechanism}
    assert f"limits enforced by {mechanism}" in res.stdout
    # The hung test and the child it started are gone: nothing of its group remains.
    for pid in hang_pids(tmp_path):
        assert not alive(pid), pid
    # The budget held: 2 CPUs / 2 GiB with 1-CPU units, and units did run side by side;
    # where a cgroup pool holds the total to 2 CPUs, caps add up to 1.5x that (3 units).
    peak_cpus, peak_mem, peak_n = max_concurrency(list(rows.values()))
    caps = 3 if mechanism in POOLED else 2
    assert peak_cpus <= caps and peak_mem <= 2 << 30 and peak_n == caps
    # The Go runtime was told its share (a passing test's log: in the reports, not on stdout).
    reports = root / ".gobuild" / "checks" / "test"
    assert f"GOMAXPROCS=1 GOMEMLIMIT={int(512 * MIB * 0.9)}" in (reports / "test.json").read_text()
    # The memory hog's peak was held at its cap.
    assert int(str(rows["test:hog"]["peak_memory"])) <= 600 * MIB
    # One block per unit: a unit's lines never interleave with another's.
    blocks = res.stdout.split("── ")
    slow = next(b for b in blocks if b.startswith("test:slow: passed"))
    assert "ok    example.com/limits/slow  " in slow and "normal" not in slow and "hog" not in slow
    assert "=== RUN" not in res.stdout  # passing tests are a line per package
    # The summary names the tests gobuild stopped, and why.
    hog = r"\n  example\.com/limits/hog TestHog (\S+ )?\(over memory limit, cap 512 MiB\)\n"
    assert re.search(hog, res.stdout), res.stdout
    hang = r"\n  example\.com/limits/hang TestHang (\S+ )?\(timed out after 10s\)\n"
    assert re.search(hang, res.stdout), res.stdout
    # Reports: the go test -json log (JUnit is the pinned gotestsum's, when asked for).
    assert '"Action":"pass"' in (reports / "test.json").read_text()
    assert not (reports / "junit.xml").exists()
    assert "task" in res.stdout and "peak mem" in res.stdout  # the summary table


@pytest.mark.slow
def test_check_runs_test_and_lint_concurrently_and_bench_alone(tmp_path: Path, go: GoEnv) -> None:
    root = repo(tmp_path, go, extra="")
    drop(root, "hog", "hang")
    res = check(root, go, tmp_path, "test", "lint", "bench")
    assert res.returncode == 0, res.stdout + res.stderr
    rows = summary(root, "test+lint+bench")
    assert {str(r["name"]) for r in rows} >= {"lint:vet", "lint:gofmt", "bench", "test:normal"}
    assert all(r["status"] == "passed" for r in rows), res.stdout
    bench = next(r for r in rows if r["name"] == "bench")
    for r in rows:
        if r is not bench:  # nothing ran beside the benchmark
            assert float(str(r["end"])) <= float(str(bench["start"])) or float(
                str(r["start"])
            ) >= float(str(bench["end"]))
    assert max_concurrency([r for r in rows if r is not bench])[2] >= 2
    assert "BenchmarkSum" in (root / ".gobuild" / "bench" / "latest.txt").read_text()


@pytest.mark.slow
def test_sigint_leaves_no_processes(tmp_path: Path, go: GoEnv) -> None:
    root = repo(tmp_path, go, timeout="120s")
    env = run_env(go, GOCACHE=str(go.gocache), HANG_PIDFILE=str(tmp_path / "hang.pid"))
    child = subprocess.Popen(
        [str(BIN / "gobuild"), "-C", str(root), "check", "test"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (tmp_path / "hang.pid").exists() or len(hang_pids(tmp_path)) < 2:
        assert time.monotonic() < deadline and child.poll() is None
        time.sleep(0.1)
    pids = hang_pids(tmp_path)
    assert all(alive(p) for p in pids)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, out + err
    for pid in pids:
        assert not alive(pid), pid
    assert Ledger(root / ".gobuild", Budget(2, 1 << 30)).running() == []


def test_invalid_budgets_are_the_same_one_line_error_from_both_front_ends(
    tmp_path: Path, go: GoEnv
) -> None:
    root = repo(tmp_path, go)
    env = run_env(go, GOCACHE=str(go.gocache))
    for args, message in [
        (["--cpus", "0"], "--cpus: 0 is not a CPU count"),
        (["--cpus", "-1"], "--cpus: -1 is not a CPU count"),
        (["--cpus", "nan"], "--cpus: nan is not a CPU count"),
        (["--cpus", "inf"], "--cpus: inf is not a CPU count"),
        (["--cpus", "1e9"], "--cpus: 1e+09 is not a CPU count"),
        (["--cpus", "two"], "--cpus: 'two' is not a number of CPUs"),
        (["--memory", "0"], "--memory: '0': a memory size must be positive"),
        (["--memory", "3 parsecs"], "--memory: '3 parsecs' is not a size"),
        (["--memory", "4096TiB"], "--memory: 4096TiB is more than this host's memory"),
    ]:
        res = check(root, go, tmp_path, "lint", *args)
        assert res.returncode == 1, (args, res.stdout, res.stderr)
        assert res.stderr == f"gobuild: error: {message}" + res.stderr.partition(message)[2]
        assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
        via_doit = subprocess.run(
            [str(BIN / "doit"), "lint", *args],
            cwd=root, env=env, capture_output=True, text=True, check=False, timeout=600,
        )  # fmt: skip
        assert via_doit.returncode == 1, (args, via_doit.stdout, via_doit.stderr)
        line = res.stderr.removeprefix("gobuild: error: ")
        assert line in via_doit.stdout + via_doit.stderr
        assert "Traceback" not in via_doit.stdout + via_doit.stderr
    (root / "gobuild.toml").write_text(
        (root / "gobuild.toml").read_text().replace('memory = "512MiB"', 'memory = "3GiB"', 1)
    )
    res = check(root, go, tmp_path, "test")
    assert res.returncode == 1 and "checks.test.memory = 3GiB is more than the budget" in res.stderr
    (root / "gobuild.toml").write_text('[checks.test]\nmemory = "2 bananas"\n')
    res = check(root, go, tmp_path, "test")
    assert res.returncode == 1 and "checks.test.memory" in res.stderr and "not a size" in res.stderr


@pytest.mark.slow
def test_doit_n2_shares_one_budget_and_bench_stays_alone(tmp_path: Path, go: GoEnv) -> None:
    root = repo(tmp_path, go)
    drop(root, "hog", "hang")
    env = run_env(go, GOCACHE=str(go.gocache))
    res = subprocess.run(
        [str(BIN / "doit"), "-n", "3", "test", "lint", "bench"],
        cwd=root, env=env, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    rows = summary(root, "test") + summary(root, "lint") + summary(root, "bench")
    bench = next(r for r in rows if r["name"] == "bench")
    others = [r for r in rows if r is not bench]
    for r in others:  # three doit processes, one ledger: nothing ran beside the benchmark
        assert float(str(r["end"])) <= float(str(bench["start"])) or float(
            str(r["start"])
        ) >= float(str(bench["end"]))
    peak_cpus, peak_mem, _ = max_concurrency(others)
    caps = 3 if all(r["mechanism"] in POOLED for r in rows) else 2  # 1.5x in a pool
    assert peak_cpus <= caps and peak_mem <= 2 << 30


def test_makefile_passes_the_go_side_of_the_caps(tmp_path: Path, go: GoEnv) -> None:
    from gobuild.cli import main as cli

    root = make_repo(tmp_path / "m", "twobin", go, CONFIG.format(timeout="90s"))
    assert cli.main(["-C", str(root), "generate", "Makefile"]) == 0
    res = subprocess.run(["make", "-n", "test", "vet", "bench"], cwd=root, env=run_env(go),
                         capture_output=True, text=True, check=True)  # fmt: skip
    lines = res.stdout.splitlines()
    test = next(ln for ln in lines if " test -p=" in ln)
    assert "GOMAXPROCS=1 " in test and f"GOMEMLIMIT={int(512 * MIB * 0.9)}" in test
    assert "-p=1 -parallel=1 -timeout=90s" in test
    assert any("GOMAXPROCS=1 " in ln and " vet " in ln for ln in lines)
    bench = next(ln for ln in lines if "-bench" in ln)
    assert "-p=1" in bench and "-count=3" in bench and "-benchtime=2000x" in bench


def test_coverage_is_written(tmp_path: Path, go: GoEnv) -> None:
    # (A configured linter is never "skipped" for being absent: it runs at its [tools]
    # pin or the run stops; see test_tools.py.)
    extra = "[checks.test]\ncoverage = true\n"
    toml = CONFIG.format(timeout="60s").replace("[checks.test]\n", extra, 1)
    root = make_repo(tmp_path / "m", "limits", go, toml)
    drop(root, "hog", "hang", "slow")
    res = check(root, go, tmp_path, "test", "lint")
    assert res.returncode == 0, res.stdout + res.stderr
    rows = {str(r["name"]): r for r in summary(root, "test+lint")}
    assert rows["lint:vet"]["status"] == "passed"
    cover = root / ".gobuild" / "checks" / "test+lint" / "test-normal.cover"
    assert cover.read_text().startswith("mode: ")


def test_a_library_module_has_checks_but_build_says_why_not(tmp_path: Path, go: GoEnv) -> None:
    root = make_repo(tmp_path / "m", "limits", go)
    env = run_env(go)
    listed = subprocess.run([str(BIN / "doit"), "list"], cwd=root, env=env, capture_output=True,
                            text=True, check=True).stdout  # fmt: skip
    assert {"check", "test", "lint", "bench", "build"} <= {
        ln.split()[0] for ln in listed.splitlines()
    }
    res = subprocess.run([str(BIN / "doit"), "build"], cwd=root, env=env, capture_output=True,
                         text=True, check=False)  # fmt: skip
    assert res.returncode != 0 and "no main package to build" in res.stdout + res.stderr
    # doit's own parameters override the budget.
    res = subprocess.run([str(BIN / "doit"), "lint", "--cpus", "1", "--memory", "1GiB"],
                         cwd=root, env=env, capture_output=True, text=True, check=False)  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert "checks: budget 1 CPUs, 1.0 GiB" in res.stdout


def test_status_line_on_a_terminal(tmp_path: Path, go: GoEnv) -> None:
    import pty

    root = repo(tmp_path, go)
    drop(root, "hog", "hang")
    env = run_env(go, GOCACHE=str(go.gocache))
    argv = [str(BIN / "gobuild"), "-C", str(root), "check", "test"]
    out = bytearray()

    def read(fd: int) -> bytes:
        data = os.read(fd, 1024)
        out.extend(data)
        return data

    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        status = pty.spawn(argv, read)
    finally:
        os.environ.clear()
        os.environ.update(old)
    text = out.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    # Three 1-CPU units at once in a cgroup pool (1.5x the 2-CPU budget), else two.
    running = "running 3 [" if "caps overcommitted to 3 CPUs" in text else "running 2 ["
    assert running in text and "queued" in text and "\r\x1b[K" in text
    assert "── test:slow: passed" in text


def test_repeat_check_runs_its_remembered_plan_until_something_changes(
    tmp_path: Path, go: GoEnv
) -> None:
    root = repo(tmp_path, go)
    drop(root, "hog", "hang", "slow")
    env = run_env(go, GOCACHE=str(go.gocache))
    argv = [sys.executable, "-X", "importtime", "-m", "gobuild", "-C", str(root)]

    def check_lint() -> tuple[subprocess.CompletedProcess[str], bool]:
        res = subprocess.run(
            [*argv, "check", "lint"], env=env, capture_output=True, text=True, check=False
        )
        return res, "gobuild.project.config" in res.stderr  # did it load the configuration?

    first, loaded = check_lint()
    assert first.returncode == 0 and loaded, first.stdout + first.stderr
    again, loaded = check_lint()
    assert again.returncode == 0 and not loaded, again.stdout
    assert [r["name"] for r in summary(root, "lint")] == ["lint:vet", "lint:gofmt"]
    # A changed cap, or a new file (gofmt must see it), means planning again.
    config = root / "gobuild.toml"
    text = config.read_text()
    assert "[checks.lint]\ncpus = 1\n" in text
    config.write_text(text.replace("[checks.lint]\ncpus = 1\n", "[checks.lint]\ncpus = 0.5\n"))
    (root / "normal" / "extra.go").write_text("package normal\n\nvar  Extra = 1\n")
    third, loaded = check_lint()
    assert loaded and third.returncode == 1, third.stdout
    rows = {str(r["name"]): r for r in summary(root, "lint")}
    assert rows["lint:gofmt"]["status"] == "failed" and float(str(rows["lint:vet"]["cpus"])) == 0.5

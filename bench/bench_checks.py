"""`doit check` under the budget, against the same go commands run one after another.

Run: python bench/bench_checks.py [--rounds N]
On a generated module of 6 packages (CPU-bound and timer-bound tests, benchmarks):
  check:     `doit check` (budget 2 CPUs; test units of 1 CPU split per package; vet and
             gofmt units of 1 CPU) vs the same unit commands run serially (target <= 0.7x)
  overhead:  `gobuild check` with a 1-CPU budget (so units run one at a time) vs the same
             commands run directly, one after another (target <= 1.05x); with the host's
             mechanism (cgroup CPU quota included) and with the watchdog (memory only)
  noise:     coefficient of variation of BenchmarkWork's ns/op when the benchmark runs
             exclusively vs with `go test` of the CPU-bound packages running beside it
Both sides share one GOCACHE warmed beforehand (compiled packages reused, test results
never: the profile sets GOFLAGS=-count=1), so they do the same work.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gobuild.checks import commands  # noqa: E402
from gobuild.checks.budget import Budget  # noqa: E402
from gobuild.project.config import load_project  # noqa: E402
from gobuild.toolchain.install import ensure, request_for  # noqa: E402
from tests import godist  # noqa: E402
from tests.mirror import MirrorServer  # noqa: E402

BIN = Path(sys.executable).parent
CONFIG = """
[checks]
cpus = {cpus}
memory = "4GiB"
[checks.test]
cpus = 1
memory = "1GiB"
split = "package"
[checks.lint]
cpus = 1
memory = "1GiB"
[checks.bench]
count = 8
benchtime = "200000x"
# Test results are never reused between rounds; compiled packages are (a warm GOCACHE,
# as in a developer's loop).
[profiles.dev]
goflags = ["-count=1"]
"""


def generate(root: Path, mirror: str) -> None:
    root.mkdir(parents=True)
    (root / "go.mod").write_text("module example.com/checks\n\ngo 1.22\n")
    for i in range(6):
        pkg = root / f"p{i}"
        pkg.mkdir()
        (pkg / "work.go").write_text(
            f"package p{i}\n\n// Work spins for n rounds.\nfunc Work(n int) uint64 {{\n"
            "\tvar h uint64 = 1469598103934665603\n\tfor i := 0; i < n; i++ {\n"
            "\t\th = (h ^ uint64(i)) * 1099511628211\n\t}\n\treturn h\n}\n"
        )
        if i % 2 == 0:  # CPU-bound
            body = '\tif Work(400_000_000) == 0 {\n\t\tt.Fatal("zero")\n\t}\n'
            imports = ""
        else:  # waits on timers, like tests of servers and retries
            body = "\ttime.Sleep(1500 * time.Millisecond)\n"
            imports = '\t"time"\n'
        (pkg / "work_test.go").write_text(
            f'package p{i}\n\nimport (\n\t"testing"\n{imports})\n\n'
            f"func TestWork(t *testing.T) {{\n{body}}}\n\n"
            "func BenchmarkWork(b *testing.B) {\n\tfor i := 0; i < b.N; i++ {\n"
            "\t\tWork(1000)\n\t}\n}\n"
        )
    (root / "gobuild.toml").write_text(
        f'[go]\nversion = "1.22.10"\n[toolchain]\nsources = ["official"]\nmirror = "{mirror}"\n'
    )
    (root / "dodo.py").write_text("from gobuild.dodo import *  # noqa: F403\n")
    (root / ".gitignore").write_text("/.gobuild/\n/dist/\n")
    subprocess.run(
        [str(BIN / "gobuild"), "-C", str(root), "toolchain", "install"],
        check=True,
        capture_output=True,
    )


def set_cpus(root: Path, mirror: str, cpus: int) -> None:
    (root / "gobuild.toml").write_text(
        f'[go]\nversion = "1.22.10"\n[toolchain]\nsources = ["official"]\nmirror = "{mirror}"\n'
        + CONFIG.format(cpus=cpus)
    )


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    t = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{argv} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    out: dict[str, object] = {}
    with MirrorServer() as mirror, tempfile.TemporaryDirectory() as tmp:
        mirror.add("1.22.10", godist.real_archive("1.22.10"))
        work = Path(tmp)
        os.environ["GOBUILD_CACHE"] = str(work / "toolchains")
        root = work / "m"
        generate(root, mirror.url)
        set_cpus(root, mirror.url, 2)
        project = load_project(root)
        installed = ensure(request_for(project)).installed
        goroot = installed.goroot
        budget = Budget(cpus=2, memory=4 << 30)
        packages = [f"example.com/checks/p{i}" for i in range(6)]
        units = commands.test_units(project, budget, packages, work / "r")
        units += commands.lint_units(project, budget, commands.go_files(project))
        tools = {"go": str(goroot / "bin" / "go"), "gofmt": str(goroot / "bin" / "gofmt")}
        base = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
        base.update(GOBUILD_CACHE=str(work / "toolchains"), PATH=f"{BIN}:{os.environ['PATH']}")

        def env(name: str) -> dict[str, str]:
            return {**base, "GOCACHE": str(work / "gocache")}

        warm = {**env("warm"), "GOFLAGS": "-count=1", "PATH": f"{goroot / 'bin'}:{base['PATH']}"}
        for argv in (["go", "test", "-run=^$", "./..."], ["go", "vet", "./..."]):
            subprocess.run(
                [tools["go"], *argv[1:]], cwd=root, env=warm, check=True, capture_output=True
            )

        def serial(e: dict[str, str]) -> float:
            total = 0.0
            for u in units:
                argv = [tools[u.argv[0]], *u.argv[1:]]
                t = time.perf_counter()
                subprocess.run(
                    argv, cwd=root, env={**e, **dict(u.env)}, check=False, capture_output=True
                )
                total += time.perf_counter() - t
            return total

        sched: list[float] = []
        ser: list[float] = []
        sched1: list[float] = []
        ser1: list[float] = []
        watch1: list[float] = []
        startup: list[float] = []
        set_cpus(root, mirror.url, 2)
        for i in range(args.rounds):
            # Alternate which side goes first: the machine drifts, and a fixed order
            # would charge the drift to one side.
            if i % 2 == 0:
                sched.append(timed([str(BIN / "doit"), "check"], root, env(f"a{i}")))
                ser.append(serial(env(f"b{i}")))
            else:
                ser.append(serial(env(f"b{i}")))
                sched.append(timed([str(BIN / "doit"), "check"], root, env(f"a{i}")))
            e1 = env(f"c{i}")
            # --cpus, not a rewritten gobuild.toml: the config stays as in a developer's
            # loop, so repeat runs reuse their remembered plan (the first one plans).
            gobuild_check = [str(BIN / "gobuild"), "check", "--cpus", "1"]
            watchdog = [*gobuild_check, "--enforcement", "watchdog"]
            sides: list[tuple[list[float], list[str] | None]] = [
                (ser1, None),
                (sched1, gobuild_check),
                (watch1, watchdog),
            ]
            for series, command in sides if i % 2 == 0 else reversed(sides):
                t0 = time.time()
                series.append(serial(e1) if command is None else timed(command, root, e1))
                if series is watch1:
                    rows = json.loads(
                        (root / ".gobuild" / "checks" / "test+lint" / "summary.json").read_text()
                    )
                    startup.append(min(float(r["start"]) for r in rows) - t0)
        out["check_s"] = round(statistics.median(sched), 2)
        out["serial_s"] = round(statistics.median(ser), 2)
        out["check_vs_serial"] = round(statistics.median(sched) / statistics.median(ser), 3)
        out["sched_1cpu_s"] = round(statistics.median(sched1), 2)
        out["direct_1cpu_s"] = round(statistics.median(ser1), 2)
        out["overhead"] = round(statistics.median(sched1) / statistics.median(ser1) - 1, 3)
        # The same with the watchdog: scheduling and supervision without cgroups (no
        # cgroup joins, no CFS quota).
        out["sched_1cpu_watchdog_s"] = round(statistics.median(watch1), 2)
        out["overhead_watchdog"] = round(statistics.median(watch1) / statistics.median(ser1) - 1, 3)
        # Of which: interpreter start, imports, planning, until the first unit starts
        # (the first watchdog run planned; the others ran their remembered plan).
        out["startup_s"] = round(statistics.median(startup), 3)
        out["startup_first_s"] = round(startup[0], 3)
        # Benchmark noise: exclusive (doit bench) vs beside CPU-bound tests.
        e = env("bench")
        subprocess.run(
            [str(BIN / "doit"), "bench"], cwd=root, env=e, check=True, capture_output=True
        )
        alone = (root / ".gobuild" / "bench" / "latest.txt").read_text()
        noisy_env = {**e, "GOFLAGS": "-count=1"}
        stop = threading.Event()

        def load() -> None:  # lint- and test-like CPU work for the benchmark's whole run
            while not stop.is_set():
                subprocess.run(
                    [tools["go"], "test", "-p=2", "./p0", "./p2", "./p4"],
                    cwd=root,
                    env=noisy_env,
                    capture_output=True,
                    check=False,
                )

        loader = threading.Thread(target=load)
        loader.start()
        (bench_unit,) = commands.bench_units(project, budget)
        try:
            beside = subprocess.run(
                [tools["go"], *bench_unit.argv[1:]],
                cwd=root,
                env={**e, **dict(bench_unit.env)},
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        finally:
            stop.set()
            loader.join()
        cv_alone = ns_op_cv(alone)
        cv_beside = ns_op_cv(beside)
        out["bench_cv_exclusive"] = round(statistics.median(cv_alone.values()), 4)
        out["bench_cv_beside_tests"] = round(statistics.median(cv_beside.values()), 4)
    out["rounds"] = args.rounds
    print(json.dumps(out, indent=2))


def ns_op_cv(text: str) -> dict[str, float]:
    """Coefficient of variation of each benchmark's ns/op over its runs (two or more):
    how steady a benchmark ran, not a comparison (that is benchstat's)."""
    runs: dict[str, list[float]] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0].startswith("Benchmark") and "ns/op" in fields:
            runs.setdefault(fields[0], []).append(float(fields[fields.index("ns/op") - 1]))
    return {
        name: statistics.stdev(values) / statistics.fmean(values)
        for name, values in runs.items()
        if len(values) > 1 and statistics.fmean(values)
    }


if __name__ == "__main__":
    main()

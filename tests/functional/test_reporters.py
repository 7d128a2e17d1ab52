"""The pinned gotestsum and benchstat: JUnit XML, flaky-test reruns, benchmark comparisons.

Both are built through the real Go module proxy at gobuild's default pins (gotestsum
v1.13.0 needs Go 1.24, benchstat's go.mod Go 1.26), with the project's Go 1.27.3, into
the session's cache. A test that fails on its first run only is rerun by gotestsum and
reported flaky; one that always fails fails the run with its file:line; the JUnit XML
is gotestsum's. ``gobuild bench compare`` prints benchstat's own table. The Makefile's
test target installs the same gotestsum, checked against gobuild.lock, and runs it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest

from gobuild.project.platforms import host
from tests.buildenv import BIN, GoEnv, go_version_m, make_repo, run_env

pytestmark = pytest.mark.skipif(host().key != "linux-amd64", reason="real archives are linux/amd64")

GO = "1.27.3"
MODULE = "example.com/rep"
CODE = "package rep\n\n// Add adds.\nfunc Add(a, b int) int { return a + b }\n"
# Fails the first time it runs in a checkout, then passes: a marker beside the test.
TESTS = """package rep

import (
\t"os"
\t"testing"
)

func TestAdd(t *testing.T) {
\tif Add(1, 2) != 3 {
\t\tt.Fatal("1+2 != 3")
\t}
}

func TestFlaky(t *testing.T) {
\tif _, err := os.Stat("flaky.ran"); err != nil {
\t\t_ = os.WriteFile("flaky.ran", nil, 0o644)
\t\tt.Fatal("first run fails")
\t}
}
"""
ALWAYS = """package rep

import "testing"

func TestAlways(t *testing.T) {
\tt.Fatal("always fails")
}
"""
MAIN = f'package main\n\nimport "{MODULE}"\n\nfunc main() {{ println(rep.Add(1, 2)) }}\n'
CONFIG = "[checks.test]\njunit = true\nrerun_fails = 2\n"


def project(tmp_path: Path, go: GoEnv, config: str = CONFIG) -> Path:
    source = tmp_path / "source"
    source.mkdir()
    (source / "go.mod").write_text(f"module {MODULE}\n\ngo 1.21\n")
    (source / "rep.go").write_text(CODE)
    (source / "rep_test.go").write_text(TESTS)
    (source / "cmd" / "rep").mkdir(parents=True)  # a binary, for gobuild generate
    (source / "cmd" / "rep" / "main.go").write_text(MAIN)
    return make_repo(tmp_path / "r", str(source), go, config, pin=GO)


def env(go: GoEnv) -> dict[str, str]:
    # The session's cache (go.cache) keeps the toolchain and the built tools between tests.
    return run_env(go, GOPROXY="https://proxy.golang.org", GOFLAGS="")


def gobuild(root: Path, go: GoEnv, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "gobuild"), "-C", str(root), *args],
        env=env(go), capture_output=True, text=True, check=False, timeout=1800,
    )  # fmt: skip


def cases(junit: Path) -> list[tuple[str, str, bool]]:
    """(suite, test, failed) of every testcase in a JUnit file."""
    root = ElementTree.parse(junit).getroot()
    return [
        (str(suite.get("name")), str(case.get("name")), case.find("failure") is not None)
        for suite in root.iter("testsuite")
        for case in suite.iter("testcase")
    ]


@pytest.mark.slow
def test_gotestsum_writes_the_junit_and_reruns_a_flaky_test(tmp_path: Path, go: GoEnv) -> None:
    root = project(tmp_path, go)
    res = gobuild(root, go, "check", "test", "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    document = json.loads(res.stdout)
    [unit] = document["units"]
    flaky = f"{MODULE} TestFlaky (failed 1 of 2 runs)"
    assert (unit["name"], unit["status"], unit["flaky"]) == ("test", "passed", [flaky])
    assert document["failures"] == []
    # What a person reads (stderr under --json): the block, the table and the summary.
    assert f"FLAKY {flaky}" in res.stderr and "passed (1 flaky)" in res.stderr
    assert f"1 flaky test (passed when run again):\n  {flaky}\n" in res.stderr
    # gotestsum's JUnit: both runs of the flaky test, the first one failed.
    junit = Path(document["reports"]["junit"])
    assert junit.name == "junit.xml"
    found = cases(junit)
    assert (MODULE, "TestAdd", False) in found
    assert [failed for _, name, failed in found if name == "TestFlaky"] == [True, False]
    # The tool is gotestsum at its default pin, built by the project's Go and locked.
    [binary] = (go.cache / "tools" / "gotestsum" / "v1.13.0").glob("go*/bin/gotestsum")
    info = go_version_m(go, binary, GO)
    assert info.startswith(f"{binary}: go{GO}\n") and "\tgotest.tools/gotestsum\n" in info
    assert "\tmod\tgotest.tools/gotestsum\tv1.13.0\t" in info
    lock = json.loads((root / "gobuild.lock").read_text())["tools"]["gotestsum"]
    assert (lock["module"], lock["version"]) == ("gotest.tools/gotestsum", "v1.13.0")

    # A test failing in every run fails the check, named with its file:line.
    (root / "always_test.go").write_text(ALWAYS)
    res = gobuild(root, go, "check", "test", "--json")
    assert res.returncode == 1, res.stdout + res.stderr
    document = json.loads(res.stdout)
    [failure] = document["failures"]
    assert (failure["test"], failure["file"], failure["line"]) == (
        "TestAlways",
        "always_test.go",
        6,
    )
    assert document["units"][0]["flaky"] == []  # the marker stays: TestFlaky passed at once
    found = cases(Path(document["reports"]["junit"]))
    assert [failed for _, name, failed in found if name == "TestAlways"] == [True, True, True]


@pytest.mark.slow
def test_without_junit_or_reruns_no_gotestsum_is_built(tmp_path: Path, go: GoEnv) -> None:
    cache = tmp_path / "cache"  # a cache of its own: nothing built by other tests
    shutil.copytree(go.cache / "toolchains", cache / "toolchains", symlinks=True)
    root = project(tmp_path, go, config="")
    (root / "flaky.ran").write_text("")  # TestFlaky passes: no reruns needed
    res = subprocess.run(
        [str(BIN / "gobuild"), "-C", str(root), "check", "test", "--json"],
        env={**env(go), "GOBUILD_CACHE": str(cache)},
        capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    document = json.loads(res.stdout)
    assert document["reports"]["junit"] is None
    assert not (cache / "tools").exists()


BENCH = "pkg: example.com/rep\nBenchmarkAdd-2  \t1000000\t{} ns/op\n"


@pytest.mark.slow
def test_bench_compare_prints_the_pinned_benchstat_table(tmp_path: Path, go: GoEnv) -> None:
    root = project(tmp_path, go, config="")
    old, new = tmp_path / "old" / "bench.txt", tmp_path / "new" / "bench.txt"
    for path, base in ((old, 100), (new, 50)):
        path.parent.mkdir()
        path.write_text("".join(BENCH.format(base + d) for d in (0, 1, -1, 2, -2, 0)))
    res = gobuild(root, go, "bench", "compare", str(old), str(new))
    assert res.returncode == 0, res.stdout + res.stderr
    # benchstat's own table: medians, then the change with its p-value and sample counts.
    # Both inputs are named bench.txt: the columns are labelled old and new instead.
    heading = res.stdout.splitlines()[1]
    assert [cell.strip() for cell in heading.split("│")[1:3]] == ["old", "new"], res.stdout
    assert "vs base" in res.stdout
    [row] = [line for line in res.stdout.splitlines() if line.startswith("Add-2")]
    assert "-50.00%" in row and "(p=0.002 n=6)" in row, res.stdout
    [binary] = (go.cache / "tools" / "benchstat").glob("*/go*/bin/benchstat")
    assert "\tmod\tgolang.org/x/perf\t" in go_version_m(go, binary, GO)


@pytest.mark.slow
def test_make_test_runs_the_locked_gotestsum(tmp_path: Path, go: GoEnv) -> None:
    root = project(tmp_path, go)
    assert gobuild(root, go, "lock").returncode == 0  # gotestsum resolved and locked
    assert "gotestsum" in json.loads((root / "gobuild.lock").read_text())["tools"]
    assert gobuild(root, go, "generate").returncode == 0
    goroot = go.cache / "toolchains" / f"go{GO}.linux-amd64" / "go"
    # As install-go leaves it: the pinned Go on PATH, nothing else of Go's.
    make_env = {**env(go), "PATH": f"{goroot / 'bin'}:/usr/bin:/bin"}
    res = subprocess.run(["make", "test"], cwd=root, env=make_env, capture_output=True,
                         text=True, check=False, timeout=1800)  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr  # TestFlaky passed on its rerun
    assert "DONE 2 runs, 3 tests, 1 failure" in res.stdout, res.stdout  # gotestsum's summary
    found = cases(root / ".gobuild" / "reports" / "junit.xml")
    assert [failed for _, name, failed in found if name == "TestFlaky"] == [True, False]
    built = root / ".gobuild" / "tools" / "gotestsum" / "v1.13.0" / "gotestsum"
    assert "\tmod\tgotest.tools/gotestsum\tv1.13.0\t" in go_version_m(go, built, GO)


@pytest.mark.slow
def test_a_tool_newer_than_the_project_go_is_built_with_tools_go(tmp_path: Path, go: GoEnv) -> None:
    # Go 1.22.10 cannot build gotestsum v1.13.0 (its go.mod: go 1.24.0); [tools] go can.
    cache = tmp_path / "cache"  # a cache of its own: Go from the mirror, this build the first
    root = project(tmp_path, go)
    toml = (root / "gobuild.toml").read_text().replace(f'version = "{GO}"', 'version = "1.22.10"')
    (root / "gobuild.toml").write_text(toml)
    (root / "flaky.ran").write_text("")

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "gobuild"), "-C", str(root), "check", "test", "--json"],
            env={**env(go), "GOBUILD_CACHE": str(cache)},
            capture_output=True, text=True, check=False, timeout=1800,
        )  # fmt: skip

    # Without [tools] go: one line saying which Go the tool needs, and nothing runs.
    res = check()
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr.strip().splitlines()[-1] == (
        "gobuild: error: gotestsum v1.13.0 needs Go 1.24.0 or later (the go line of "
        "gotest.tools/gotestsum's go.mod), newer than the project's: set [tools] go = "
        '"1.24.0" in gobuild.toml, or pin an older version of the tool'
    ), res.stderr
    (root / "gobuild.toml").write_text(toml + '\n[tools]\ngo = "1.27.3"\n')
    res = check()
    assert res.returncode == 0, res.stdout + res.stderr
    assert (
        "building gotestsum v1.13.0 with Go 1.27.3 ([tools] go: its go.mod needs Go 1.24.0, "
        "the project's is 1.22.10)"
    ) in res.stderr
    [binary] = (cache / "tools" / "gotestsum" / "v1.13.0").glob("go*/bin/gotestsum")
    assert binary.parent.parent.name == "go1.27.3-linux-amd64"
    lock = json.loads((root / "gobuild.lock").read_text())
    assert (lock["go"]["version"], lock["tools_go"]["version"]) == ("1.22.10", "1.27.3")
    assert lock["tools_go"]["artifacts"]["linux-amd64"]["official"]["sha256"]
    assert lock["tools"]["gotestsum"]["go"] == "1.24.0"
    assert json.loads(res.stdout)["reports"]["junit"]

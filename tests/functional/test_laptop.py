"""Checks on a laptop: no OS mechanism to enforce caps (macOS), and ``race = true``.

The fixture (tests/fixtures/racy) has a data race a plain ``go test`` passes and
``go test -race`` fails, a test that logs the share the Go runtime was given
(GOMAXPROCS, GOMEMLIMIT) and CGO_ENABLED, and a main package for ``doit build``.

A host without cgroups, systemd or /proc is stood in for at the one seam that decides
it: the availability probe (:func:`gobuild.checks.limits.detect.available`), replaced
in the gobuild process by a launcher; everything else runs for real.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gobuild.checks.budget import memlimit
from gobuild.project.platforms import host
from tests.buildenv import BIN, GoEnv, go_version_m, make_repo, run_env

pytestmark = pytest.mark.skipif(host().key != "linux-amd64", reason="real archives are linux/amd64")

MIB = 1 << 20
CONFIG = """
[checks]
cpus = 2
memory = "2GiB"
{checks}
[checks.test]
cpus = 1
memory = "512MiB"
timeout = "120s"
race = {race}
[checks.lint]
cpus = 1
memory = "256MiB"
# Compiled packages come from the session's shared GOCACHE; test results never do.
[profiles.dev]
goflags = ["-count=1"]
"""
# The gobuild command on a host that offers no enforcement mechanism (macOS).
LAUNCHER = """\
import sys

from gobuild.checks.limits import detect


def nothing_here(mechanism, env):
    return "hidden by the test"


detect.available = nothing_here
from gobuild.cli.main import run

run()
"""


def repo(tmp_path: Path, go: GoEnv, *, race: bool = False, checks: str = "") -> Path:
    toml = CONFIG.format(race=str(race).lower(), checks=checks)
    return make_repo(tmp_path / "m", "racy", go, toml)


def env_for(go: GoEnv, **extra: str) -> dict[str, str]:
    env = run_env(go, **extra)
    for name in ("DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"):  # no systemd --user
        env.pop(name, None)
    return env


def gobuild(
    root: Path, go: GoEnv, *args: str, hide_mechanisms: bool = False, **extra: str
) -> subprocess.CompletedProcess[str]:
    if hide_mechanisms:
        launcher = root.parent / "gobuild-without-mechanisms.py"
        launcher.write_text(LAUNCHER)
        argv = [sys.executable, str(launcher)]
    else:
        argv = [str(BIN / "gobuild")]
    return subprocess.run(
        [*argv, "-C", str(root), *args],
        env=env_for(go, **extra), capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip


def doit(
    root: Path, go: GoEnv, *args: str, check: bool = True, **extra: str
) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(
        [str(BIN / "doit"), *args],
        cwd=root, env=env_for(go, **extra), capture_output=True, text=True, check=False,
        timeout=600,
    )  # fmt: skip
    if check and res.returncode != 0:
        raise AssertionError(f"doit {' '.join(args)} failed:\n{res.stdout}\n{res.stderr}")
    return res


def summary(root: Path, kinds: str) -> dict[str, dict[str, object]]:
    rows = json.loads((root / ".gobuild" / "checks" / kinds / "summary.json").read_text())
    return {str(r["name"]): r for r in rows}


def log_of(row: dict[str, object]) -> str:
    return Path(str(row["log"])).read_text()


def opening(stdout: str) -> str:
    lines = [ln for ln in stdout.splitlines() if ln.startswith("checks: budget ")]
    assert len(lines) == 1, stdout
    return lines[0]


# --- enforcement = "none", asked for or the only choice ----------------------------------


def test_enforcement_none_keeps_the_go_side_of_the_caps(tmp_path: Path, go: GoEnv) -> None:
    root = repo(tmp_path, go, checks='enforcement = "none"')
    res = doit(root, go, "check")
    opened = opening(res.stdout)
    assert "none" in opened and "not available" not in opened  # asked for: nothing to explain
    rows = summary(root, "test+lint")
    assert set(rows) == {"test", "lint:vet", "lint:gofmt"}
    assert {r["status"] for r in rows.values()} == {"passed"}
    assert {r["mechanism"] for r in rows.values()} == {"none"}
    table = [ln.split() for ln in res.stdout.splitlines()]
    assert ["test", "passed"] in [row[:2] for row in table if row[-1:] == ["none"]], res.stdout
    # What the OS does not hold, the Go runtime and go test still get.
    assert f"share: GOMAXPROCS=1 GOMEMLIMIT={memlimit(512 * MIB)} CGO_ENABLED=0" in log_of(
        rows["test"]
    )
    # The command line's --enforcement none overrides gobuild.toml's choice.
    (root / "gobuild.toml").write_text(
        (root / "gobuild.toml").read_text().replace('"none"', '"cgroup2"')
    )
    res = gobuild(root, go, "check", "test", "--enforcement", "none")
    assert res.returncode == 0, res.stdout + res.stderr
    assert {r["mechanism"] for r in summary(root, "test").values()} == {"none"}


def test_auto_without_a_mechanism_runs_with_none_after_one_notice(
    tmp_path: Path, go: GoEnv
) -> None:
    root = repo(tmp_path, go)
    res = gobuild(root, go, "check", hide_mechanisms=True)
    assert res.returncode == 0, res.stdout + res.stderr
    told = [ln for ln in (res.stdout + res.stderr).splitlines() if "hidden by the test" in ln]
    assert told == [opening(res.stdout)]  # one line, the run's first
    assert "none" in told[0]
    for mechanism in ("cgroup2", "systemd-run", "cgroup1", "watchdog"):
        assert f"{mechanism}: hidden by the test" in told[0]
    rows = summary(root, "test+lint")
    assert {r["status"] for r in rows.values()} == {"passed"}
    assert {r["mechanism"] for r in rows.values()} == {"none"}
    assert "share: GOMAXPROCS=1 " in log_of(rows["test"])


def test_a_missing_mechanism_asked_for_is_one_line_and_exit_1(tmp_path: Path, go: GoEnv) -> None:
    root = repo(tmp_path, go)
    res = gobuild(root, go, "check", "test", "--enforcement", "cgroup2", hide_mechanisms=True)
    assert res.returncode == 1, res.stdout + res.stderr
    assert res.stderr.startswith("gobuild: error: limits: cgroup2 cannot be used here: ")
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert not (root / ".gobuild" / "checks" / "test" / "summary.json").exists()
    # For real: no systemd --user without a session bus; doit says the same one line.
    res = doit(root, go, "test", "--enforcement", "systemd-run", check=False)
    assert res.returncode == 1, res.stdout + res.stderr
    out = res.stdout + res.stderr
    line = "limits: systemd-run cannot be used here: no user session bus"
    assert line in out and "Traceback" not in out
    assert len([ln for ln in out.splitlines() if "cannot be used here" in ln]) == 1


# --- race = true -------------------------------------------------------------------------


@pytest.mark.slow
def test_race_is_caught_with_cgo_on_for_the_tests_alone(tmp_path: Path, go: GoEnv) -> None:
    root = repo(tmp_path, go)
    # Without race the racy test passes, and the tests see [build] cgo (off).
    doit(root, go, "test")
    assert "CGO_ENABLED=0" in log_of(summary(root, "test")["test"])

    (root / "gobuild.toml").write_text(
        (root / "gobuild.toml").read_text().replace("race = false", "race = true")
    )
    res = doit(root, go, "test", check=False)
    assert res.returncode == 1, res.stdout + res.stderr
    row = summary(root, "test")["test"]
    assert row["status"] == "failed"
    log = log_of(row)
    assert "WARNING: DATA RACE" in log and "race detected during execution of test" in log
    assert "CGO_ENABLED=1" in log  # cgo on for the race detector
    assert "TestRacy" in res.stdout and "race detected" in res.stdout

    # The binaries are built as before: cgo off, no race detector.
    doit(root, go, "build")
    info = go_version_m(go, root / "dist" / "racy")
    assert "CGO_ENABLED=0" in info and "-race" not in info

    # make test runs the same race (cgo on, -race) with the pinned Go.
    assert gobuild(root, go, "generate", "Makefile").returncode == 0
    goroot = go.cache / "toolchains" / "go1.22.10.linux-amd64" / "go"
    made = subprocess.run(
        ["make", "test", f"GO={goroot / 'bin' / 'go'}"],
        cwd=root, env=env_for(go), capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert made.returncode != 0, made.stdout + made.stderr
    assert "WARNING: DATA RACE" in made.stdout + made.stderr
    assert "CGO_ENABLED=1 " in made.stdout and " -race " in made.stdout


def test_race_without_a_c_compiler_is_refused_in_one_line(tmp_path: Path, go: GoEnv) -> None:
    root = repo(tmp_path, go, race=True)
    res = gobuild(root, go, "check", "test", CC="/opt/no-such-compiler/cc")
    assert res.returncode == 1, res.stdout + res.stderr
    assert res.stderr.startswith(f"gobuild: error: {root / 'gobuild.toml'}: checks.test.race: ")
    assert "'/opt/no-such-compiler/cc' is not found" in res.stderr
    assert res.stderr.count("\n") == 1 and res.stdout == ""
    res = doit(root, go, "test", check=False, CC="/opt/no-such-compiler/cc")
    assert res.returncode == 1 and "checks.test.race: " in res.stdout + res.stderr
    # Only the test units need the compiler: lint and builds go on.
    res = gobuild(root, go, "check", "lint", CC="/opt/no-such-compiler/cc")
    assert res.returncode == 0, res.stdout + res.stderr
    doit(root, go, "build", CC="/opt/no-such-compiler/cc")

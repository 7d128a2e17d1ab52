"""Pinned tools built through the Go module proxy: staticcheck at the version [tools] names.

The real proxy serves staticcheck's module and its dependencies; gobuild builds it once
with the project's pinned Go (1.22.10 here) into the session's cache, records its h1 in
gobuild.lock, and runs it as the lint unit: a known finding fails the run with its
file:line. A version that does not exist, or a module whose h1 differs from the lock, is
one line naming the tool, and nothing runs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from gobuild.project.platforms import host
from tests.buildenv import BIN, GoEnv, go_version_m, make_repo, run_env
from tests.staticproxy import GREET, GREET_FILES, ProxyServer, greeting_app, publish_module
from tests.vulndb import write_db

pytestmark = pytest.mark.skipif(host().key != "linux-amd64", reason="real archives are linux/amd64")

# staticcheck 2024.1.1: its go.mod asks for Go 1.22.1, which the test's Go 1.22.10 meets.
STATICCHECK = "honnef.co/go/tools/cmd/staticcheck@v0.5.1"
FINDING = """package main

import "strings"

func shout(s string) string {
\tstrings.ToUpper(s) // SA4017: its result is ignored
\treturn s
}

var _ = shout
"""


def checked(tmp_path: Path, go: GoEnv, pin: str = STATICCHECK) -> Path:
    toml = f'[checks]\nlinters = ["staticcheck"]\n\n[tools]\nstaticcheck = "{pin}"\n'
    root = make_repo(tmp_path / "r", "twobin", go, toml)
    (root / "cmd" / "a" / "greet.go").write_text(FINDING)
    return root


def tool_env(go: GoEnv, **extra: str) -> dict[str, str]:
    # The session's cache (go.cache) keeps the toolchain and the built tool between tests.
    return run_env(go, GOPROXY="https://proxy.golang.org", GOFLAGS="", **extra)


def gobuild(root: Path, go: GoEnv, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "gobuild"), "-C", str(root), *args],
        env=tool_env(go), capture_output=True, text=True, check=False, timeout=1800,
    )  # fmt: skip


@pytest.mark.slow
def test_a_pinned_linter_is_built_recorded_and_its_finding_fails_the_run(
    tmp_path: Path, go: GoEnv
) -> None:
    root = checked(tmp_path, go)
    res = gobuild(root, go, "check", "lint", "--json")
    assert res.returncode == 1, res.stdout + res.stderr
    document = json.loads(res.stdout)
    [unit] = document["units"]
    assert (unit["name"], unit["status"]) == ("lint:staticcheck", "failed")
    [finding] = document["failures"]
    assert (finding["file"], finding["line"]) == ("cmd/a/greet.go", 6), finding
    assert "SA4017" in finding["message"]
    # gobuild.lock records the module as built, by its h1.
    tool = json.loads((root / "gobuild.lock").read_text())["tools"]["staticcheck"]
    assert tool["module"] == "honnef.co/go/tools" and tool["version"] == "v0.5.1"
    assert tool["package"] == "honnef.co/go/tools/cmd/staticcheck"
    assert tool["h1"].startswith("h1:")
    # The binary is the pinned version, built by the project's pinned Go.
    [binary] = (go.cache / "tools" / "staticcheck" / "v0.5.1").glob("go*/bin/staticcheck")
    info = go_version_m(go, binary)
    assert info.startswith(f"{binary}: go1.22.10\n")
    assert "\tmod\thonnef.co/go/tools\tv0.5.1\t" in info


@pytest.mark.slow
def test_a_pin_that_cannot_be_had_is_one_line_and_nothing_runs(tmp_path: Path, go: GoEnv) -> None:
    root = checked(tmp_path, go, "honnef.co/go/tools/cmd/staticcheck@v0.0.99")
    res = gobuild(root, go, "check", "lint")
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gobuild: error: staticcheck: "), res.stderr
    assert "v0.0.99" in lines[0] and "Traceback" not in res.stderr
    assert "lint:staticcheck" not in res.stdout  # no unit ran, none was skipped


@pytest.mark.slow
def test_a_module_that_differs_from_the_lock_is_refused(tmp_path: Path, go: GoEnv) -> None:
    root = checked(tmp_path, go)
    assert gobuild(root, go, "check", "lint").returncode == 1  # built, recorded, one finding
    lock = json.loads((root / "gobuild.lock").read_text())
    lock["tools"]["staticcheck"]["h1"] = "h1:" + "A" * 43 + "="
    (root / "gobuild.lock").write_text(json.dumps(lock))
    res = gobuild(root, go, "check", "lint")
    assert res.returncode == 1
    assert "gobuild.lock records h1:AAAA" in res.stderr and "nothing was built" in res.stderr
    assert "lint:staticcheck" not in res.stdout


@pytest.mark.slow
def test_two_runs_at_once_build_the_tool_once(tmp_path: Path, go: GoEnv) -> None:
    # A cache of its own (the toolchain copied in), so this test's build is the first.
    cache = tmp_path / "cache"
    shutil.copytree(go.cache / "toolchains", cache / "toolchains", symlinks=True)
    env = tool_env(go, GOBUILD_CACHE=str(cache))
    roots = [checked(tmp_path / n, go) for n in ("one", "two")]
    runs = [
        subprocess.Popen([str(BIN / "gobuild"), "-C", str(r), "check", "lint"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for r in roots
    ]  # fmt: skip
    outcomes = [(p.wait(timeout=1800), *p.communicate()) for p in runs]
    assert [code for code, _, _ in outcomes] == [1, 1], outcomes  # each: the one finding
    assert all("SA4017" in out for _, out, _ in outcomes)
    builds = sum(err.count("gobuild: building staticcheck v0.5.1") for _, _, err in outcomes)
    assert builds == 1, outcomes
    [built] = (cache / "tools" / "staticcheck" / "v0.5.1").iterdir()  # no half-built leftovers
    assert (built / "complete.json").is_file()


@pytest.mark.slow
def test_the_makefile_builds_the_locked_pin_and_refuses_another_module(
    tmp_path: Path, go: GoEnv
) -> None:
    root = checked(tmp_path, go)
    assert gobuild(root, go, "check", "lint").returncode == 1  # built and locked
    assert gobuild(root, go, "generate").returncode == 0
    goroot = go.cache / "toolchains" / "go1.22.10.linux-amd64" / "go"
    env = {**tool_env(go), "PATH": f"{goroot / 'bin'}:/usr/bin:/bin"}  # as install-go leaves it

    def make(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["make", *args], cwd=root, env=env, capture_output=True,
                              text=True, check=False, timeout=1800)  # fmt: skip

    res = make("lint")
    assert res.returncode != 0
    assert "cmd/a/greet.go:6:2: ToUpper doesn't have side effects" in res.stdout, res.stdout
    built = root / ".gobuild" / "tools" / "staticcheck" / "v0.5.1" / "staticcheck"
    info = go_version_m(go, built)
    assert "\tmod\thonnef.co/go/tools\tv0.5.1\t" in info
    # A lock whose h1 is not the module's: make stops before building anything.
    lock = json.loads((root / "gobuild.lock").read_text())
    lock["tools"]["staticcheck"]["h1"] = "h1:" + "A" * 43 + "="
    (root / "gobuild.lock").write_text(json.dumps(lock))
    built.unlink()
    assert gobuild(root, go, "generate").returncode == 0
    res = make("staticcheck")
    assert res.returncode != 0
    assert "is not gobuild.lock's h1:AAAA" in res.stderr, res.stderr
    assert not built.exists()


GOVULNCHECK = "golang.org/x/vuln/cmd/govulncheck@v1.1.4"  # its go.mod asks for Go 1.22.0
APP = """package main

import (
\t"fmt"

\t"example.com/greet"
)

func main() { fmt.Println(greet.Word()) }
"""


@pytest.mark.slow
def test_govulncheck_flags_a_reached_vulnerability_from_a_local_database(
    tmp_path: Path, go: GoEnv
) -> None:
    # The app needs example.com/greet v1.0.0 from a loopback proxy; a database in the
    # repository (OSV layout, as vuln.go.dev serves it) says v1.0.0 is vulnerable in Word.
    proxy_root = tmp_path / "proxy"
    sums = publish_module(proxy_root, GREET, "v1.0.0", GREET_FILES)
    source = greeting_app(tmp_path / "source", sums, APP)
    write_db(source / "vulndb", "GO-2099-0001", "example.com/greet", "1.0.1",
             {"example.com/greet": ["Word"]}, "greet.Word says hello to attackers")  # fmt: skip
    toml = (f'[checks]\nlinters = ["govulncheck"]\nvulndb = "vulndb"\n\n'
            f'[tools]\ngovulncheck = "{GOVULNCHECK}"\n')  # fmt: skip
    root = make_repo(tmp_path / "r", str(source), go, toml)
    with ProxyServer(proxy_root) as proxy:
        env = {**tool_env(go), "GOMODCACHE": str(tmp_path / "modcache"), "GOSUMDB": "off",
               "GONOSUMDB": "example.com"}  # fmt: skip
        env["GOPROXY"] = f"{proxy.url},https://proxy.golang.org"  # the tool's from the real one
        res = subprocess.run(
            [str(BIN / "gobuild"), "-C", str(root), "check", "lint", "--json"],
            env=env, capture_output=True, text=True, check=False, timeout=1800,
        )  # fmt: skip
    assert res.returncode == 1, res.stdout + res.stderr
    document = json.loads(res.stdout)
    [unit] = document["units"]
    assert (unit["name"], unit["status"], unit["returncode"]) == ("lint:govulncheck", "failed", 3)
    [finding] = document["failures"]
    assert (finding["file"], finding["line"]) == ("main.go", 9), finding
    assert finding["message"].startswith("GO-2099-0001: greet.Word says hello to attackers")
    assert "fixed in example.com/greet@v1.0.1" in finding["message"]

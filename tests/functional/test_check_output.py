"""What ``gobuild check`` tells about a real module with a failing test among passing
ones and a vet finding: the failing test's own output, one summary with file:line, the
full ``go test -json`` stream kept in the reports, and ``--json`` for tools.

The fixture (tests/fixtures/failing): ``calc`` (``TestMul`` fails at calc_test.go:34
after a log at line 32; eleven tests and subtests pass), ``strs`` (four passing tests),
``vetme`` (``n = n``, which go vet finds and go test's own vet subset does not). The
pieces without Go are in tests/unit/test_check_output.py.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gobuild.project.platforms import host
from tests.buildenv import BIN, GoEnv, make_repo, run_env

pytestmark = pytest.mark.skipif(host().key != "linux-amd64", reason="real archives are linux/amd64")

CONFIG = """
[checks]
cpus = 2
memory = "2GiB"
[checks.test]
cpus = 1
memory = "512MiB"
[checks.lint]
cpus = 1
memory = "512MiB"
[profiles.dev]
goflags = ["-count=1"]
"""
CALC = "example.com/failing/calc"
MUL_ERROR = "    calc_test.go:34: Mul(3, 4) = 7, want 12"
VET = "vetme/vetme.go:6:2: self-assignment of n to n"


@pytest.fixture
def failing(tmp_path: Path, go: GoEnv) -> Path:
    return make_repo(tmp_path / "m", "failing", go, CONFIG)


def gobuild(root: Path, go: GoEnv, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "gobuild"), "-C", str(root), *args],
        env=run_env(go, GOCACHE=str(go.gocache)), capture_output=True, text=True, check=False,
        timeout=600,
    )  # fmt: skip


def test_a_failing_test_s_output_and_one_summary(failing: Path, go: GoEnv) -> None:
    res = gobuild(failing, go, "check")
    out = res.stdout
    assert res.returncode == 1, out + res.stderr
    # The failing test's own output, under gotestsum's heading; not the passing ones'.
    assert (
        f"=== FAIL: {CALC} TestMul (0.00s)\n    calc_test.go:32: multiplying 3 by 4\n{MUL_ERROR}\n"
    ) in out
    for noise in ("=== RUN", "--- PASS", "--- FAIL", "TestUpper", "lower is fine", "subtracting"):
        assert noise not in out, noise
    # A line per package, as go test sums them up.
    block = out.split("── test: failed", 1)[1].split("── ", 1)[0]
    assert [ln.split()[:2] for ln in block.splitlines()[1:4]] == [
        ["FAIL", CALC], ["ok", "example.com/failing/strs"], ["ok", "example.com/failing/vetme"],
    ]  # fmt: skip
    # vet's block is its finding, the path from the module root.
    assert "── lint:vet: failed" in out and f"\n{VET}\n" in out
    # One summary of the whole run, with file:line, then where the full stream is.
    summary = out.split("\n2 failures:\n", 1)[1].splitlines()
    assert summary[:2] == [
        f"  {CALC} TestMul calc/calc_test.go:34 (0.00s)",
        f"  lint:vet {VET}",
    ]
    reports = failing / ".gobuild" / "checks" / "test+lint"
    assert summary[2].startswith(f"reports: {reports} (full go test -json output: test.json;")
    assert summary[2] == out.splitlines()[-1]
    # The full stream, passing tests and all, is in the reports.
    stream = (reports / "test.json").read_text()
    assert '"Test":"TestUpper"' in stream and "=== RUN   TestTable/case7" in stream
    assert "gobuild: 2 check(s) did not pass: test failed, lint:vet failed" in res.stderr


def test_check_json_is_one_document_on_stdout(failing: Path, go: GoEnv) -> None:
    res = gobuild(failing, go, "check", "--json")
    assert res.returncode == 1, res.stdout + res.stderr
    document = json.loads(res.stdout)
    assert document["passed"] is False
    units = {u["name"]: u for u in document["units"]}
    assert set(units) == {"test", "lint:vet", "lint:gofmt"}
    assert [units[n]["status"] for n in ("test", "lint:vet", "lint:gofmt")] == [
        "failed", "failed", "passed",
    ]  # fmt: skip
    assert units["test"]["kind"] == "test" and units["test"]["caps"] == {
        "cpus": 1.0,
        "memory": 512 << 20,
    }
    assert units["test"]["mechanism"] == document["mechanism"]
    assert units["test"]["elapsed"] > 0
    mul, vet = document["failures"]
    assert {k: mul[k] for k in ("unit", "package", "test", "file", "line", "reason")} == {
        "unit": "test", "package": CALC, "test": "TestMul", "file": "calc/calc_test.go",
        "line": 34, "reason": "failed",
    }  # fmt: skip
    assert mul["elapsed"] is not None and MUL_ERROR in mul["output"]
    assert (vet["unit"], vet["file"], vet["line"], vet["column"]) == ("lint:vet",
                                                                     "vetme/vetme.go", 6, 2)  # fmt: skip
    assert Path(document["reports"]["test_json"]).is_file()
    assert document["reports"]["junit"] is None  # [checks.test] junit is off
    # What a person reads went to stderr.
    assert f"=== FAIL: {CALC} TestMul" in res.stderr and "\n2 failures:\n" in res.stderr


def test_a_passing_run_stays_short(failing: Path, go: GoEnv) -> None:
    calc = failing / "calc" / "calc.go"
    calc.write_text(calc.read_text().replace("{ return a + b }\n", "{ return a * b }\n", 2)
                    .replace("{ return a * b }\n", "{ return a + b }\n", 1))  # fmt: skip
    assert "func Mul(a, b int) int { return a * b }" in calc.read_text()
    vetme = failing / "vetme" / "vetme.go"
    vetme.write_text(vetme.read_text().replace("\tn = n\n", ""))
    res = gobuild(failing, go, "check")
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    block = next(i for i, ln in enumerate(lines) if ln.startswith("── test: passed"))
    assert [ln.split()[:2] for ln in lines[block + 1 : block + 4]] == [
        ["ok", CALC], ["ok", "example.com/failing/strs"], ["ok", "example.com/failing/vetme"],
    ]  # fmt: skip
    assert "failures:" not in res.stdout and "=== " not in res.stdout
    # The opening, a start line and a heading per unit, the package lines, the table
    # (header and a row per unit) and the reports: nothing else.
    assert len(lines) == 1 + 3 * 2 + 3 + 4 + 1, res.stdout

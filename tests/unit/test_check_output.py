"""What a check run tells a person and a tool: failing tests with their own output,
build failures, linter findings, the summary of every failure, and the JSON document.

The streams are real ``go test -json`` and ``go vet`` output recorded once under
tests/fixtures/reports/ (its README says how), or written here in the exact format
``go test -json`` emits; no test here runs Go. tests/functional/test_check_output.py
runs the same against a real module.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gobuild.checks import failures, report
from gobuild.checks.budget import Budget
from gobuild.checks.failures import Failure
from gobuild.checks.units import Result, Status
from gobuild.project.names import CheckKind
from gobuild.ui.console import CheckPrinter

FIXTURES = Path(__file__).parent.parent / "fixtures" / "reports"
# Where the go1.22/go1.26 samples were recorded: their stack traces name files under it.
RECORDED = Path("/tmp/rep/mod")
REPORTS = Path("/work/m/.gobuild/checks/test+lint")


def text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def result(
    output: str,
    *,
    name: str = "test",
    kind: CheckKind = "test",
    status: Status = "failed",
    note: str = "exit 1",
) -> Result:
    return Result(
        name=name, kind=kind, status=status, returncode=1 if status == "failed" else 0,
        wall=1.25, cpu=0.5, peak_memory=64 << 20, mechanism="watchdog", start=0.0, end=1.25,
        cpus=1.0, memory=512 << 20, exclusive=False,
        log=f"/work/m/.gobuild/checks/test/{name.replace(':', '-')}.log", output=output,
        note=note,
    )  # fmt: skip


def module(tmp_path: Path, path: str, files: list[str]) -> Path:
    """A module root with go.mod and empty files at ``files``."""
    (tmp_path / "go.mod").write_text(f"module {path}\n\ngo 1.21\n")
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("package x\n")
    return tmp_path


def events(*items: Mapping[str, object]) -> str:
    """A stream written as go test -json writes it: one event per line."""
    return "".join(json.dumps(item, separators=(",", ":")) + "\n" for item in items)


def only(stream: str, *packages: str) -> str:
    """The lines of a recorded stream that belong to ``packages``."""
    return "".join(
        line for line in stream.splitlines(keepends=True)
        if line.startswith("{") and json.loads(line).get("Package") in packages
    )  # fmt: skip


# The go1.22 sample of a module with passing packages, a package without tests, failing
# tests (one logs first, one is a failing subtest), a test that calls os.Exit, and a
# package go test's own vet refuses (tests/fixtures/reports/README.md).
MANY = "go122-many.jsonl"
M = "example.com/m"
MANY_FILES = ["a/a_test.go", "e/e_test.go", "pv/pv.go"]


def where(found: list[Failure]) -> list[tuple[str, str, str, str, int | None]]:
    return [(f.package, f.test, f.reason, f.file, f.line) for f in found]


# ------------------------------------------------------------------------ failing tests


def test_every_failing_test_is_found_with_its_file_and_line(tmp_path: Path) -> None:
    root = module(tmp_path, M, MANY_FILES)
    found = failures.read(result(text(MANY)), root).failures
    assert where(list(found)) == [
        (f"{M}/a", "TestTwo", "failed", "a/a_test.go", 9),  # the error, not the log before it
        (f"{M}/a", "TestTable/y", "failed", "a/a_test.go", 16),  # TestTable failed for it
        (f"{M}/e", "TestExits", "no result", "e/e_test.go", 11),
        (f"{M}/pv", "", "build failed", "pv/pv.go", 6),
    ]
    exits = found[2]
    assert exits.message == "the test binary died while this test ran"
    assert exits.elapsed is None and found[0].elapsed == 0.0
    assert found[3].column == 9 and found[3].location == "pv/pv.go:6:9"


def test_a_test_s_own_output_is_kept_without_go_test_s_framing(tmp_path: Path) -> None:
    found = failures.read(result(text(MANY)), module(tmp_path, M, MANY_FILES)).failures
    assert found[0].output == ("    a_test.go:7: setup", "    a_test.go:9: 1+1 = 2, want 3")
    assert found[1].output == ("    a_test.go:16: bad y",)
    # A build failure keeps the compiler's lines (go test's vet, here), not "FAIL pkg".
    assert found[3].output == (
        f"# {M}/pv",
        f"# [{M}/pv]",
        "pv/pv.go:6:9: fmt.Sprintf format %d has arg name of wrong type string",
    )
    assert found[3].compiler_errors == [
        "pv/pv.go:6:9: fmt.Sprintf format %d has arg name of wrong type string"
    ]


def test_without_a_module_root_files_are_named_as_go_test_wrote_them() -> None:
    found = failures.read(result(text(MANY)), None).failures
    assert [f.location for f in found] == [
        "a_test.go:9", "a_test.go:16", "e_test.go:11", "pv/pv.go:6:9",
    ]  # fmt: skip


def test_a_base_name_is_not_placed_in_a_directory_where_it_is_not(tmp_path: Path) -> None:
    # A t.Helper in another package logs that package's file: left as go test wrote it.
    root = module(tmp_path, M, ["e/e_test.go"])
    found = failures.read(result(text(MANY)), root).failures
    assert [f.location for f in found][:3] == ["a_test.go:9", "a_test.go:16", "e/e_test.go:11"]


def test_the_module_root_package_s_files_are_at_the_root(tmp_path: Path) -> None:
    root = module(tmp_path, f"{M}/a", ["a_test.go"])
    found = failures.read(result(text(MANY)), root).failures
    assert found[0].location == "a_test.go:9"


@pytest.mark.parametrize("fixture", ["go122-panic-timeout.jsonl", "go126-panic-timeout.jsonl"])
def test_a_panic_and_a_timeout_point_at_the_module_s_innermost_frame(fixture: str) -> None:
    found = failures.read(result(text(fixture)), RECORDED).failures
    slow, hang = "example.com/sample/slow", "example.com/sample/hang"
    assert where(list(found)) == [
        (slow, "TestPanics", "panic", "slow/s_test.go", 21),
        (slow, "TestPanics/inner", "failed", "", None),
        (hang, "TestHang", "timed out", "hang/h_test.go", 12),  # not testing.go, not the alarm
    ]
    assert found[0].why == "panic, 0.00s"
    assert found[2].why == "timed out after 2s" and found[2].elapsed is None
    assert found[2].output[:2] == (
        "    h_test.go:11: waiting forever",
        "panic: test timed out after 2s",
    )


def test_a_panic_outside_the_root_points_at_the_failing_package_s_own_frame() -> None:
    found = failures.read(result(text("go126-panic-timeout.jsonl")), Path("/elsewhere")).failures
    assert found[0].location == "/tmp/rep/mod/slow/s_test.go:21"
    assert found[2].location == "/tmp/rep/mod/hang/h_test.go:12"


@pytest.mark.parametrize("fixture", ["go122-mixed.jsonl", "go126-mixed.jsonl"])
def test_build_failures_and_a_panic_outside_any_test(fixture: str) -> None:
    found = failures.read(result(text(fixture)), RECORDED).failures
    sample = "example.com/sample"
    assert where(list(found)) == [
        (f"{sample}/ok", "TestFail", "failed", "ok_test.go", 17),
        (f"{sample}/ok", "TestSub/two_words", "failed", "ok_test.go", 27),
        (f"{sample}/broken", "", "build failed", "broken/broken.go", 3),
        (f"{sample}/initpanic", "", "panic", "initpanic/p.go", 5),
    ]
    assert found[2].compiler_errors == ["broken/broken.go:3:28: undefined: undefinedThing"]
    assert found[3].message == "panic: boom in init" and found[3].elapsed is not None
    assert found[3].output[0] == "panic: boom in init"
    assert not any(ln.startswith("FAIL") for f in found for ln in f.output)


@pytest.mark.parametrize("fixture", ["go122-deps.jsonl", "go126-deps.jsonl"])
def test_a_broken_dependency_s_errors_are_its_importers_build_failure(fixture: str) -> None:
    found = failures.read(result(text(fixture)), RECORDED).failures
    errors = {f.package.rsplit("/", 1)[1]: f.compiler_errors for f in found}
    assert errors["xbroken"] == [
        'xbroken/x_test.go:10:22: invalid operation: xbroken.Two() != "2" '
        "(mismatched types int and untyped string)"
    ]
    assert "broken2/b.go:3:32: cannot use 42 (untyped int constant) as string value in return " \
        "statement" in errors["usesbroken2"]  # fmt: skip


def test_a_unit_gobuild_stopped_blames_what_was_running(tmp_path: Path) -> None:
    stream = events(
        {"Action": "start", "Package": "example.com/h"},
        {"Action": "run", "Package": "example.com/h", "Test": "TestBig"},
        {"Action": "output", "Package": "example.com/h", "Test": "TestBig",
         "Output": "=== RUN   TestBig\n"},
        {"Action": "output", "Package": "example.com/h", "Test": "TestBig",
         "Output": "    big_test.go:8: allocating\n"},
    )  # fmt: skip
    hog = result(stream, name="test:h", status="over memory limit", note="cap 512 MiB")
    [found] = failures.read(hog, None).failures
    assert (found.test, found.reason, found.location) == ("TestBig", "over memory limit",
                                                          "big_test.go:8")  # fmt: skip
    assert found.why == "over memory limit, cap 512 MiB"
    slow = result(stream, name="test:h", status="timed out", note="after 10s")
    assert failures.read(slow, None).failures[0].why == "timed out after 10s"
    # Cut off by the stream's end rather than by gobuild: go test's own words.
    cut = failures.read(result(stream), None).failures[0]
    assert cut.why == "no result: the stream ended before the test finished"


def test_a_unit_with_nothing_to_blame_is_a_failure_of_its_own() -> None:
    said = "go: updates to go.mod needed; to update it:\n\tgo mod tidy\n"
    [found] = failures.read(result(said), None).failures
    assert (found.unit, found.package, found.reason) == ("test", "", "failed")
    assert found.message == "exit 1: go: updates to go.mod needed; to update it:"
    killed = result("", status="killed", note="interrupted")
    assert failures.read(killed, None).failures[0].message == "interrupted"
    assert failures.read(result(text(MANY), status="passed", note=""), None).failures != ()
    passing = result(only(text(MANY), f"{M}/b", f"{M}/c"), status="passed", note="")
    assert failures.read(passing, None).failures == ()


# ----------------------------------------------------------------------------- linters


def test_vet_findings_are_file_line_lines_from_the_root() -> None:
    vet = result(text("vet-go122.txt"), name="lint:vet", kind="lint")
    reading = failures.read(vet, Path("/work/m"))
    assert reading.findings == (
        "d/d.go:6:2: self-assignment of n to n",
        "pv/pv.go:6:9: fmt.Sprintf format %d has arg name of wrong type string",
    )
    assert [(f.unit, f.reason, f.file, f.line, f.column) for f in reading.failures] == [
        ("lint:vet", "finding", "d/d.go", 6, 2),
        ("lint:vet", "finding", "pv/pv.go", 6, 9),
    ]


def test_other_linters_findings_absolute_or_with_source_lines(tmp_path: Path) -> None:
    golangci = (
        f"{tmp_path}/a/a.go:5:2: ineffectual assignment to n (ineffassign)\n"
        "\tn = 3\n\t^\n"
        "./b/b.go:9: line is 130 characters (lll)\n"
        "1 issues:\n* ineffassign: 1\n"
    )
    lint = result(golangci, name="lint:golangci-lint", kind="lint")
    assert failures.read(lint, tmp_path).findings == (
        "a/a.go:5:2: ineffectual assignment to n (ineffassign)",
        "b/b.go:9: line is 130 characters (lll)",
    )
    staticcheck = "/elsewhere/x.go:3:1: should omit nil check (S1031)\n"
    lint = result(staticcheck, name="lint:staticcheck", kind="lint")
    assert failures.read(lint, tmp_path).findings == (
        "/elsewhere/x.go:3:1: should omit nil check (S1031)",
    )


def test_gofmt_names_the_files_it_would_reformat() -> None:
    gofmt = result("normal/extra.go\nslow/slow_test.go\n", name="lint:gofmt", kind="lint",
                   note="gofmt would reformat: normal/extra.go, slow/slow_test.go")  # fmt: skip
    reading = failures.read(gofmt, None)
    assert reading.findings == (
        "normal/extra.go: not formatted as gofmt formats it",
        "slow/slow_test.go: not formatted as gofmt formats it",
    )
    broken = result("a/a.go:3:1: expected declaration, found x\n", name="lint:gofmt",
                    kind="lint")  # fmt: skip
    assert failures.read(broken, None).findings == ("a/a.go:3:1: expected declaration, found x",)


def test_a_linter_that_failed_without_findings_is_shown_as_it_spoke() -> None:
    said = 'level=error msg="Running error: context loading failed"\n'
    lint = result(said, name="lint:golangci-lint", kind="lint", note="exit 3")
    reading = failures.read(lint, None)
    assert not reading.understood
    assert report.block(lint).endswith(said.rstrip())
    [found] = reading.failures
    assert found.message == 'exit 3: level=error msg="Running error: context loading failed"'


# ------------------------------------------------------------------------------ blocks


def test_a_failing_test_unit_s_block(tmp_path: Path) -> None:
    root = module(tmp_path, M, MANY_FILES)
    block = report.block(result(text(MANY)), root)
    assert block == "\n".join([
        "── test: failed (1.2s, exit 1) ──",
        f"FAIL  {M}/a  0.002s",
        f"ok    {M}/b  0.004s",
        f"FAIL  {M}/e  0.007s",
        f"ok    {M}/p1  0.002s",
        f"ok    {M}/p2  0.002s",
        f"ok    {M}/p3  0.004s",
        f"FAIL  {M}/pv  [build failed]",
        "2 packages without test files",
        "",
        f"=== FAIL: {M}/a TestTwo (0.00s)",
        "    a_test.go:7: setup",
        "    a_test.go:9: 1+1 = 2, want 3",
        "",
        f"=== FAIL: {M}/a TestTable/y (0.00s)",
        "    a_test.go:16: bad y",
        "",
        f"=== FAIL: {M}/e TestExits (no result: the test binary died while this test ran)",
        "    e_test.go:11: leaving early",
        "",
        f"=== FAIL: {M}/pv [build failed]",
        f"# {M}/pv",
        f"# [{M}/pv]",
        "pv/pv.go:6:9: fmt.Sprintf format %d has arg name of wrong type string",
    ])  # fmt: skip
    # Nothing of the passing tests, nor go test's framing of the failing ones.
    for noise in ("=== RUN", "--- FAIL", "--- PASS", "TestOne", "fine", "TestB "):
        assert noise not in block


def test_a_passing_test_unit_is_a_line_per_package() -> None:
    passing = result(only(text(MANY), f"{M}/b", f"{M}/p1", f"{M}/c"), status="passed", note="")
    assert report.block(passing) == "\n".join([
        "── test: passed (1.2s) ──",
        f"ok    {M}/b  0.004s",
        f"ok    {M}/p1  0.002s",
        "1 package without test files",
    ])  # fmt: skip


def test_a_long_failure_is_cut_and_says_where_the_rest_is() -> None:
    pkg, name = "example.com/loud", "TestLoud"
    lines = [{"Action": "output", "Package": pkg, "Test": name, "Output": f"    l_test.go:{i}: x\n"}
             for i in range(1, 201)]  # fmt: skip
    stream = events(
        {"Action": "run", "Package": pkg, "Test": name},
        *lines,
        {"Action": "fail", "Package": pkg, "Test": name, "Elapsed": 0.5},
        {"Action": "fail", "Package": pkg, "Elapsed": 0.6},
    )
    loud = result(stream)
    block = report.block(loud).splitlines()
    assert block[3] == f"=== FAIL: {pkg} {name} (0.50s)"
    assert block[4] == "    l_test.go:1: x" and block[3 + report.EXCERPT_LINES] == (
        f"    l_test.go:{report.EXCERPT_LINES}: x"
    )
    assert block[-1] == f"… {200 - report.EXCERPT_LINES} more lines in {loud.log}"
    # The summary points at the last line it logged, the error after the logs.
    assert failures.read(loud, None).failures[0].location == "l_test.go:200"


def test_stray_text_of_a_test_unit_is_shown() -> None:
    stream = "go: downloading example.com/dep v1.0.0\n" + only(text(MANY), f"{M}/b")
    block = report.block(result(stream, status="passed", note=""))
    assert block.splitlines()[1:] == [f"ok    {M}/b  0.004s",
                                      "go: downloading example.com/dep v1.0.0"]  # fmt: skip


def test_a_lint_unit_s_block_is_its_findings(tmp_path: Path) -> None:
    vet = result(text("vet-go122.txt"), name="lint:vet", kind="lint")
    assert report.block(vet, tmp_path) == "\n".join([
        "── lint:vet: failed (1.2s, exit 1) ──",
        "d/d.go:6:2: self-assignment of n to n",
        "pv/pv.go:6:9: fmt.Sprintf format %d has arg name of wrong type string",
    ])  # fmt: skip
    clean = result("", name="lint:vet", kind="lint", status="passed", note="")
    assert report.block(clean) == "── lint:vet: passed (1.2s) ──"


def test_benchmarks_are_shown_as_they_ran() -> None:
    bench = result(text("bench-old.txt"), name="bench", kind="bench", status="passed", note="")
    assert report.block(bench).split("\n", 1)[1] == text("bench-old.txt").rstrip()


def test_the_printer_names_files_from_the_root(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    printer = CheckPrinter(out, err, module(tmp_path, M, MANY_FILES))
    printer.finished(result(text(MANY)))
    printer.finished(result("d/d.go:6:2: self-assignment of n to n\n", name="lint:vet",
                            kind="lint"))  # fmt: skip
    assert f"=== FAIL: {M}/a TestTwo (0.00s)\n" in out.getvalue()
    assert "── lint:vet: failed (1.2s, exit 1) ──\nd/d.go:6:2: self-assignment" in out.getvalue()
    assert err.getvalue() == ""


# ----------------------------------------------------------------------------- summary


def test_one_summary_lists_every_failure_of_the_run(tmp_path: Path) -> None:
    root = module(tmp_path, M, MANY_FILES)
    vet = result(text("vet-go122.txt"), name="lint:vet", kind="lint")
    gofmt = result("", name="lint:gofmt", kind="lint", status="passed", note="")
    closing = report.closing([result(text(MANY)), vet, gofmt], REPORTS, root)
    summary = closing.split("\n6 failures:\n", 1)[1]
    assert summary == "\n".join([
        f"  {M}/a TestTwo a/a_test.go:9 (0.00s)",
        f"  {M}/a TestTable/y a/a_test.go:16 (0.00s)",
        f"  {M}/e TestExits e/e_test.go:11 (no result: the test binary died while this test ran)",
        f"  {M}/pv [build failed]",
        "      pv/pv.go:6:9: fmt.Sprintf format %d has arg name of wrong type string",
        "  lint:vet d/d.go:6:2: self-assignment of n to n",
        "  lint:vet pv/pv.go:6:9: fmt.Sprintf format %d has arg name of wrong type string",
        f"reports: {REPORTS} (full go test -json output: test.json; "
        "each unit's output: <unit>.log)",
    ])  # fmt: skip
    assert closing.startswith("task ") and "lint:gofmt  passed" in closing


def test_the_summary_of_panics_timeouts_and_a_package_failure() -> None:
    panics = result(text("go126-panic-timeout.jsonl"))
    mixed = result(text("go126-mixed.jsonl"), name="test:2")
    closing = report.closing([panics, mixed], REPORTS, RECORDED)
    sample = "example.com/sample"
    assert "\n7 failures:\n" + "\n".join([
        f"  {sample}/slow TestPanics slow/s_test.go:21 (panic, 0.00s)",
        f"  {sample}/slow TestPanics/inner (0.00s)",
        f"  {sample}/hang TestHang hang/h_test.go:12 (timed out after 2s)",
        f"  {sample}/ok TestFail ok_test.go:17 (0.00s)",
        f"  {sample}/ok TestSub/two_words ok_test.go:27 (0.00s)",
        f"  {sample}/broken [build failed]",
        "      broken/broken.go:3:28: undefined: undefinedThing",
        f"  {sample}/initpanic [package] initpanic/p.go:5 (panic, 0.01s)",
    ]) + "\nreports: " in closing  # fmt: skip


def test_a_build_failure_without_compiler_output_still_is_one() -> None:
    # stderr went elsewhere: go test's "[build failed]" is all there is.
    closing = report.closing([result(text("go122-stdout-only.jsonl"))], REPORTS, None)
    assert "  example.com/sample/broken [build failed]\n  example.com/sample/initpanic" in closing


def test_units_that_failed_as_a_whole_are_in_the_summary() -> None:
    hog = result("", name="test:hog", status="over memory limit", note="cap 512 MiB")
    said = result("go: go.mod file not found\n", name="test:x")
    closing = report.closing([hog, said], REPORTS, None)
    assert "\n2 failures:\n  test:hog over memory limit (cap 512 MiB)\n" in closing
    assert "  test:x failed (exit 1: go: go.mod file not found)\n" in closing
    # No test said anything: the last line names no test.json.
    last = report.closing([hog], REPORTS, None).splitlines()[-1]
    assert last == f"reports: {REPORTS} (each unit's output: <unit>.log)"


def test_a_passing_run_ends_with_the_table_and_the_reports() -> None:
    passing = result(only(text(MANY), f"{M}/b"), status="passed", note="")
    clean = result("", name="lint:vet", kind="lint", status="passed", note="")
    closing = report.closing([passing, clean], REPORTS, None).splitlines()
    assert [ln.split()[0] for ln in closing[:-1]] == ["task", "test", "lint:vet"]
    assert closing[-1].startswith(f"reports: {REPORTS} (full go test -json output: test.json;")


def test_a_long_summary_is_cut() -> None:
    findings = "".join(f"a/a.go:{i}:1: finding {i}\n" for i in range(1, 251))
    lint = result(findings, name="lint:staticcheck", kind="lint")
    lines = report.closing([lint], REPORTS, None).splitlines()
    assert "250 failures:" in lines
    assert lines[-2] == f"  … and {250 - report.SUMMARY_LIMIT} more (see each unit's block)"
    assert sum(ln.startswith("  lint:staticcheck a/a.go:") for ln in lines) == report.SUMMARY_LIMIT


# -------------------------------------------------------------------------------- JSON


def test_the_json_document(tmp_path: Path) -> None:
    root = module(tmp_path, M, MANY_FILES)
    tests = result(text(MANY))
    vet = result(text("vet-go122.txt"), name="lint:vet", kind="lint")
    document = json.loads(
        report.json_document([tests, vet], REPORTS, root, Budget(2, 2 << 30), "cgroup2")
    )
    assert document["passed"] is False
    assert document["budget"] == {"cpus": 2, "memory": 2 << 30}
    assert document["mechanism"] == "cgroup2"
    assert document["units"][0] == {
        "name": "test", "kind": "test", "status": "failed", "passed": False, "note": "exit 1",
        "returncode": 1, "elapsed": 1.25, "cpu": 0.5, "peak_memory": 64 << 20,
        "caps": {"cpus": 1.0, "memory": 512 << 20}, "exclusive": False,
        "mechanism": "watchdog", "log": tests.log, "flaky": [],
    }  # fmt: skip
    first = document["failures"][0]
    assert first == {
        "unit": "test", "kind": "test", "reason": "failed", "package": f"{M}/a",
        "test": "TestTwo", "file": "a/a_test.go", "line": 9, "column": None, "elapsed": 0.0,
        "message": "a_test.go:9: 1+1 = 2, want 3",
        "output": "    a_test.go:7: setup\n    a_test.go:9: 1+1 = 2, want 3",
    }  # fmt: skip
    kinds = [(f["unit"], f["reason"], f["test"], f["file"], f["line"])
             for f in document["failures"]]  # fmt: skip
    assert kinds == [
        ("test", "failed", "TestTwo", "a/a_test.go", 9),
        ("test", "failed", "TestTable/y", "a/a_test.go", 16),
        ("test", "no result", "TestExits", "e/e_test.go", 11),
        ("test", "build failed", None, "pv/pv.go", 6),
        ("lint:vet", "finding", None, "d/d.go", 6),
        ("lint:vet", "finding", None, "pv/pv.go", 6),
    ]
    assert document["reports"] == {
        "directory": str(REPORTS),
        "summary": str(REPORTS / "summary.json"),
        "test_json": str(REPORTS / "test.json"),
        "junit": None,  # [checks.test] junit is off: gotestsum wrote none
        "bench": None,
    }


def test_junit_is_named_where_gotestsum_wrote_it(tmp_path: Path) -> None:
    passed = result(events(
        {"Action": "run", "Package": M, "Test": "TestOne"},
        {"Action": "pass", "Package": M, "Test": "TestOne", "Elapsed": 0.01},
        {"Action": "pass", "Package": M, "Elapsed": 0.02},
    ), status="passed", note="")  # fmt: skip
    (tmp_path / "junit.xml").write_text("<testsuites/>\n")
    closing = report.closing([passed], tmp_path)
    assert closing.endswith("(full go test -json output: test.json; JUnit: junit.xml; "
                            "each unit's output: <unit>.log)")  # fmt: skip
    document = json.loads(
        report.json_document([passed], tmp_path, None, Budget(1, 1 << 30), "watchdog")
    )
    assert document["reports"]["junit"] == str(tmp_path / "junit.xml")


def test_flaky_tests_are_named_in_the_block_the_table_and_the_summary() -> None:
    stream = events(
        {"Action": "run", "Package": M, "Test": "TestFlaky"},
        {"Action": "fail", "Package": M, "Test": "TestFlaky", "Elapsed": 0.01},
        {"Action": "fail", "Package": M, "Elapsed": 0.02},
        {"Action": "run", "Package": M, "Test": "TestFlaky"},
        {"Action": "pass", "Package": M, "Test": "TestFlaky", "Elapsed": 0.01},
        {"Action": "pass", "Package": M, "Elapsed": 0.02},
    )
    flaky = f"{M} TestFlaky (failed 1 of 2 runs)"
    passed = dataclasses.replace(result(stream, status="passed", note="1 flaky"), flaky=(flaky,))
    assert f"FLAKY {flaky}" in report.block(passed).splitlines()
    closing = report.closing([passed], REPORTS)
    assert "passed (1 flaky)" in closing.splitlines()[1]
    assert f"1 flaky test (passed when run again):\n  {flaky}\n" in closing
    assert "failures:" not in closing
    document = json.loads(
        report.json_document([passed], REPORTS, None, Budget(1, 1 << 30), "watchdog")
    )
    assert document["passed"] is True and document["units"][0]["flaky"] == [flaky]


def test_the_json_document_of_a_passing_lint_run() -> None:
    clean = result("", name="lint:vet", kind="lint", status="passed", note="")
    skipped = result("", name="lint:staticcheck", kind="lint", status="skipped",
                     note="staticcheck not found")  # fmt: skip
    document = json.loads(
        report.json_document([clean, skipped], REPORTS, None, Budget(1, 1 << 30), "watchdog")
    )
    assert document["passed"] is True and document["failures"] == []
    assert [u["status"] for u in document["units"]] == ["passed", "skipped"]
    assert document["reports"]["test_json"] is None and document["reports"]["junit"] is None


# ------------------------------------------------------------------------------ fuzzing

ACTIONS = ("start", "run", "output", "pass", "fail", "skip", "pause", "cont", "build-output",
           "build-fail")  # fmt: skip
_EVENT = st.fixed_dictionaries(
    {"Action": st.sampled_from(ACTIONS)},
    optional={
        "Package": st.sampled_from(["example.com/a", "example.com/a/b", ""]),
        "Test": st.sampled_from(["TestA", "TestA/sub", "TestB", ""]),
        "Output": st.text(max_size=40),
        "Elapsed": st.floats(0, 10),
        "ImportPath": st.sampled_from(["example.com/a", "example.com/a [example.com/a.test]"]),
    },
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_EVENT.map(json.dumps), st.text(max_size=40)), max_size=30),
       st.sampled_from(["failed", "passed", "timed out"]))  # fmt: skip
def test_any_stream_gives_a_block_and_a_summary(lines: list[str], status: Status) -> None:
    unit = result("\n".join(lines), status=status)
    block = report.block(unit, Path("/work/m"))
    assert block.startswith(f"── test: {status} ")
    closing = report.closing([unit], REPORTS, Path("/work/m"))
    if status != "passed":  # a unit that did not pass is always in the summary
        assert re.search(r"\n\d+ failures?:\n", closing)
    json.loads(report.json_document([unit], REPORTS, None, Budget(1, 1 << 30), "watchdog"))

"""Reading go test -json streams: which package and test ended how, and why.

What :func:`gobuild.checks.testevents.read_stream` decides (the test blamed for a
timeout or a panic, a build failure as a failing ``[package]`` case carrying the
compiler errors, whose build output is whose, what stays stray), and the flaky tests
:func:`~gobuild.checks.testevents.flaky` finds in a stream where gotestsum ran failed
tests again. JUnit XML and benchmark comparisons are the pinned gotestsum's and
benchstat's, not tested here.

The streams are real Go output recorded once under tests/fixtures/reports/ (its
README says how); no test here runs Go.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gobuild.checks.testevents import (
    PACKAGE_CASE,
    Case,
    Flaky,
    Stream,
    Suite,
    flaky,
    is_build_failure,
    read_stream,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "reports"
OK = "example.com/sample/ok"
BROKEN = "example.com/sample/broken"
INITPANIC = "example.com/sample/initpanic"
SLOW = "example.com/sample/slow"
HANG = "example.com/sample/hang"
FLAKY = "example.com/rerun/flaky"
ALWAYS = "example.com/rerun/always"

MIXED = ["go122-mixed.jsonl", "go126-mixed.jsonl"]
PANIC_TIMEOUT = ["go122-panic-timeout.jsonl", "go126-panic-timeout.jsonl"]
DEPS = ["go122-deps.jsonl", "go126-deps.jsonl"]
# gotestsum --rerun-fails: TestFlaky and TestTable/second fail once, TestAlways always.
RERUN = "gotestsum-rerun.jsonl"


def lines(name: str) -> list[str]:
    return (FIXTURES / name).read_text(encoding="utf-8").splitlines(keepends=True)


def text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def events(*items: dict[str, Any]) -> list[str]:
    return [json.dumps(item) + "\n" for item in items]


def suite(stream: Stream, package: str) -> Suite:
    found = [s for s in stream.suites if s.package.name == package]
    assert len(found) == 1, [s.package.name for s in stream.suites]
    return found[0]


def case(stream: Stream, package: str, name: str) -> Case:
    found = [c for c in suite(stream, package).cases if c.name == name]
    assert len(found) == 1, [c.name for c in suite(stream, package).cases]
    return found[0]


def statuses(stream: Stream, package: str) -> dict[str, str]:
    return {c.name: c.status for c in suite(stream, package).cases}


def counts(cases: list[Case]) -> tuple[int, int, int]:
    """(cases, failed, skipped)."""
    got = Counter(c.status for c in cases)
    return len(cases), got["fail"], got["skip"]


def all_cases(stream: Stream) -> list[Case]:
    return [c for s in stream.suites for c in s.cases]


def failed_names(stream: Stream) -> list[str]:
    """``package.Test`` of each failed case, in the order of the stream."""
    return [f"{s.package.name}.{c.name}" for s in stream.suites for c in s.cases
            if c.status == "fail"]  # fmt: skip


# ---------------------------------------------------------------- packages and their tests


@pytest.mark.parametrize("fixture", MIXED)
def test_counts_per_package_and_in_total(fixture: str) -> None:
    stream = read_stream(lines(fixture))
    assert [s.package.name for s in stream.suites] == [OK, BROKEN, INITPANIC]
    assert [s.package.result for s in stream.suites] == ["fail", "fail", "fail"]
    assert counts(all_cases(stream)) == (9, 5, 2)
    assert counts(suite(stream, OK).cases) == (7, 3, 2)
    assert counts(suite(stream, BROKEN).cases) == (1, 1, 0)
    assert counts(suite(stream, INITPANIC).cases) == (1, 1, 0)
    assert (suite(stream, OK).package.elapsed or 0) > 0
    assert (suite(stream, OK).package.started or "").startswith("2026-11-24T05:")
    assert stream.stray == []


def test_failed_cases_in_order_of_the_stream() -> None:
    stream = read_stream(lines("go122-mixed.jsonl"))
    assert failed_names(stream) == [
        f"{OK}.TestFail",
        f"{OK}.TestSub",
        f"{OK}.TestSub/two_words",
        f"{BROKEN}.{PACKAGE_CASE}",
        f"{INITPANIC}.{PACKAGE_CASE}",
    ]
    timeout = read_stream(text("go126-panic-timeout.jsonl"))
    assert [s.package.name for s in timeout.suites] == [SLOW, HANG]
    assert counts(all_cases(timeout)) == (6, 3, 2)
    assert failed_names(timeout) == [f"{SLOW}.TestPanics", f"{SLOW}.TestPanics/inner",
                                     f"{HANG}.TestHang"]  # fmt: skip


@pytest.mark.parametrize("fixture", MIXED)
def test_one_case_per_test_and_subtest(fixture: str) -> None:
    stream = read_stream(lines(fixture))
    assert statuses(stream, OK) == {
        "TestPass": "pass",
        "TestFail": "fail",
        "TestSkip": "skip",
        "TestSub": "fail",
        "TestSub/one": "pass",
        "TestSub/two_words": "fail",
        "TestSub/skipped": "skip",
    }
    assert all(c.finished and c.runs == 1 for c in suite(stream, OK).cases)
    # Only failures and skips explain themselves.
    assert case(stream, OK, "TestPass").message == ""
    # No failing test of its own: a parent fails with a generic word.
    assert case(stream, OK, "TestSub").message == "Failed"


@pytest.mark.parametrize("fixture", MIXED)
def test_a_failing_case_carries_its_output_as_go_test_wrote_it(fixture: str) -> None:
    stream = read_stream(lines(fixture))
    failed = case(stream, OK, "TestFail")
    # The message is the t.Errorf line.
    assert failed.message == 'ok_test.go:17: Add(2, 2) = 4, want 5 <&> "quoted"'
    assert failed.failed_runs == 1 and not failed.flaky
    assert "=== RUN   TestFail" in failed.output
    assert "ok_test.go:15: about to fail: naïve café ✓" in failed.output
    assert "--- FAIL: TestFail" in failed.output
    # Control characters stay as the test printed them (the report decides how to show).
    assert "printed \x1b[31mred\x1b[0m with bell \x07 and NUL-ish \x01\n" in failed.output
    sub = case(stream, OK, "TestSub/two_words")
    assert sub.message == "ok_test.go:27: sub failed"
    assert "TestFail" not in sub.output


@pytest.mark.parametrize("fixture", MIXED)
def test_skipped_tests_carry_the_reason(fixture: str) -> None:
    stream = read_stream(lines(fixture))
    assert case(stream, OK, "TestSkip").message == "ok_test.go:21: not on this platform"
    assert case(stream, OK, "TestSub/skipped").message == "ok_test.go:29: later"


# ---------------------------------------------------------------------- build failures


@pytest.mark.parametrize("fixture", MIXED)
def test_build_failure_is_a_failing_package_case_with_the_compiler_errors(fixture: str) -> None:
    # go1.22 wrote the errors to stderr ("# pkg" lines merged into the stream);
    # go1.26 sends them as build-output events. Both end up in the same place.
    stream = read_stream(lines(fixture))
    broken = suite(stream, BROKEN)
    assert is_build_failure(broken.package)
    assert not is_build_failure(suite(stream, INITPANIC).package)
    assert not is_build_failure(suite(stream, OK).package)
    [element] = broken.cases
    assert (element.name, element.status, element.message) == (PACKAGE_CASE, "fail", "build failed")
    assert "broken/broken.go:3:28: undefined: undefinedThing" in element.output
    assert "# example.com/sample/broken [example.com/sample/broken.test]" in element.output
    assert f"FAIL\t{BROKEN} [build failed]" in element.output


def test_go126_names_the_failed_build() -> None:
    stream = read_stream(lines("go126-mixed.jsonl"))
    assert suite(stream, BROKEN).package.failed_build == (
        "example.com/sample/broken [example.com/sample/broken.test]"
    )
    # go1.22 has no FailedBuild: its "[build failed]" line says it instead.
    old = read_stream(lines("go122-mixed.jsonl"))
    assert suite(old, BROKEN).package.failed_build is None
    assert is_build_failure(suite(old, BROKEN).package)


def test_build_failure_without_compiler_output_still_fails() -> None:
    # stderr went elsewhere: only go test's own "[build failed]" line is left.
    stream = read_stream(lines("go122-stdout-only.jsonl"))
    element = case(stream, BROKEN, PACKAGE_CASE)
    assert (element.status, element.message) == ("fail", "build failed")
    assert element.output.strip() == f"FAIL\t{BROKEN} [build failed]"
    # A package with benchmarks only has no cases, and passed.
    bench = suite(stream, "example.com/sample/bench")
    assert (bench.cases, bench.package.result) == ([], "pass")


@pytest.mark.parametrize("fixture", DEPS)
def test_build_output_goes_to_the_package_it_belongs_to(fixture: str) -> None:
    stream = read_stream(lines(fixture))
    assert all(is_build_failure(s.package) for s in stream.suites)
    assert all([c.name for c in s.cases] == [PACKAGE_CASE] for s in stream.suites)
    # The external test package's errors ("pkg_test [pkg.test]") belong to xbroken ...
    own = case(stream, "example.com/sample/xbroken", PACKAGE_CASE).output
    assert "x_test.go:10:22: invalid operation" in own
    assert "undefinedThing" not in own and "broken2/b.go" not in own
    # ... and a broken dependency's errors to the packages that import it.
    dep = case(stream, "example.com/sample/usesbroken", PACKAGE_CASE).output
    assert "# example.com/sample/broken\nbroken/broken.go:3:28: undefined: undefinedThing" in dep
    assert "x_test.go" not in dep
    dep2 = case(stream, "example.com/sample/usesbroken2", PACKAGE_CASE).output
    assert "broken2/b.go:3:32: cannot use 42" in dep2
    assert "x_test.go" not in dep2


def test_go126_names_which_dependency_broke_each_package() -> None:
    # FailedBuild says which build output is whose; go1.22's stderr does not, so there
    # each package that failed through a dependency gets every dependency's errors.
    stream = read_stream(lines("go126-deps.jsonl"))
    assert suite(stream, "example.com/sample/usesbroken").package.failed_build == (
        "example.com/sample/broken"
    )
    assert "broken2" not in case(stream, "example.com/sample/usesbroken", PACKAGE_CASE).output
    assert (
        "undefinedThing" not in case(stream, "example.com/sample/usesbroken2", PACKAGE_CASE).output
    )
    old = read_stream(lines("go122-deps.jsonl"))
    assert "broken2/b.go" in case(old, "example.com/sample/usesbroken", PACKAGE_CASE).output
    assert old.stray == []


def test_go126_build_output_taken_by_an_importer_is_not_stray() -> None:
    stream = read_stream(lines("go126-deps.jsonl"))
    taken = case(stream, "example.com/sample/usesbroken", PACKAGE_CASE).output
    assert "undefined: undefinedThing" in taken
    assert stream.stray == []


def test_go_test_s_own_vet_findings_are_the_build_failure() -> None:
    # go1.22 heads what go test's vet finds "# [pkg]": those lines are the package's too.
    stream = read_stream(lines("go122-many.jsonl"))
    element = case(stream, "example.com/m/pv", PACKAGE_CASE)
    assert (element.status, element.message) == ("fail", "build failed")
    assert "pv/pv.go:6:9: fmt.Sprintf format %d has arg name of wrong type string" in (
        element.output
    )
    # ... and no other package's.
    others = [c.output for c in all_cases(stream) if c is not element]
    assert not any("pv/pv.go" in out for out in others)


# ----------------------------------------------------------------------------- stray lines


def test_stray_lines_of_a_build_failure_go_to_the_failed_build() -> None:
    stream = lines("go122-stdout-only.jsonl")
    stray = "go: warning: something about the build\n"
    read = read_stream([stray, *stream])
    assert stray.strip() in case(read, BROKEN, PACKAGE_CASE).output
    # ... but never to a package that failed for another reason ...
    assert stray.strip() not in case(read, INITPANIC, PACKAGE_CASE).output
    # ... and, taken, they are not stray any more.
    assert read.stray == []


def test_stray_lines_without_a_failed_build_stay_stray() -> None:
    stray = "go: warning: something about the build\n"
    read = read_stream([stray, *lines("go126-panic-timeout.jsonl")])
    assert read.stray == [stray]
    assert not any("something about the build" in c.output for c in all_cases(read))


def test_stray_lines_after_json_do_not_extend_a_compiler_error_block() -> None:
    stream = lines("go122-mixed.jsonl")
    assert stream[0].startswith("# ") and stream[2].startswith("{") and stream[3].startswith("{")
    stray = "go: a line after the JSON resumed\n"
    read = read_stream([*stream[:4], stray, *stream[4:]])
    assert stray.strip() not in case(read, BROKEN, PACKAGE_CASE).output
    assert read.stray == [stray]


@pytest.mark.parametrize("fixture", MIXED)
def test_package_output_is_kept_once(fixture: str) -> None:
    stream = read_stream(lines(fixture))
    # A package whose test failed keeps its own output, and no case repeats it.
    assert f"FAIL\t{OK}\t" in "".join(suite(stream, OK).package.output)
    assert not any(f"FAIL\t{OK}\t" in c.output for c in suite(stream, OK).cases)
    # A failed build's compiler errors and its FAIL line are in its case once, and in
    # no other.
    everything = "".join(c.output for c in all_cases(stream))
    assert everything.count("undefined: undefinedThing") == 1
    assert everything.count(f"FAIL\t{BROKEN} [build failed]") == 1


@pytest.mark.parametrize("fixture", MIXED)
def test_init_panic_is_a_failing_package_case(fixture: str) -> None:
    element = case(read_stream(lines(fixture)), INITPANIC, PACKAGE_CASE)
    assert (element.status, element.message) == ("fail", "panic: boom in init")
    assert "example.com/sample/initpanic.init()" in element.output


# ------------------------------------------------------------------ who is blamed, and when


@pytest.mark.parametrize("fixture", PANIC_TIMEOUT)
def test_timeout_and_panic_blame_the_running_test(fixture: str) -> None:
    stream = read_stream(lines(fixture))
    assert case(stream, HANG, "TestQuick").status == "pass"
    # No result event for TestHang: the timeout panic in its output fails it.
    timed_out = case(stream, HANG, "TestHang")
    assert (timed_out.status, timed_out.finished) == ("fail", False)
    assert timed_out.message == "panic: test timed out after 2s"
    assert "h_test.go:11: waiting forever" in timed_out.output
    panicked = case(stream, SLOW, "TestPanics")
    assert panicked.status == "fail"
    assert panicked.message.startswith("panic: assignment to entry in nil map")
    assert case(stream, SLOW, "TestPanics/inner").status == "fail"
    # The paused parallel tests never resumed: not failures, not passes.
    for name in ("TestParA", "TestParB"):
        paused = case(stream, SLOW, name)
        assert (paused.status, paused.finished) == ("skip", False)
        assert paused.message == "no result: the package failed before the test finished"
    # A failing test explains both packages: no extra package cases.
    assert PACKAGE_CASE not in [c.name for c in all_cases(stream)]
    assert counts(all_cases(stream)) == (6, 3, 2)


def test_a_test_running_when_the_binary_was_killed_fails_and_a_paused_one_is_skipped() -> None:
    # What a memory cap's SIGKILL leaves: the running test has no result event.
    stream = events(
        {"Action": "start", "Package": "m/hog"},
        {"Action": "run", "Package": "m/hog", "Test": "TestHog"},
        {"Action": "run", "Package": "m/hog", "Test": "TestWaits"},
        {"Action": "pause", "Package": "m/hog", "Test": "TestWaits"},
        {"Action": "output", "Package": "m/hog", "Output": "signal: killed\n"},
        {"Action": "fail", "Package": "m/hog", "Elapsed": 0.5},
    )
    read = read_stream(stream)
    hog = case(read, "m/hog", "TestHog")
    assert (hog.status, hog.finished) == ("fail", False)
    assert hog.message == "no result: the test binary died while this test ran"
    assert case(read, "m/hog", "TestWaits").status == "skip"
    # The test explains the failure: no package case.
    assert statuses(read, "m/hog") == {"TestHog": "fail", "TestWaits": "skip"}


def test_a_killed_binary_blames_the_running_subtest_not_its_parent() -> None:
    stream = events(
        {"Action": "run", "Package": "m/k", "Test": "TestOuter"},
        {"Action": "run", "Package": "m/k", "Test": "TestOuter/inner"},
        {"Action": "output", "Package": "m/k", "Output": "signal: killed\n"},
        {"Action": "fail", "Package": "m/k", "Elapsed": 0.5},
    )
    assert statuses(read_stream(stream), "m/k") == {
        "TestOuter": "skip",
        "TestOuter/inner": "fail",
    }


def test_a_package_failing_between_tests_gets_its_own_case() -> None:
    # No test was running, none failed, yet the package failed (os.Exit in TestMain
    # after m.Run, say): the [package] case says so.
    stream = events(
        {"Action": "run", "Package": "m/x", "Test": "TestA"},
        {"Action": "pass", "Package": "m/x", "Test": "TestA", "Elapsed": 0.1},
        {"Action": "output", "Package": "m/x", "Output": "FAIL\tm/x\t0.2s\n"},
        {"Action": "fail", "Package": "m/x", "Elapsed": 0.2},
    )
    read = read_stream(stream)
    element = case(read, "m/x", PACKAGE_CASE)
    assert (element.status, element.message) == ("fail", "package failed without a failing test")
    assert element.output == "FAIL\tm/x\t0.2s\n"
    assert element.time == 0.2
    assert not is_build_failure(suite(read, "m/x").package)


def test_benchmarks_without_result_events_pass() -> None:
    stream = read_stream(lines("bench-json.jsonl"))
    assert statuses(stream, "example.com/sample/bench2") == {
        "BenchmarkJoin": "pass",
        "BenchmarkSizes": "pass",
        "BenchmarkSizes/n-8": "pass",
        "BenchmarkSizes/n-4": "pass",
    }
    assert not any(c.finished for c in all_cases(stream))


def test_a_failing_benchmark_does_not_fail_the_ones_before_it() -> None:
    # Benchmarks get no result event unless they log or fail: BenchmarkFine has none,
    # and the package failed (because of BenchmarkBroken), yet BenchmarkFine passed.
    stream = read_stream(lines("bench-fail.jsonl"))
    package = "example.com/sample/benchfail"
    assert suite(stream, package).package.result == "fail"
    assert statuses(stream, package) == {"BenchmarkFine": "pass", "BenchmarkBroken": "fail"}
    assert case(stream, package, "BenchmarkBroken").message == (
        "b_test.go:15: setup failed: no fixture"
    )


def test_interleaved_packages_are_kept_apart() -> None:
    # go test runs packages in parallel; their events interleave line by line.
    first, second = lines("bench-json.jsonl"), lines("bench-fail.jsonl")
    woven = [ln for pair in itertools.zip_longest(first, second, fillvalue="") for ln in pair]
    apart = read_stream(first).suites + read_stream(second).suites
    together = read_stream(woven).suites
    assert sorted(together, key=lambda s: s.package.name) == sorted(
        apart, key=lambda s: s.package.name
    )


def test_a_stream_that_ends_early_fails_what_was_unfinished() -> None:
    stream = lines("go126-panic-timeout.jsonl")
    cut = next(i for i, ln in enumerate(stream) if "waiting forever" in ln) + 1
    hang = case(read_stream(stream[:cut]), HANG, "TestHang")
    assert (hang.status, hang.finished) == ("fail", False)
    assert hang.message == "no result: the stream ended before the test finished"
    # Cut before any test failed: the package itself is the failure.
    quick = next(i for i, ln in enumerate(stream) if '"pass"' in ln and "TestQuick" in ln) + 1
    read = read_stream(stream[:quick])
    element = case(read, HANG, PACKAGE_CASE)
    assert (element.status, element.finished) == ("fail", False)
    assert element.message == "no result: the stream ended before the package finished"
    assert case(read, HANG, "TestQuick").status == "pass"
    assert suite(read, HANG).package.result is None


def test_a_test_without_result_in_a_passing_package_passed() -> None:
    stream = [
        ln for ln in lines("go126-mixed.jsonl") if not ('"pass"' in ln and '"TestPass"' in ln)
    ]
    assert len(stream) == len(lines("go126-mixed.jsonl")) - 1
    ok_events = [ln for ln in stream if f'"Package":"{OK}"' in ln]
    # The ok package failed, so make it pass: only its passing test and its end.
    passing = [ln for ln in ok_events if '"Test"' not in ln or '"TestPass"' in ln]
    passing[-1] = passing[-1].replace('"Action":"fail"', '"Action":"pass"')
    read = read_stream(passing)
    assert statuses(read, OK) == {"TestPass": "pass"}
    assert not case(read, OK, "TestPass").finished


# -------------------------------------------------------------------------- any input


def test_non_json_lines_are_tolerated() -> None:
    clean = lines("go126-mixed.jsonl")
    noise = ["\n", "not json at all\n", "{broken json\n", "[1, 2, 3]\n", '{"NoAction": 1}\n']
    noisy = [*noise[:2], *clean[:10], *noise[2:], *clean[10:]]
    read = read_stream(noisy)
    # go1.26 names the build output of the failed build, so noise attaches nowhere ...
    assert read.suites == read_stream(clean).suites
    # ... and is kept as stray text (blank lines dropped).
    assert read.stray == noise[1:]


def test_whole_text_and_line_iterables_agree() -> None:
    whole = text("go122-mixed.jsonl")
    assert read_stream(whole) == read_stream(iter(whole.splitlines()))
    assert read_stream(whole) == read_stream(lines("go122-mixed.jsonl"))
    assert read_stream(whole.replace("\n", "\r\n")) == read_stream(whole)


def test_empty_stream() -> None:
    assert read_stream([]) == Stream([], [])
    assert read_stream("") == Stream([], [])
    assert flaky([]) == []


def output_stream(output: str, test: str = "TestX") -> list[str]:
    return events(
        {"Action": "run", "Package": "p", "Test": test},
        {"Action": "output", "Package": "p", "Test": test, "Output": output},
        {"Action": "fail", "Package": "p", "Test": test, "Elapsed": 0.01},
        {"Action": "fail", "Package": "p", "Elapsed": 0.02},
    )


@settings(max_examples=200, deadline=None)
@given(st.text(), st.text(min_size=1))
def test_any_output_is_kept_and_explained_in_one_line(output: str, test: str) -> None:
    stream = read_stream(output_stream(output, test))
    [element] = suite(stream, "p").cases
    assert (element.name, element.status, element.time) == (test, "fail", 0.01)
    assert element.output == output
    assert element.message and "\n" not in element.message and len(element.message) <= 200
    assert stream.stray == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text()))
def test_any_text_is_read_without_error(stream: list[str]) -> None:
    read_stream(stream)
    read_stream("\n".join(stream))


# Values of any JSON type where go test writes strings and numbers (numbers in float's
# range: test2json's Elapsed is a float).
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**9), 10**9),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(["p", "q", "TestA", "TestA/b", "BenchmarkB", "panic: x\n", "FAIL\n"]),
    st.lists(st.integers(), max_size=2),
)
KEYS = st.sampled_from(
    ["Action", "Package", "Test", "Output", "Elapsed", "Time", "FailedBuild", "ImportPath"]
)
ACTIONS = st.sampled_from(
    ["start", "run", "pause", "cont", "output", "pass", "fail", "skip", "bench",
     "build-output", "build-fail", ""]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(ACTIONS, st.dictionaries(KEYS, VALUES, max_size=6)), max_size=12))
def test_any_events_are_read_without_error(stream: list[tuple[str, dict[str, Any]]]) -> None:
    items = [{**fields, "Action": action} for action, fields in stream]
    read = read_stream(events(*items))
    for found in all_cases(read):
        assert found.status in ("pass", "fail", "skip")
        assert found.runs >= 1 and 0 <= found.failed_runs <= found.runs
    flaky(events(*items))


# ---------------------------------------------------------------------- flaky tests


def test_a_test_that_failed_then_passed_when_rerun_is_flaky() -> None:
    # Recorded: gotestsum --rerun-fails=2 ran the flaky package again for TestFlaky,
    # then again for TestTable (each rerun a package start ... pass of its own).
    stream = read_stream(lines(RERUN))
    test = case(stream, FLAKY, "TestFlaky")
    assert (test.status, test.failed_runs, test.runs, test.flaky) == ("pass", 1, 2, True)
    assert test.message == ""
    # Both runs' output is kept: the failure is still there to read.
    assert "flaky_test.go:29: first run fails: Double(3) = 6, want 7" in test.output
    assert test.output.count("=== RUN   TestFlaky") == 2
    assert "--- PASS: TestFlaky" in test.output
    # The package failed, then passed in the reruns: it passed, with no [package] case.
    package = suite(stream, FLAKY)
    assert package.package.result == "pass"
    assert statuses(stream, FLAKY) == {
        "TestSteady": "pass",
        "TestFlaky": "pass",
        "TestTable": "pass",
        "TestTable/first": "pass",
        "TestTable/second": "pass",
    }
    assert not case(stream, FLAKY, "TestSteady").flaky
    assert stream.stray == []


def test_flaky_lists_the_flaky_tests_of_a_rerun_stream() -> None:
    found = flaky(lines(RERUN))
    assert found == [
        Flaky(FLAKY, "TestFlaky", failed_runs=1, runs=2),
        Flaky(FLAKY, "TestTable/second", failed_runs=1, runs=2),
    ]
    assert str(found[0]) == f"{FLAKY} TestFlaky (failed 1 of 2 runs)"
    # The whole text and an open file read the same.
    assert flaky(text(RERUN)) == found
    with (FIXTURES / RERUN).open(encoding="utf-8") as f:
        assert flaky(f) == found


def test_a_test_failing_in_every_run_is_failed_not_flaky() -> None:
    stream = read_stream(lines(RERUN))
    always = case(stream, ALWAYS, "TestAlways")
    assert (always.status, always.failed_runs, always.runs, always.flaky) == ("fail", 3, 3, False)
    assert always.message == "always_test.go:8: fails every time"
    assert suite(stream, ALWAYS).package.result == "fail"
    assert statuses(stream, ALWAYS) == {"TestFine": "pass", "TestAlways": "fail"}
    assert ALWAYS not in [f.package for f in flaky(lines(RERUN))]


def test_a_rerun_subtest_is_named_not_its_parent() -> None:
    stream = read_stream(lines(RERUN))
    # Both failed, then both passed when gotestsum ran ^TestTable$/^second$ again ...
    parent = case(stream, FLAKY, "TestTable")
    second = case(stream, FLAKY, "TestTable/second")
    assert (parent.failed_runs, parent.runs, parent.flaky) == (1, 2, True)
    assert (second.failed_runs, second.runs, second.flaky) == (1, 2, True)
    # ... the subtest that did not fail ran once.
    first = case(stream, FLAKY, "TestTable/first")
    assert (first.failed_runs, first.runs, first.flaky) == (0, 1, False)
    # Only the subtest is flaky in the list: the parent failed because of it.
    assert [f.test for f in flaky(lines(RERUN)) if f.test.startswith("TestTable")] == [
        "TestTable/second"
    ]


def rerun(*results: str, package: str = "m/p", test: str = "TestFlaky") -> list[str]:
    """A stream in gotestsum's shape: one go test run per result, each run a package
    start, the test's run/output/result, and the package's end with the same result."""
    out: list[str] = []
    for result in results:
        out += events(
            {"Action": "start", "Package": package},
            {"Action": "run", "Package": package, "Test": test},
            {"Action": "output", "Package": package, "Test": test,
             "Output": f"--- {result.upper()}: {test} (0.00s)\n"},
            {"Action": result, "Package": package, "Test": test, "Elapsed": 0.01},
            {"Action": result, "Package": package, "Elapsed": 0.02},
        )  # fmt: skip
    return out


def test_fail_then_pass_is_flaky_pass_then_fail_is_not() -> None:
    assert flaky(rerun("fail", "pass")) == [Flaky("m/p", "TestFlaky", 1, 2)]
    assert flaky(rerun("fail", "fail", "pass")) == [Flaky("m/p", "TestFlaky", 2, 3)]
    # The last run decides: it failed (go test -count=2, say), so it is a failure.
    last_failed = case(read_stream(rerun("pass", "fail")), "m/p", "TestFlaky")
    assert (last_failed.status, last_failed.failed_runs, last_failed.runs) == ("fail", 1, 2)
    assert flaky(rerun("pass", "fail")) == []
    assert flaky(rerun("fail", "fail")) == []
    # Two passes (go test -count=2) are two runs, and not flaky either.
    twice = case(read_stream(rerun("pass", "pass")), "m/p", "TestFlaky")
    assert (twice.status, twice.failed_runs, twice.runs, twice.flaky) == ("pass", 0, 2, False)


@pytest.mark.parametrize(
    "fixture", sorted(p.name for p in FIXTURES.glob("*.jsonl") if p.name != RERUN)
)
def test_a_stream_without_reruns_has_no_flaky_tests(fixture: str) -> None:
    assert flaky(lines(fixture)) == []
    assert all(c.runs == 1 and c.failed_runs <= 1 for c in all_cases(read_stream(lines(fixture))))

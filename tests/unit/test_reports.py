"""JUnit XML from go test -json streams, and benchmark parsing and comparison.

The streams and benchmark outputs are real Go output recorded once under
tests/fixtures/reports/ (its README says how); no test here runs Go.
"""

from __future__ import annotations

import itertools
import json
import random
import shutil
import statistics
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gobuild.checks import junit as reports
from gobuild.checks.benchstats import (
    METHOD_NOTE,
    Row,
    bench_cv,
    benchstat_compare,
    compare,
    format_compare,
    mann_whitney_p,
    parse_bench,
)
from gobuild.checks.junit import PACKAGE_CASE, junit_from_events, summarize_events
from gobuild.errors import GobuildError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "reports"
OK = "example.com/sample/ok"
BROKEN = "example.com/sample/broken"
INITPANIC = "example.com/sample/initpanic"
BENCH = "example.com/sample/bench"
BENCH2 = "example.com/sample/bench2"


def lines(name: str) -> list[str]:
    return (FIXTURES / name).read_text(encoding="utf-8").splitlines(keepends=True)


def text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def junit(stream: list[str] | str) -> ET.Element:
    xml = junit_from_events(stream)
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(xml.encode("utf-8"))


def suite(root: ET.Element, package: str) -> ET.Element:
    found = [s for s in root.findall("testsuite") if s.get("name") == package]
    assert len(found) == 1, [s.get("name") for s in root.findall("testsuite")]
    return found[0]


def case(root: ET.Element, package: str, name: str) -> ET.Element:
    found = [c for c in suite(root, package).findall("testcase") if c.get("name") == name]
    assert len(found) == 1
    return found[0]


def failure(root: ET.Element, package: str, name: str) -> ET.Element:
    element = case(root, package, name).find("failure")
    assert element is not None, f"{package} {name} did not fail"
    return element


def status(element: ET.Element) -> str:
    if element.find("failure") is not None:
        return "fail"
    return "skip" if element.find("skipped") is not None else "pass"


# ------------------------------------------------------------------------------ JUnit XML

MIXED = ["go122-mixed.jsonl", "go126-mixed.jsonl"]


@pytest.mark.parametrize("fixture", MIXED)
def test_junit_counts_per_package_and_in_total(fixture: str) -> None:
    root = junit(lines(fixture))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("9", "5", "2")
    names = [s.get("name", "") for s in root.findall("testsuite")]
    assert sorted(names) == sorted([OK, BROKEN, INITPANIC])
    ok = suite(root, OK)
    assert (ok.get("tests"), ok.get("failures"), ok.get("skipped")) == ("7", "3", "2")
    assert len(ok.findall("testcase")) == 7
    # The totals are the sums of the suites, times included.
    for attr in ("tests", "failures", "skipped"):
        assert int(root.get(attr, "")) == sum(int(s.get(attr, "")) for s in root)
    total = sum(float(s.get("time", "")) for s in root)
    assert float(root.get("time", "")) == pytest.approx(total, abs=0.002)
    assert float(ok.get("time", "")) > 0
    assert ok.get("timestamp", "").startswith("2026-11-24T05:")


@pytest.mark.parametrize("fixture", MIXED)
def test_junit_one_testcase_per_test_and_subtest(fixture: str) -> None:
    root = junit(lines(fixture))
    ok = suite(root, OK)
    got = {c.get("name"): status(c) for c in ok.findall("testcase")}
    assert got == {
        "TestPass": "pass",
        "TestFail": "fail",
        "TestSkip": "skip",
        "TestSub": "fail",
        "TestSub/one": "pass",
        "TestSub/two_words": "fail",
        "TestSub/skipped": "skip",
    }
    assert {c.get("classname") for c in root.iter("testcase")} == {OK, BROKEN, INITPANIC}


@pytest.mark.parametrize("fixture", MIXED)
def test_junit_failure_carries_the_test_output(fixture: str) -> None:
    element = failure(junit(lines(fixture)), OK, "TestFail")
    # The message is the t.Errorf line; XML escaping round-trips.
    assert element.get("message") == 'ok_test.go:17: Add(2, 2) = 4, want 5 <&> "quoted"'
    body = element.text or ""
    assert "=== RUN   TestFail" in body
    assert "ok_test.go:15: about to fail: naïve café ✓" in body
    assert "--- FAIL: TestFail" in body
    sub = failure(junit(lines(fixture)), OK, "TestSub/two_words")
    assert sub.get("message") == "ok_test.go:27: sub failed"
    assert "TestFail" not in (sub.text or "")


@pytest.mark.parametrize("fixture", MIXED)
def test_junit_control_characters_are_shown_escaped(fixture: str) -> None:
    xml = junit_from_events(lines(fixture))
    # The test printed ESC, BEL and \x01: none may reach the document raw.
    assert not any(ch in xml for ch in "\x1b\x07\x01")
    body = failure(ET.fromstring(xml), OK, "TestFail").text or ""
    assert "printed \\x1b[31mred\\x1b[0m with bell \\x07 and NUL-ish \\x01" in body


@pytest.mark.parametrize("fixture", MIXED)
def test_junit_skipped_tests_carry_the_reason(fixture: str) -> None:
    root = junit(lines(fixture))
    skipped = case(root, OK, "TestSkip").find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "ok_test.go:21: not on this platform"
    later = case(root, OK, "TestSub/skipped").find("skipped")
    assert later is not None
    assert later.get("message") == "ok_test.go:29: later"


@pytest.mark.parametrize("fixture", MIXED)
def test_build_failure_is_a_failing_package_case_with_the_compiler_errors(fixture: str) -> None:
    # go1.22 wrote the errors to stderr ("# pkg" lines merged into the stream);
    # go1.26 sends them as build-output events. Both end up in the same place.
    root = junit(lines(fixture))
    broken = suite(root, BROKEN)
    assert (broken.get("tests"), broken.get("failures")) == ("1", "1")
    element = failure(root, BROKEN, PACKAGE_CASE)
    assert element.get("message") == "build failed"
    body = element.text or ""
    assert "broken/broken.go:3:28: undefined: undefinedThing" in body
    assert "# example.com/sample/broken [example.com/sample/broken.test]" in body
    assert f"FAIL\t{BROKEN} [build failed]" in body


def test_build_failure_without_compiler_output_still_fails() -> None:
    # stderr went elsewhere: only go test's own "[build failed]" line is left.
    root = junit(lines("go122-stdout-only.jsonl"))
    element = failure(root, BROKEN, PACKAGE_CASE)
    assert element.get("message") == "build failed"
    assert (element.text or "").strip() == f"FAIL\t{BROKEN} [build failed]"
    # A package with benchmarks only has an empty suite, not a failure.
    bench = suite(root, BENCH)
    assert (bench.get("tests"), bench.get("failures")) == ("0", "0")


@pytest.mark.parametrize("fixture", ["go122-deps.jsonl", "go126-deps.jsonl"])
def test_build_output_goes_to_the_package_it_belongs_to(fixture: str) -> None:
    root = junit(lines(fixture))
    # The external test package's errors ("pkg_test [pkg.test]") belong to xbroken ...
    own = failure(root, "example.com/sample/xbroken", PACKAGE_CASE).text or ""
    assert "x_test.go:10:22: invalid operation" in own
    assert "undefinedThing" not in own and "broken2/b.go" not in own
    # ... and a broken dependency's errors to the packages that import it.
    dep = failure(root, "example.com/sample/usesbroken", PACKAGE_CASE).text or ""
    assert "# example.com/sample/broken\nbroken/broken.go:3:28: undefined: undefinedThing" in dep
    assert "x_test.go" not in dep
    dep2 = failure(root, "example.com/sample/usesbroken2", PACKAGE_CASE).text or ""
    assert "broken2/b.go:3:32: cannot use 42" in dep2
    assert "x_test.go" not in dep2


def test_go126_names_which_dependency_broke_each_package() -> None:
    # FailedBuild says which build output is whose; go1.22's stderr does not, so there
    # each package that failed through a dependency gets every dependency's errors.
    root = junit(lines("go126-deps.jsonl"))
    assert "broken2" not in (
        failure(root, "example.com/sample/usesbroken", PACKAGE_CASE).text or ""
    )
    assert "undefinedThing" not in (
        failure(root, "example.com/sample/usesbroken2", PACKAGE_CASE).text or ""
    )


def test_stray_lines_of_a_build_failure_go_to_the_failed_build() -> None:
    stream = lines("go122-stdout-only.jsonl")
    stray = "go: warning: something about the build\n"
    element = failure(junit([stray, *stream]), BROKEN, PACKAGE_CASE)
    assert stray.strip() in (element.text or "")
    # ... but never to a package that failed for another reason.
    other = failure(junit([stray, *stream]), INITPANIC, PACKAGE_CASE)
    assert stray.strip() not in (other.text or "")


def test_stray_lines_after_json_do_not_extend_a_compiler_error_block() -> None:
    stream = lines("go122-mixed.jsonl")
    assert stream[0].startswith("# ") and stream[2].startswith("{") and stream[3].startswith("{")
    stray = "go: a line after the JSON resumed\n"
    root = junit([*stream[:4], stray, *stream[4:]])
    assert stray.strip() not in (failure(root, BROKEN, PACKAGE_CASE).text or "")


def test_package_output_is_kept_once() -> None:
    root = junit(lines("go122-mixed.jsonl"))
    out = suite(root, OK).find("system-out")
    assert out is not None and f"FAIL\t{OK}\t" in (out.text or "")
    # A failed package's output is already in its failing case.
    assert suite(root, BROKEN).find("system-out") is None


@pytest.mark.parametrize("fixture", MIXED)
def test_init_panic_is_a_failing_package_case(fixture: str) -> None:
    element = failure(junit(lines(fixture)), INITPANIC, PACKAGE_CASE)
    assert element.get("message") == "panic: boom in init"
    assert "example.com/sample/initpanic.init()" in (element.text or "")


@pytest.mark.parametrize("fixture", ["go122-panic-timeout.jsonl", "go126-panic-timeout.jsonl"])
def test_timeout_and_panic_blame_the_running_test(fixture: str) -> None:
    root = junit(lines(fixture))
    hang = "example.com/sample/hang"
    assert status(case(root, hang, "TestQuick")) == "pass"
    # No result event for TestHang: the timeout panic in its output fails it.
    timed_out = failure(root, hang, "TestHang")
    assert timed_out.get("message") == "panic: test timed out after 2s"
    assert "h_test.go:11: waiting forever" in (timed_out.text or "")
    slow = "example.com/sample/slow"
    panicked = failure(root, slow, "TestPanics")
    assert (panicked.get("message") or "").startswith("panic: assignment to entry in nil map")
    assert status(case(root, slow, "TestPanics/inner")) == "fail"
    # The paused parallel tests never resumed: not failures, not passes.
    for name in ("TestParA", "TestParB"):
        skipped = case(root, slow, name).find("skipped")
        assert skipped is not None
        assert "no result" in (skipped.get("message") or "")
    # A failing test explains both packages: no extra package cases.
    assert not [c for c in root.iter("testcase") if c.get("name") == PACKAGE_CASE]
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("6", "3", "2")


def test_parse_bench_keeps_interleaved_json_packages_apart() -> None:
    # go test runs packages in parallel; their events interleave line by line.
    first, second = lines("bench-json.jsonl"), lines("bench-fail.jsonl")
    woven = [ln for pair in itertools.zip_longest(first, second, fillvalue="") for ln in pair]
    assert parse_bench("".join(woven)) == {
        **parse_bench("".join(first)),
        **parse_bench("".join(second)),
    }


def test_benchmarks_without_result_events_pass() -> None:
    root = junit(lines("bench-json.jsonl"))
    cases = {c.get("name"): status(c) for c in root.iter("testcase")}
    assert cases == {
        "BenchmarkJoin": "pass",
        "BenchmarkSizes": "pass",
        "BenchmarkSizes/n-8": "pass",
        "BenchmarkSizes/n-4": "pass",
    }
    assert root.get("failures") == "0"


def test_a_failing_benchmark_does_not_fail_the_ones_before_it() -> None:
    # Benchmarks get no result event unless they log or fail: BenchmarkFine has none,
    # and the package failed (because of BenchmarkBroken), yet BenchmarkFine passed.
    stream = lines("bench-fail.jsonl")
    root = junit(stream)
    package = "example.com/sample/benchfail"
    assert status(case(root, package, "BenchmarkFine")) == "pass"
    broken = failure(root, package, "BenchmarkBroken")
    assert broken.get("message") == "b_test.go:15: setup failed: no fixture"
    assert (root.get("tests"), root.get("failures")) == ("2", "1")
    assert parse_bench("".join(stream)) == {f"{package}.BenchmarkFine": [{"ns/op": 43.97}]}


def test_a_stream_that_ends_early_fails_what_was_unfinished() -> None:
    stream = lines("go126-panic-timeout.jsonl")
    cut = next(i for i, ln in enumerate(stream) if "waiting forever" in ln) + 1
    root = junit(stream[:cut])
    hang = "example.com/sample/hang"
    element = failure(root, hang, "TestHang")
    assert element.get("message") == "no result: the stream ended before the test finished"
    # Cut before any test failed: the package itself is the failure.
    quick = next(i for i, ln in enumerate(stream) if '"pass"' in ln and "TestQuick" in ln) + 1
    root = junit(stream[:quick])
    element = failure(root, hang, PACKAGE_CASE)
    assert element.get("message") == "no result: the stream ended before the package finished"
    assert status(case(root, hang, "TestQuick")) == "pass"


def test_non_json_lines_are_tolerated() -> None:
    clean = lines("go126-mixed.jsonl")
    noise = ["\n", "not json at all\n", "{broken json\n", "[1, 2, 3]\n", '{"NoAction": 1}\n']
    noisy = [*noise[:2], *clean[:10], *noise[2:], *clean[10:]]
    # go1.26 names the build output of the failed build, so noise attaches nowhere.
    assert junit_from_events(noisy) == junit_from_events(clean)


def test_a_test_without_result_in_a_passing_package_passed() -> None:
    stream = [
        ln for ln in lines("go126-mixed.jsonl") if not ('"pass"' in ln and '"TestPass"' in ln)
    ]
    assert len(stream) == len(lines("go126-mixed.jsonl")) - 1
    ok_events = [ln for ln in stream if f'"Package":"{OK}"' in ln]
    # The ok package failed, so make it pass: only its passing test and its end.
    passing = [ln for ln in ok_events if '"Test"' not in ln or '"TestPass"' in ln]
    passing[-1] = passing[-1].replace('"Action":"fail"', '"Action":"pass"')
    assert status(case(junit(passing), OK, "TestPass")) == "pass"


def test_whole_text_and_line_iterables_agree() -> None:
    stream = text("go122-mixed.jsonl")
    assert junit_from_events(stream) == junit_from_events(iter(stream.splitlines()))


def test_empty_stream_is_an_empty_document() -> None:
    root = junit([])
    assert (root.tag, root.get("tests"), root.get("failures"), len(root)) == (
        "testsuites",
        "0",
        "0",
        0,
    )
    assert summarize_events([]) == reports.TestSummary(0, 0, 0, 0, 0, [])


def test_timestamps_are_utc() -> None:
    event = {"Time": "2026-01-02T03:04:05.123456789+02:00", "Action": "start", "Package": "p"}
    done = {"Action": "pass", "Package": "p", "Elapsed": 0.5}
    root = junit([json.dumps(event), json.dumps(done)])
    assert suite(root, "p").get("timestamp") == "2026-01-02T01:04:05"
    assert suite(root, "p").get("time") == "0.500"


def output_stream(output: str, test: str = "TestX") -> list[str]:
    events = [
        {"Action": "run", "Package": "p", "Test": test},
        {"Action": "output", "Package": "p", "Test": test, "Output": output},
        {"Action": "fail", "Package": "p", "Test": test, "Elapsed": 0.01},
        {"Action": "fail", "Package": "p", "Elapsed": 0.02},
    ]
    return [json.dumps(e) for e in events]


@settings(max_examples=200, deadline=None)
@given(st.text(), st.text(min_size=1))
def test_any_output_gives_well_formed_xml(output: str, test: str) -> None:
    root = junit(output_stream(output, test))
    element = case(root, "p", reports._xml(test)).find("failure")
    assert element is not None
    # Text that XML can carry comes back unchanged (bar CR, which XML normalises).
    if not reports._NOT_XML.search(output) and "\r" not in output:
        assert (element.text or "") == output


def test_not_xml_is_exactly_what_xml_1_0_cannot_carry() -> None:
    # XML 1.0's Char production, https://www.w3.org/TR/xml/#charsets
    def is_char(c: int) -> bool:
        return (
            c in (0x9, 0xA, 0xD)
            or 0x20 <= c <= 0xD7FF
            or 0xE000 <= c <= 0xFFFD
            or 0x10000 <= c <= 0x10FFFF
        )

    wrong = [c for c in range(0x110000) if bool(reports._NOT_XML.match(chr(c))) == is_char(c)]
    assert wrong == []


def test_summary_counts_what_the_junit_counts() -> None:
    summary = summarize_events(lines("go122-mixed.jsonl"))
    assert (summary.packages, summary.tests, summary.passed) == (3, 9, 2)
    assert (summary.failed, summary.skipped) == (5, 2)
    assert summary.failed_names == [
        f"{OK}.TestFail",
        f"{OK}.TestSub",
        f"{OK}.TestSub/two_words",
        f"{BROKEN}.{PACKAGE_CASE}",
        f"{INITPANIC}.{PACKAGE_CASE}",
    ]
    timeout = summarize_events(text("go126-panic-timeout.jsonl"))
    assert (timeout.packages, timeout.tests, timeout.passed, timeout.failed) == (2, 6, 1, 3)
    assert "example.com/sample/hang.TestHang" in timeout.failed_names


# ---------------------------------------------------------------------------- benchmarks


def test_parse_bench_reads_every_unit_of_every_run() -> None:
    results = parse_bench(text("bench-old.txt"))
    assert list(results) == [
        f"{BENCH}.BenchmarkJoin",
        f"{BENCH}.BenchmarkJoinBytes",
        f"{BENCH}.BenchmarkCustom",
    ]
    assert all(len(runs) == 5 for runs in results.values())
    join = results[f"{BENCH}.BenchmarkJoin"]
    assert join[0] == {"ns/op": 2083.0, "B/op": 2240.0, "allocs/op": 6.0}
    assert [run["ns/op"] for run in join] == [2083, 2407, 2284, 1717, 2214]
    assert results[f"{BENCH}.BenchmarkJoinBytes"][0] == {
        "ns/op": 648.8,
        "MB/s": 197.28,
        "B/op": 480.0,
        "allocs/op": 4.0,
    }
    assert results[f"{BENCH}.BenchmarkCustom"][4]["widgets/op"] == 3.5


def test_parse_bench_without_pkg_line_uses_plain_names() -> None:
    body = "".join(ln for ln in lines("bench-old.txt") if ln.startswith("Benchmark"))
    assert list(parse_bench(body)) == ["BenchmarkJoin", "BenchmarkJoinBytes", "BenchmarkCustom"]


def test_uniform_procs_suffix_is_stripped_mixed_is_kept() -> None:
    # Every line says -2: stripped. "-cpu 1,2" mixes none and -2: names kept as printed,
    # so "BenchmarkSizes/n-8" (GOMAXPROCS 1) and "BenchmarkSizes/n-8-2" stay apart.
    assert all("-2" not in name for name in parse_bench(text("bench-new.txt")))
    results = parse_bench(text("bench-twopkg.txt"))
    assert list(results) == [
        f"{BENCH}.BenchmarkJoin",
        f"{BENCH}.BenchmarkJoin-2",
        f"{BENCH}.BenchmarkJoinBytes",
        f"{BENCH}.BenchmarkJoinBytes-2",
        f"{BENCH}.BenchmarkCustom",
        f"{BENCH}.BenchmarkCustom-2",
        f"{BENCH2}.BenchmarkJoin",
        f"{BENCH2}.BenchmarkJoin-2",
        f"{BENCH2}.BenchmarkSizes/n-8",
        f"{BENCH2}.BenchmarkSizes/n-8-2",
        f"{BENCH2}.BenchmarkSizes/n-4",
        f"{BENCH2}.BenchmarkSizes/n-4-2",
    ]
    assert all(len(runs) == 2 for runs in results.values())
    # The same benchmark name in two packages does not collide.
    assert results[f"{BENCH}.BenchmarkJoin"][0]["ns/op"] == 434.2
    assert results[f"{BENCH2}.BenchmarkJoin"][0]["ns/op"] == 74.37


def test_parse_bench_reads_a_go_test_json_stream() -> None:
    # Result lines arrive split over two output events there ("BenchmarkJoin-2 \t" and
    # "20000\t99.30 ns/op"); every line carries -2, so the suffix goes.
    results = parse_bench(text("bench-json.jsonl"))
    assert {k: [r["ns/op"] for r in v] for k, v in results.items()} == {
        f"{BENCH2}.BenchmarkJoin": [104.3, 99.30],
        f"{BENCH2}.BenchmarkSizes/n-8": [32.43, 48.50],
        f"{BENCH2}.BenchmarkSizes/n-4": [99.86, 74.08],
    }


def test_parse_bench_ignores_what_is_not_a_result() -> None:
    noise = (
        "BenchmarkJoin\n"  # the name alone, printed before a benchmark that logs
        "--- BENCH: BenchmarkJoin-2\n"
        "    b_test.go:9: logging from a benchmark\n"
        "Benchmarking  100  5 ns/op\n"  # not a benchmark: lower case after "Benchmark"
        "BenchmarkOdd-2  100  5 ns/op  7\n"
        "BenchmarkNaN-2  many  5 ns/op\n"
        "BenchmarkBad-2  100  fast ns/op\n"
        "PASS\nok  \texample.com/x\t0.1s\n"
    )
    assert parse_bench(noise) == {}
    assert parse_bench(noise + "BenchmarkReal-2  100  5 ns/op\n") == {
        "BenchmarkReal": [{"ns/op": 5.0}]
    }


def test_compare_finds_a_clear_improvement() -> None:
    rows = compare(text("bench-old.txt"), text("bench-new.txt"))
    by_key = {(r.name, r.unit): r for r in rows}
    join = by_key[(f"{BENCH}.BenchmarkJoin", "ns/op")]
    old = [2083, 2407, 2284, 1717, 2214]
    new = [232.0, 217.1, 253.6, 211.2, 213.5]
    assert join.old_mean == pytest.approx(statistics.fmean(old))
    assert join.new_mean == pytest.approx(statistics.fmean(new))
    assert join.old_cv == pytest.approx(statistics.stdev(old) / statistics.fmean(old))
    assert join.new_cv == pytest.approx(statistics.stdev(new) / statistics.fmean(new))
    assert join.delta == pytest.approx(225.48 / 2141 - 1)
    # Five runs each, fully separated: the smallest two-sided p there is, 2/C(10,5).
    assert join.p_value == pytest.approx(2 / 252)
    assert (join.n_old, join.n_new, join.significant) == (5, 5, True)
    mbs = by_key[(f"{BENCH}.BenchmarkJoinBytes", "MB/s")]
    assert mbs.delta is not None and mbs.delta > 6
    # Equal in every run: no difference at all.
    widgets = by_key[(f"{BENCH}.BenchmarkCustom", "widgets/op")]
    assert (widgets.p_value, widgets.delta, widgets.significant) == (1.0, 0.0, False)
    assert widgets.old_cv == 0.0
    # Grouped by unit, in order of first appearance.
    units = [r.unit for r in rows]
    assert units == ["ns/op"] * 3 + ["B/op"] * 3 + ["allocs/op"] * 3 + ["MB/s", "widgets/op"]


def test_compare_identical_distributions_are_not_significant() -> None:
    rows = compare(text("bench-old.txt"), text("bench-old.txt"))
    assert rows and all(r.p_value == 1.0 and not r.significant for r in rows)
    out = format_compare(rows)
    table = out.splitlines()[1 : len(rows) + 1]
    assert all(line.split()[-3] == "~" for line in table)


def test_compare_overlapping_samples_are_not_significant() -> None:
    old = "".join(f"BenchmarkX-4  1000  {v} ns/op\n" for v in (100, 102, 98, 101, 99))
    new = "".join(f"BenchmarkX-4  1000  {v} ns/op\n" for v in (101, 99, 100, 103, 97))
    (row,) = compare(old, new)
    assert row.name == "BenchmarkX"
    assert row.p_value is not None and row.p_value > 0.5
    assert not row.significant
    assert row.delta == pytest.approx(0.0)
    assert "~" in format_compare([row]).splitlines()[1].split()


def test_compare_keeps_benchmarks_and_units_present_on_one_side() -> None:
    old = "BenchmarkGone-2  10  5 ns/op\nBenchmarkBoth-2  10  7 ns/op\n"
    new = "BenchmarkBoth-2  10  7 ns/op  3 B/op\nBenchmarkNew-2  10  9 ns/op\n"
    rows = compare(old, new)
    got = [(r.name, r.unit, r.old_mean, r.new_mean, r.n_old, r.n_new, r.p_value) for r in rows]
    assert got == [
        ("BenchmarkGone", "ns/op", 5.0, None, 1, 0, None),
        ("BenchmarkBoth", "ns/op", 7.0, 7.0, 1, 1, 1.0),
        ("BenchmarkNew", "ns/op", None, 9.0, 0, 1, None),
        ("BenchmarkBoth", "B/op", None, 3.0, 0, 1, None),
    ]
    assert all(r.delta is None for r in rows if r.old_mean is None or r.new_mean is None)
    # One run: no spread to speak of.
    assert rows[1].old_cv is None
    out = format_compare(rows)
    gone = next(line for line in out.splitlines() if line.startswith("BenchmarkGone"))
    assert gone.split()[-4:] == ["-", "-", "-", "1/0"]


def test_compare_from_zero_has_no_relative_delta() -> None:
    old = "".join("BenchmarkA-2  10  5 ns/op  0 allocs/op\n" for _ in range(5))
    new = "".join(f"BenchmarkA-2  10  5 ns/op  {n} allocs/op\n" for n in (2, 2, 3, 2, 2))
    allocs = next(r for r in compare(old, new) if r.unit == "allocs/op")
    assert allocs.delta is None and allocs.significant
    assert allocs.old_cv == 0.0  # all zero: no variation, though the mean is 0
    line = format_compare([allocs]).splitlines()[1]
    assert "n/a" in line.split()


def test_compare_rejects_input_without_results() -> None:
    good = text("bench-old.txt")
    with pytest.raises(GobuildError, match="old benchmark output has no benchmark result"):
        compare("PASS\nok  \tx\t0.1s\n", good)
    with pytest.raises(GobuildError, match="new benchmark output has no benchmark result"):
        compare(good, "")


def test_format_compare_table_and_method_note() -> None:
    rows = compare(text("bench-old.txt"), text("bench-new.txt"))
    out = format_compare(rows)
    table, note = out.rstrip("\n").split("\n\n")
    header, *body = table.splitlines()
    assert header.split() == ["name", "unit", "old", "new", "delta", "p", "n"]
    assert len(body) == len(rows)
    first = body[0]
    assert first.startswith(f"{BENCH}.BenchmarkJoin ")
    assert "2141 ± 12%" in first and "225.5 ± 8%" in first
    assert first.split()[-3:] == ["-89.47%", "0.008", "5/5"]
    # Columns line up: every row has its unit where the header has "unit".
    at = header.index("unit")
    assert all(line[at - 2 : at] == "  " and line[at] != " " for line in body)
    assert note == METHOD_NOTE.format(runs="5")
    assert note == (
        "gobuild's own comparison: mean ± coefficient of variation over 5 runs, two-sided "
        "Mann-Whitney U test, differences with p ≥ 0.05 shown as ~ (benchstat not found on PATH)"
    )


def test_format_compare_names_a_range_of_run_counts() -> None:
    old = "BenchmarkA  1  1 ns/op\nBenchmarkA  1  2 ns/op\nBenchmarkA  1  3 ns/op\n"
    new = "BenchmarkA  1  1 ns/op\n"
    assert "over 1-3 runs" in format_compare(compare(old, new))


def test_bench_cv_is_stdev_over_mean_of_ns_per_op() -> None:
    cv = bench_cv(text("bench-old.txt"))
    assert set(cv) == {
        f"{BENCH}.BenchmarkJoin",
        f"{BENCH}.BenchmarkJoinBytes",
        f"{BENCH}.BenchmarkCustom",
    }
    join = [2083, 2407, 2284, 1717, 2214]
    assert cv[f"{BENCH}.BenchmarkJoin"] == pytest.approx(
        statistics.stdev(join) / statistics.fmean(join)
    )
    assert cv[f"{BENCH}.BenchmarkJoin"] == pytest.approx(0.1235, abs=1e-4)
    # One run has no variation to measure: left out rather than reported as 0.
    assert bench_cv(
        "BenchmarkOnce-2  10  5 ns/op\nBenchmarkTwice-2  10  4 ns/op\nBenchmarkTwice-2  10  6 ns/op\n"
    ) == {"BenchmarkTwice": pytest.approx(statistics.stdev([4, 6]) / 5)}
    with pytest.raises(GobuildError, match="no benchmark results with ns/op"):
        bench_cv("BenchmarkA-2  10  5 B/op\n")
    with pytest.raises(GobuildError, match="no benchmark results"):
        bench_cv("")


# ------------------------------------------------------------------ Mann-Whitney U test


@pytest.mark.parametrize(
    ("x", "y", "p"),
    [
        # Reference values from go-moremath's stats.MannWhitneyUTest (LocationDiffers),
        # the implementation benchstat uses, run once on these samples.
        ([1, 2, 3], [4, 5, 6], 0.10000000000000002),  # = 2/C(6,3)
        ([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], 0.0079365079365079378),  # = 2/C(10,5)
        ([1, 3, 5, 7], [2, 4, 6, 8], 0.68571428571428572),  # = 2*24/70
        (list(range(60)), [i + 10.5 for i in range(60)], 0.0025668879435241801),  # normal
        ([i // 3 for i in range(30)], [i // 3 + 2 for i in range(30)], 0.016504477012993086),
        # With ties the exact distribution is lopsided and benchstat doubles one tail,
        # giving 14/126 = 0.111 in this order and 8/126 = 0.063 in the other; gobuild
        # counts both tails: 11 of the C(9,4) = 126 splits are at least as extreme.
        ([1, 2, 2, 3], [2, 3, 4, 4, 5], 11 / 126),
        # Here both conventions agree (benchstat: 0.087301587301587297).
        ([10, 10, 11, 12, 12], [11, 12, 13, 13, 14], 0.087301587301587297),
    ],
)
def test_mann_whitney_matches_known_values(x: list[float], y: list[float], p: float) -> None:
    assert mann_whitney_p(x, y) == pytest.approx(p, rel=1e-12)
    assert mann_whitney_p(y, x) == pytest.approx(p, rel=1e-12)


def test_mann_whitney_degenerate_samples() -> None:
    assert mann_whitney_p([3, 3, 3], [3, 3]) == 1.0
    assert mann_whitney_p([1, 2], [2, 1]) == 1.0  # U1 == U2
    assert mann_whitney_p([1], [2]) == 1.0
    assert mann_whitney_p([7.0] * 60, [7.0] * 60) == 1.0  # past the exact limit too
    with pytest.raises(GobuildError, match="at least one value on each side"):
        mann_whitney_p([], [1, 2])


def brute_force_p(x: list[int], y: list[int]) -> float:
    """Two-sided p by listing every split of the pooled values: P(|U - mean| >= observed)."""
    pool = x + y

    def u(xs: list[int], ys: list[int]) -> float:
        return sum((a > b) + 0.5 * (a == b) for a in xs for b in ys)

    middle = len(x) * len(y) / 2
    far = abs(u(x, y) - middle)
    splits = list(itertools.combinations(range(len(pool)), len(x)))
    extreme = 0
    for chosen in splits:
        xs = [pool[i] for i in chosen]
        ys = [pool[i] for i in range(len(pool)) if i not in chosen]
        extreme += abs(u(xs, ys) - middle) >= far
    return extreme / len(splits)


def test_mann_whitney_exact_distribution_matches_enumeration() -> None:
    rng = random.Random(20261124)
    for _ in range(150):
        x = [rng.randint(0, 5) for _ in range(rng.randint(1, 6))]
        y = [rng.randint(0, 5) for _ in range(rng.randint(1, 6))]
        assert mann_whitney_p(x, y) == pytest.approx(brute_force_p(x, y), abs=1e-12), (x, y)


def test_mann_whitney_is_fast_at_the_exact_limits() -> None:
    # 50 + 50 without ties and 25 + 25 with ties stay exact; the caller runs it per row.
    assert 0 < mann_whitney_p(list(range(50)), [i + 10.5 for i in range(50)]) < 0.01
    assert 0 < mann_whitney_p([i // 2 for i in range(25)], [i // 2 + 3 for i in range(25)]) < 0.05


def test_row_significance_follows_alpha() -> None:
    def row(p: float | None) -> Row:
        return Row("B", "ns/op", 1.0, 2.0, None, None, 5, 5, 1.0, p)

    assert row(0.049).significant and not row(0.05).significant and not row(None).significant


# ---------------------------------------------------------------------------- benchstat


def test_benchstat_compare_needs_both_files(tmp_path: Path) -> None:
    with pytest.raises(GobuildError, match="benchmark results file not found: .*missing.txt"):
        benchstat_compare(FIXTURES / "bench-old.txt", tmp_path / "missing.txt", "benchstat")


def test_benchstat_compare_reports_a_missing_benchstat(tmp_path: Path) -> None:
    absent = str(tmp_path / "no-such-benchstat")
    with pytest.raises(GobuildError, match="command not found: .*no-such-benchstat"):
        benchstat_compare(FIXTURES / "bench-old.txt", FIXTURES / "bench-new.txt", absent)


def test_benchstat_compare_runs_benchstat() -> None:
    found = shutil.which("benchstat")
    if found is None:
        pytest.skip("benchstat is not on PATH (go install golang.org/x/perf/cmd/benchstat@latest)")
    out = benchstat_compare(FIXTURES / "bench-old.txt", FIXTURES / "bench-new.txt", found)
    assert "bench-old.txt" in out and "bench-new.txt" in out
    assert "sec/op" in out and "p=0.008 n=5" in out


def test_a_test_running_when_the_binary_was_killed_fails_and_a_paused_one_is_skipped() -> None:
    # What a memory cap's SIGKILL leaves: the running test has no result event.
    events = [
        {"Action": "start", "Package": "m/hog"},
        {"Action": "run", "Package": "m/hog", "Test": "TestHog"},
        {"Action": "run", "Package": "m/hog", "Test": "TestWaits"},
        {"Action": "pause", "Package": "m/hog", "Test": "TestWaits"},
        {"Action": "output", "Package": "m/hog", "Output": "signal: killed\n"},
        {"Action": "fail", "Package": "m/hog", "Elapsed": 0.5},
    ]
    xml = ET.fromstring(reports.junit_from_events(json.dumps(e) for e in events))
    cases = {c.get("name"): c for c in xml.iter("testcase")}
    hog = cases["TestHog"].find("failure")
    assert hog is not None and "died while this test ran" in (hog.get("message") or "")
    assert cases["TestWaits"].find("skipped") is not None


def test_go_test_s_own_vet_findings_are_the_build_failure() -> None:
    # go1.22 heads what go test's vet finds "# [pkg]": those lines are the package's too.
    root = junit(lines("go122-many.jsonl"))
    element = failure(root, "example.com/m/pv", PACKAGE_CASE)
    assert element.get("message") == "build failed"
    assert "pv/pv.go:6:9: fmt.Sprintf format %d has arg name of wrong type string" in (
        element.text or ""
    )

"""Reading a ``go test -json`` stream: its packages, their tests, and how each ended.

A pure function of the test2json event stream, for the summary and each unit's block
(:mod:`.failures`); JUnit XML is the pinned gotestsum's (:mod:`.report`). A package
that failed without a failing test (a build failure, a panic in init, a binary killed
between or during tests) becomes a failing case of its own, so the summary always
shows why. A test that failed and then passed, when gotestsum ran it again
(``--rerun-fails``), is flaky: it passed, and the failures are counted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Name of the testcase that stands for a package which failed without a failing test
# (build failure, panic in init, a crash between tests): CI must show it as a failure.
PACKAGE_CASE = "[package]"

# t.Log/t.Error lines: "    file_test.go:17: message".
_LOCATION = re.compile(r"^\s+\S+\.go:\d+: ")
# How go test marks a package it could not even build or set up.
_BUILD_FAILED = ("[build failed]", "[setup failed]")
# A build ImportPath: "pkg" or "pkg_test [pkg.test]" or "pkg [pkg.test]".
_IMPORT_PATH = re.compile(r"(\S+)(?: \[(\S+?)(?:\.test)?\])?")
_BRACKETED = re.compile(r"\[(\S+?)(?:\.test)?\]")


@dataclass
class _Test:
    name: str
    output: list[str] = field(default_factory=list)
    result: str | None = None
    elapsed: float = 0.0
    paused: bool = False  # last seen waiting for its turn (t.Parallel), not running
    failed_runs: int = 0  # results "fail" seen: more than one run when gotestsum reran it
    runs: int = 0  # results seen


@dataclass
class Package:
    """One package of the stream: its events as read, its result once it ended."""

    name: str
    started: str | None = None
    tests: dict[str, _Test] = field(default_factory=dict)
    output: list[str] = field(default_factory=list)
    result: str | None = None
    elapsed: float | None = None
    failed_build: str | None = None


@dataclass(frozen=True)
class Case:
    """One test (or a package's ``[package]`` stand-in) and how it ended."""

    name: str
    status: str  # "pass", "fail" or "skip"
    time: float
    output: str  # everything it printed, as go test wrote it
    message: str  # the one line that says why it failed or was skipped
    finished: bool = True  # it had a result event (``time`` is then its own)
    failed_runs: int = 0  # how many of its runs failed (reruns: flaky if it then passed)
    runs: int = 1

    @property
    def flaky(self) -> bool:
        """Whether it failed, was run again, and passed."""
        return self.status == "pass" and self.failed_runs > 0


@dataclass(frozen=True)
class Suite:
    """A package and its cases."""

    package: Package
    cases: list[Case]


@dataclass(frozen=True)
class Stream:
    """A ``go test -json`` stream read: its packages, and the non-JSON lines no package
    took (stderr text: ``go: ...`` messages, not compiler errors)."""

    suites: list[Suite]
    stray: list[str]


def read_stream(lines: Iterable[str]) -> Stream:
    """The packages and cases of a ``go test -json`` stream.

    ``lines`` may be the whole stream as one string. A package that failed without a
    failing test has a failing :data:`PACKAGE_CASE` with its build output.
    """
    # A str is an Iterable[str] of characters: take it as the whole stream instead.
    if isinstance(lines, str):
        lines = lines.splitlines()
    packages: dict[str, Package] = {}
    build: dict[str, list[str]] = {}  # build ImportPath -> compiler output
    orphans: list[str] = []  # non-JSON lines under no "# pkg" header
    block: list[str] | None = None
    for raw in lines:
        text = raw.rstrip("\r\n")
        event = parse_event(text)
        if event is None:
            # Go < 1.24 prints build errors to stderr as "# importpath" blocks.
            if text.startswith("# "):
                block = build.setdefault(text[2:].strip(), [])
                block.append(text + "\n")
            elif block is not None:
                block.append(text + "\n")
            elif text.strip():
                orphans.append(text + "\n")
            continue
        block = None
        _apply(event, packages, build)
    # A dependency's build output that an importer's failed build names (Go >= 1.24's
    # FailedBuild) is that package's, not stray: it would be shown twice.
    named = {pkg.failed_build for pkg in packages.values() if pkg.failed_build is not None}
    unowned = [
        line
        for key, out in build.items()
        if _owner(key) not in packages and key not in named
        for line in out
    ]
    suites = []
    stray = unowned + orphans  # until a failed build takes them
    for pkg in packages.values():
        cases = [_test_case(pkg, test) for test in pkg.tests.values()]
        if pkg.result not in ("pass", "skip") and not _any_failed(cases):
            found = _build_output(pkg, build)
            if not found and is_build_failure(pkg):
                found, stray = unowned + orphans, []
            cases.append(_package_case(pkg, found))
        suites.append(Suite(pkg, cases))
    return Stream(suites, stray)


@dataclass(frozen=True)
class Flaky:
    """A test that failed, was run again and passed."""

    package: str
    test: str
    failed_runs: int
    runs: int

    def __str__(self) -> str:
        return f"{self.package} {self.test} (failed {self.failed_runs} of {self.runs} runs)"


def flaky(lines: Iterable[str]) -> list[Flaky]:
    """The flaky tests of a stream in which gotestsum reran failed tests (a parent
    test fails with its subtest: only the subtest is named)."""
    out = []
    for suite in read_stream(lines).suites:
        names = [case.name for case in suite.cases if case.flaky]
        for case in suite.cases:
            if case.flaky and not any(n.startswith(case.name + "/") for n in names):
                out.append(Flaky(suite.package.name, case.name, case.failed_runs, case.runs))
    return out


def parse_event(text: str) -> dict[str, Any] | None:
    """One test2json event, or None for a line that is not one (e.g. stderr text)."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        return None
    try:
        event = json.loads(stripped)
    except ValueError:
        return None
    if not isinstance(event, dict) or not isinstance(event.get("Action"), str):
        return None
    return event


def _apply(
    event: dict[str, Any], packages: dict[str, Package], build: dict[str, list[str]]
) -> None:
    action = event["Action"]
    output = event.get("Output")
    output = output if isinstance(output, str) else ""
    if action in ("build-output", "build-fail"):  # Go >= 1.24
        out = build.setdefault(str(event.get("ImportPath", "")), [])
        if action == "build-output":
            out.append(output)
        return
    name = event.get("Package")
    if not isinstance(name, str) or not name:
        return
    pkg = packages.setdefault(name, Package(name))
    if pkg.started is None and isinstance(event.get("Time"), str):
        pkg.started = event["Time"]
    elapsed = event.get("Elapsed")
    seconds = float(elapsed) if isinstance(elapsed, int | float) else 0.0
    test_name = event.get("Test")
    if not isinstance(test_name, str) or not test_name:
        if action == "output":
            pkg.output.append(output)
        elif action in ("pass", "fail", "skip"):
            pkg.result, pkg.elapsed = action, seconds
            if isinstance(event.get("FailedBuild"), str):
                pkg.failed_build = event["FailedBuild"]
        return
    test = pkg.tests.setdefault(test_name, _Test(test_name))
    if action == "output":
        test.output.append(output)
    elif action in ("pass", "fail", "skip"):
        test.result, test.elapsed = action, seconds
        test.runs += 1
        test.failed_runs += action == "fail"
    elif action in ("run", "pause", "cont"):
        test.paused = action == "pause"


def _test_case(pkg: Package, test: _Test) -> Case:
    output = "".join(test.output)
    status = test.result
    message = ""
    if status is None:
        status, message = _unfinished(pkg, test, output)
    if status == "fail":
        message = _panic(output) or message or _message(output) or "Failed"
    elif status == "skip":
        message = message or _message(output) or "Skipped"
    finished = test.result is not None
    runs = max(test.runs, 1)
    return Case(test.name, status, test.elapsed, output, message, finished, test.failed_runs, runs)


def _unfinished(pkg: Package, test: _Test, output: str) -> tuple[str, str]:
    """Status of a test without a result event, and why."""
    # The binary stopped while it ran (timeout, crash, os.Exit) or before a paused
    # parallel test resumed; or it is a benchmark, which gets a result event only when
    # it fails (a "bench" event, for one that logged, is no verdict either). Blame a
    # test only for a panic in its own output: a crash without one still fails the
    # package, which then gets its own failing case.
    if pkg.result is None:
        return "fail", "no result: the stream ended before the test finished"
    if pkg.result != "fail":
        return "pass", ""
    if "panic:" in output:
        return "fail", ""
    if test.name.startswith("Benchmark"):
        return "pass", ""
    if not test.paused and not any(
        other.name.startswith(test.name + "/") for other in pkg.tests.values()
    ):
        # It was running when the binary died without a panic: killed (a memory cap, a
        # signal) or os.Exit. A parent whose subtest was running is not blamed twice.
        return "fail", "no result: the test binary died while this test ran"
    return "skip", "no result: the package failed before the test finished"


def _package_case(pkg: Package, build_output: list[str]) -> Case:
    output = "".join(build_output) + "".join(pkg.output)
    if pkg.result is None:
        message = "no result: the stream ended before the package finished"
    elif is_build_failure(pkg):
        message = "build failed"
    else:
        message = _panic(output) or "package failed without a failing test"
    finished = pkg.result is not None
    return Case(PACKAGE_CASE, "fail", pkg.elapsed or 0.0, output, message[:200], finished)


def _build_output(pkg: Package, build: dict[str, list[str]]) -> list[str]:
    # Go >= 1.24 names the failed build; before, match the "# importpath" headers.
    if pkg.failed_build is not None and pkg.failed_build in build:
        return build[pkg.failed_build]
    return [line for key, out in build.items() if _owner(key) == pkg.name for line in out]


def _owner(import_path: str) -> str:
    """The package whose test binary a build ImportPath belongs to."""
    # go vet's part of go test (Go < 1.24) heads its findings "# [pkg]" or "# [pkg.test]".
    bracketed = _BRACKETED.fullmatch(import_path.strip())
    if bracketed is not None:
        return bracketed.group(1)
    match = _IMPORT_PATH.fullmatch(import_path.strip())
    if match is None:
        return import_path
    return match.group(2) or match.group(1)


def is_build_failure(pkg: Package) -> bool:
    """Whether go test could not build (or set up) the package's test binary."""
    return pkg.failed_build is not None or any(
        marker in line for line in pkg.output for marker in _BUILD_FAILED
    )


def _any_failed(cases: list[Case]) -> bool:
    return any(case.status == "fail" for case in cases)


def _message(output: str) -> str:
    """The one line that says why: a panic, else the last t.Error/t.Skip-style line."""
    located = [ln for ln in output.splitlines() if _LOCATION.match(ln)]
    return _panic(output) or (located[-1].strip()[:200] if located else "")


def _panic(output: str) -> str:
    line = next((ln for ln in output.splitlines() if ln.lstrip().startswith("panic:")), "")
    return line.strip()[:200]

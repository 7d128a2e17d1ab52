"""What failed in a check run, and where: each failing test of a ``go test -json``
stream with its own output, each build failure with its compiler errors, each linter
finding, each with the file and line to look at.

Pure functions of a unit's output (:mod:`.testevents` decides which test is blamed for
what); the module root only serves to name files relative to it. :mod:`.report` turns
these into the text a person reads and the JSON tools read.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gobuild.checks import testevents, vulns
from gobuild.checks.units import Result
from gobuild.errors import GobuildError
from gobuild.project import gomod
from gobuild.project.names import CheckKind

# go test's own lines around a test's output ("=== RUN   TestX", "--- FAIL: TestX (0.00s)"):
# not the test's output, as gotestsum's testname format leaves them out.
_FRAMING = re.compile(r"\s*(?:=== (?:RUN|PAUSE|CONT|NAME)\b|--- (?:FAIL|PASS|SKIP|BENCH): )")
# A package's closing lines: "PASS", "FAIL", "FAIL\tpkg\t0.01s", "ok  \tpkg",
# "FAIL\tpkg [build failed]".
_PACKAGE_LINE = re.compile(r"(?:PASS|FAIL|ok  )(?:\s|$)")
# t.Log/t.Error's prefix: "    file_test.go:17: message" (the base name only).
_LOGGED = re.compile(r"\s+(?P<file>[^\s:]+\.go):(?P<line>\d+): ")
# A compiler error or a linter finding: "dir/file.go:3:28: message" (vet may say "vet: " first).
_FINDING = re.compile(
    r"(?:vet: )?(?P<file>[^\s:][^:]*\.go):(?P<line>\d+)(?::(?P<col>\d+))?: (?P<msg>.*)"
)
# A stack frame's place: "\t/abs/dir/file.go:21 +0x28".
_FRAME = re.compile(r"\t(?P<file>/[^:]+\.go):(?P<line>\d+)(?: \+0x[0-9a-f]+)?")
_TIMED_OUT = "panic: test timed out after "


@dataclass(frozen=True)
class Failure:
    """One thing that failed: a test, a package, a linter finding, or a whole unit.

    ``reason`` is one of: ``failed`` (a test that failed), ``panic``, ``timed out``,
    ``no result`` (the test never finished: the binary died or the stream ended),
    ``build failed``, ``finding`` (a linter's), or a unit's status when nothing in its
    output says more (``over memory limit``, ``killed``...).
    """

    unit: str
    kind: CheckKind
    reason: str
    package: str = ""  # the import path, for a test or a package
    test: str = ""  # TestX or TestX/sub; "" for a package's own failure or a finding
    file: str = ""  # relative to the module root where it can be told
    line: int | None = None
    column: int | None = None
    elapsed: float | None = None  # seconds, for a test that finished
    message: str = ""  # the one line that says why
    output: tuple[str, ...] = ()  # its own lines, without go test's framing

    @property
    def location(self) -> str:
        """``file:line[:column]``, or the file alone, or ``""``."""
        if not self.file:
            return ""
        parts = [self.file] + [str(n) for n in (self.line, self.column) if n is not None]
        return ":".join(parts)

    @property
    def why(self) -> str:
        """What the parentheses after its name say: elapsed time, or what went wrong."""
        seconds = f"{self.elapsed:.2f}s" if self.elapsed is not None else ""
        if self.reason == "failed":
            return seconds or "failed"
        if self.reason == "timed out" and self.message.startswith(_TIMED_OUT):
            return "timed out after " + self.message.removeprefix(_TIMED_OUT)
        if self.reason == "no result":
            return f"no result: {self.message}" if self.message else "no result"
        if self.reason in ("over memory limit", "killed", "timed out"):  # gobuild stopped it
            joint = " " if self.message.startswith("after ") else ", "
            return joint.join(w for w in (self.reason, self.message) if w)
        return ", ".join(w for w in (self.reason, seconds) if w)

    @property
    def compiler_errors(self) -> list[str]:
        """A build failure's ``file:line: message`` lines."""
        return [ln for ln in self.output if _FINDING.fullmatch(ln)]


@dataclass(frozen=True)
class PackageResult:
    """How one package of a test unit ended, as ``go test`` sums it up in a line."""

    name: str
    result: str  # "pass", "fail", "skip" (no test files), "" when it never ended
    elapsed: float | None
    build_failed: bool


@dataclass(frozen=True)
class Reading:
    """What a unit's output says.

    ``understood`` is false when the output is not what the unit's tool writes (a test
    unit whose go command failed before any event): a person then reads it as it is.
    """

    failures: tuple[Failure, ...]
    packages: tuple[PackageResult, ...]  # a test unit's, in the order they started
    findings: tuple[str, ...]  # a lint unit's file:line lines, paths from the root
    stray: tuple[str, ...]  # a test unit's text that is neither events nor compiler output
    understood: bool


class Places:
    """Names a file as seen from the module root: an absolute path under the root, or a
    base name ``t.Errorf`` wrote, found in its package's directory."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self._module: str | None = None
        self._read = False

    @property
    def module(self) -> str | None:
        """The module path from go.mod, or None when it cannot be read."""
        if not self._read and self.root is not None:
            self._read = True
            try:
                self._module = gomod.read(self.root / "go.mod").module
            except (OSError, GobuildError):
                self._module = None
        return self._module

    def relative(self, path: str) -> str:
        """``path`` relative to the root when it is under it, without a leading ``./``."""
        if self.root is not None and path.startswith("/"):
            try:
                return Path(path).relative_to(self.root).as_posix()
            except ValueError:
                return path
        return path.removeprefix("./")

    def under_root(self, path: str) -> bool:
        """Whether an absolute ``path`` is in the module's tree."""
        return self.root is not None and Path(path).is_relative_to(self.root)

    def in_package(self, package: str, name: str) -> str:
        """``name`` (a base name) as a path from the root, if it is in ``package``'s
        directory; else ``name`` as it is."""
        module = self.module
        if module is None or self.root is None:
            return name
        if package == module:
            folder = ""
        elif package.startswith(module + "/"):
            folder = package[len(module) + 1 :]
        else:
            return name
        candidate = PurePosixPath(folder, name).as_posix() if folder else name
        return candidate if (self.root / candidate).is_file() else name


def read(result: Result, root: Path | None) -> Reading:
    """What ``result``'s output says failed, and where (files named from ``root``)."""
    places = Places(root)
    if result.kind == "test":
        reading = read_tests(result.name, result.output, places)
    elif result.kind == "lint":
        linter = result.name.partition("@")[0].removeprefix("lint:")
        if linter == "govulncheck":
            reading = read_vulns(result.name, result.output, places)
        elif linter == "tidy":
            reading = read_tidy(result, places)
        else:
            reading = read_findings(result.name, result.output, places)
    else:
        reading = Reading((), (), (), (), understood=False)
    failures = [_blame_the_unit(f, result) for f in reading.failures]
    if not result.passed and not failures:
        failures.append(_unit_failure(result, reading))
    return Reading(
        tuple(failures), reading.packages, reading.findings, reading.stray, reading.understood
    )


def read_tests(unit: str, stream: str, places: Places) -> Reading:
    """The packages and failures of a ``go test -json`` stream."""
    read = testevents.read_stream(stream)
    packages: list[PackageResult] = []
    failures: list[Failure] = []
    for suite in read.suites:
        pkg = suite.package
        packages.append(
            PackageResult(pkg.name, pkg.result or "", pkg.elapsed, testevents.is_build_failure(pkg))
        )
        failed = [c for c in suite.cases if c.status == "fail"]
        names = {c.name for c in failed}
        for case in failed:
            own = _own_lines(case.output, package=case.name == testevents.PACKAGE_CASE)
            if not own and any(n.startswith(case.name + "/") for n in names):
                continue  # failed because a subtest did: the subtest says why
            failures.append(_test_failure(unit, pkg, case, own, places))
    stray = tuple(line.rstrip("\n") for line in read.stray)
    return Reading(tuple(failures), tuple(packages), (), stray, understood=bool(read.suites))


def read_tidy(result: Result, places: Places) -> Reading:
    """``go mod tidy -diff``: a diff means go.mod/go.sum are not tidy (one finding at the
    module's go.mod, the diff in the log); anything else is read as it is."""
    output = result.output
    if result.passed or not output.lstrip().startswith(("diff ", "--- ")):
        return Reading((), (), (), (), understood=result.passed)
    folder = result.name.partition("@")[2]
    go_mod = f"{folder}/go.mod" if folder else "go.mod"
    changed = sorted({ln[4:].split()[0].rsplit("/", 1)[-1] for ln in output.splitlines()
                      if ln.startswith(("--- ", "+++ "))})  # fmt: skip
    what = " and ".join(n for n in changed if n in ("go.mod", "go.sum")) or "go.mod"
    failure = Failure(result.name, "lint", "finding", file=places.relative(go_mod),
                      message=f"not tidy: `go mod tidy` would change {what} (the diff: "
                      f"{result.log or 'the unit log'})")  # fmt: skip
    return Reading((failure,), (), (f"{failure.location}: {failure.message}",), (), True)


def read_vulns(unit: str, output: str, places: Places) -> Reading:
    """govulncheck's reached vulnerabilities, each trace a finding at its file:line."""
    failures = tuple(
        Failure(unit, "lint", "finding", file=places.relative(v.file) if v.file else "",
                line=v.line, column=v.column, message=v.message)
        for v in vulns.parse(output)
    )  # fmt: skip
    findings = tuple(f"{f.location}: {f.message}" if f.file else f.message for f in failures)
    clean = "No vulnerabilities found" in output or not output.strip()
    return Reading(failures, (), findings, (), bool(failures) or clean)


def read_findings(unit: str, output: str, places: Places) -> Reading:
    """A linter's ``file:line: message`` lines (gofmt's file list, for gofmt)."""
    gofmt = unit.removeprefix("lint:") == "gofmt"
    failures: list[Failure] = []
    for text in output.splitlines():
        match = _FINDING.fullmatch(text.strip())
        if match is not None:
            col = match["col"]
            failures.append(
                Failure(
                    unit, "lint", "finding", file=places.relative(match["file"]),
                    line=int(match["line"]), column=int(col) if col else None,
                    message=match["msg"],
                )
            )  # fmt: skip
        elif gofmt and text.strip().endswith(".go"):
            failures.append(
                Failure(unit, "lint", "finding", file=places.relative(text.strip()),
                        message="not formatted as gofmt formats it")
            )  # fmt: skip
    findings = tuple(f"{f.location}: {f.message}" for f in failures)
    understood = bool(failures) or not output.strip()
    return Reading(tuple(failures), (), findings, (), understood)


def _own_lines(output: str, *, package: bool) -> tuple[str, ...]:
    """A case's output without go test's framing (and a package's closing lines)."""
    lines = [
        ln for ln in output.splitlines()
        if not _FRAMING.match(ln) and not (package and _PACKAGE_LINE.match(ln))
    ]  # fmt: skip
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return tuple(lines)


def _test_failure(
    unit: str, pkg: testevents.Package, case: testevents.Case, own: tuple[str, ...], places: Places
) -> Failure:
    is_package = case.name == testevents.PACKAGE_CASE
    message = case.message
    if message.startswith(_TIMED_OUT):
        reason = "timed out"
    elif message.startswith("panic:"):
        reason = "panic"
    elif message.startswith("no result:"):
        reason, message = "no result", message.removeprefix("no result:").strip()
    elif is_package and message == "build failed":
        reason = "build failed"
    else:
        reason = "failed"
    if reason == "build failed":
        where = _compiler_error(own, places)
    elif reason in ("panic", "timed out"):
        where = _frame(own, pkg.name, places)
    else:
        where = _logged(own, pkg.name, places)
    timed = case.finished and reason in ("failed", "panic")
    return Failure(
        unit, "test", reason, package=pkg.name, test="" if is_package else case.name,
        file=where[0], line=where[1], column=where[2], elapsed=case.time if timed else None,
        message=message, output=own,
    )  # fmt: skip


Where = tuple[str, int | None, int | None]
_NOWHERE: Where = ("", None, None)


def _logged(own: Iterable[str], package: str, places: Places) -> Where:
    """The last ``file_test.go:N:`` prefix t.Log/t.Error wrote (Fatal ends a test, and
    the errors come after the logs that lead to them)."""
    found = _NOWHERE
    for text in own:
        match = _LOGGED.match(text)
        if match is not None:
            found = (places.in_package(package, match["file"]), int(match["line"]), None)
    return found


def _frame(own: Iterable[str], package: str, places: Places) -> Where:
    """Where a panic (or a timeout's running test) is: the innermost frame in the
    module's tree, else the innermost of the failing package's own functions."""
    first_of_package = _NOWHERE
    own_functions = (package + ".", package + "_test.")
    for function, text in itertools.pairwise(own):
        match = _FRAME.fullmatch(text)
        if match is None:
            continue
        where = (places.relative(match["file"]), int(match["line"]), None)
        if places.under_root(match["file"]):
            return where
        if first_of_package == _NOWHERE and function.startswith(own_functions):
            first_of_package = where
    return first_of_package


def _compiler_error(own: Iterable[str], places: Places) -> Where:
    for text in own:
        match = _FINDING.fullmatch(text)
        if match is not None:
            col = match["col"]
            return places.relative(match["file"]), int(match["line"]), int(col) if col else None
    return _NOWHERE


def _blame_the_unit(failure: Failure, result: Result) -> Failure:
    """A test that never finished because gobuild stopped its unit says so."""
    if failure.reason != "no result" or result.status not in (
        "over memory limit", "timed out", "killed",
    ):  # fmt: skip
        return failure
    return Failure(
        failure.unit, failure.kind, result.status, failure.package, failure.test,
        failure.file, failure.line, failure.column, None, result.note, failure.output,
    )  # fmt: skip


def _unit_failure(result: Result, reading: Reading) -> Failure:
    """A unit that did not pass with nothing in its output to blame: its status, and the
    first line of what it said when gobuild could not read it (``go: ...``)."""
    lines = [ln for ln in (reading.stray or result.output.splitlines()) if ln.strip()]
    message = result.note
    if lines and (reading.stray or not reading.understood) and result.kind != "bench":
        message = ": ".join(w for w in (result.note, lines[0].strip()) if w)
    return Failure(result.name, result.kind, result.status, message=message, output=tuple(lines))

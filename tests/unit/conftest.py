"""Unit tests run without go, git, docker or make: a test that starts one fails.

The split between tests/unit and tests/functional is kept by this guard rather than by
care: every process a unit test starts goes through ``subprocess.Popen`` or
``os.posix_spawn``, and both are wrapped to refuse the programs that belong to the
functional tests (looked up by the basename of the program, so a stand-in named ``go``
counts too). A refused start raises at once and, should the code under test swallow
the error, still fails the test when it ends. Python helpers (gobuild's own helper
processes, ``sh``, ``doit`` with nothing to build) are fine.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Generator, Iterator, Sequence
from typing import Any

import pytest

FORBIDDEN = frozenset({"go", "gofmt", "git", "docker", "dockerd", "make"})
_CALL_FAILED = pytest.StashKey[bool]()


def _program(args: Any, executable: Any = None) -> str:
    """The program a Popen/posix_spawn call would run (its basename)."""
    if executable is not None:
        first: Any = executable
    elif isinstance(args, (str, bytes, os.PathLike)):
        text = os.fsdecode(args)
        first = (shlex.split(text) or [""])[0] if " " in text else text
    elif isinstance(args, Sequence) and args:
        first = args[0]
    else:
        return ""
    return os.path.basename(os.fsdecode(first))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


@pytest.fixture(autouse=True)
def _no_toolchain_network(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Unit tests never reach a module proxy or go.dev: `gobuild init` and the installer
    # find every source unavailable at once (GOPROXY=off, an empty file:// mirror, no
    # package index for pip).
    monkeypatch.setenv("GOPROXY", "off")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    empty = tmp_path_factory.mktemp("no-mirror")
    monkeypatch.setenv("GOBUILD_GO_MIRROR", empty.as_uri())


@pytest.fixture(autouse=True)
def _no_go_git_docker_or_make(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[None]:
    refused: list[str] = []

    def refuse(*programs: str) -> None:
        for program in programs:
            if program in FORBIDDEN:
                refused.append(program)
                pytest.fail(
                    f"a unit test started {program!r}: tests that need go, git, docker or "
                    "make belong in tests/functional",
                    pytrace=False,
                )

    popen_init = subprocess.Popen.__init__

    def guarded_init(self: subprocess.Popen[Any], args: Any, *rest: Any, **kw: Any) -> None:
        refuse(_program(args), _program(args, kw.get("executable")))
        popen_init(self, args, *rest, **kw)

    monkeypatch.setattr(subprocess.Popen, "__init__", guarded_init)

    for name in ("posix_spawn", "posix_spawnp"):
        real = getattr(os, name)

        def guarded_spawn(path: Any, argv: Any, *rest: Any, _real: Any = real, **kw: Any) -> int:
            refuse(_program([path]), _program(argv))
            pid: int = _real(path, argv, *rest, **kw)
            return pid

        monkeypatch.setattr(os, name, guarded_spawn)

    yield
    # The code under test may have caught the failure: then fail here.
    if refused and not request.node.stash.get(_CALL_FAILED, False):
        pytest.fail(f"a unit test started {', '.join(refused)}", pytrace=False)

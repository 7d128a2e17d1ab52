"""``[tools]``: the Go tools a project runs, each pinned to a package and version.

Linters, the test reporter, the vulnerability check and benchstat are Go programs:
gobuild builds each at the version gobuild.toml names (or its own default pin), with
the project's Go, so every machine runs the same tool and gets the same verdict. The
pins are checked here at load time; building them is :mod:`gobuild.tools`' work.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from gobuild.errors import GobuildError
from gobuild.project.versions import VersionRequest

# The tools gobuild knows, each with the pin `gobuild init` writes and a project
# without a [tools] entry for it gets: the main package and a module version.
DEFAULT_PINS: Mapping[str, str] = {
    "golangci-lint": "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0",
    "staticcheck": "honnef.co/go/tools/cmd/staticcheck@v0.8.2",
    "gotestsum": "gotest.tools/gotestsum@v1.13.0",
    "govulncheck": "golang.org/x/vuln/cmd/govulncheck@v1.9.0",
    "benchstat": "golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da",
}
TOOL_NAMES = tuple(DEFAULT_PINS)
# Tools gobuild runs only when a setting asks for them ([cache] remote, [docker]
# builder): known and pinned by default like the others, but neither written by
# `gobuild init` nor built into the CI images.
OPTIONAL_PINS: Mapping[str, str] = {
    "go-cache-plugin": "github.com/tailscale/go-cache-plugin/cmd/go-cache-plugin@v0.1.1",
    "buildctl": "github.com/moby/buildkit/cmd/buildctl@v0.34.2",
}
KNOWN_PINS: Mapping[str, str] = {**DEFAULT_PINS, **OPTIONAL_PINS}
# [tools] go: the Go that builds a tool whose go.mod asks for more than the project's pin.
GO_KEY = "go"
_PACKAGE = re.compile(r"^[a-z0-9.-]+\.[a-z]{2,}(/[A-Za-z0-9._~+-]+)+$")
# A module version: semver with a v, pseudo-versions and +incompatible included.
_VERSION = re.compile(r"^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+incompatible)?$")


@dataclass(frozen=True)
class ToolPin:
    """One tool: its name (the binary), main package and module version."""

    name: str
    package: str
    version: str

    @property
    def spec(self) -> str:
        """``package@version``, as gobuild.toml and ``go install`` spell it."""
        return f"{self.package}@{self.version}"


def parse_pin(name: str, text: str) -> ToolPin:
    """``package@version`` for the tool ``name``, or ValueError saying what is wrong."""
    package, sep, version = text.partition("@")
    if not sep or not _PACKAGE.match(package):
        raise ValueError(
            f"{name} = {text!r}: expected a main package and a version, like "
            f"{KNOWN_PINS.get(name, DEFAULT_PINS['staticcheck'])!r}"
        )
    if not _VERSION.match(version):
        raise ValueError(
            f"{name} = {text!r}: {version!r} is not a module version (v1.2.3, or a "
            "pseudo-version); `latest` and branches are not pins"
        )
    return ToolPin(name, package, version)


def check_tools(value: Mapping[str, str]) -> dict[str, str]:
    """The ``[tools]`` table: known tool names with valid pins, and ``go`` a Go version."""
    for key, text in value.items():
        if key == GO_KEY:
            try:
                VersionRequest.parse(text)
            except GobuildError as exc:
                raise ValueError(f"go = {text!r}: {exc}") from None
            continue
        if key not in KNOWN_PINS:
            known = [*KNOWN_PINS, GO_KEY]
            hint = difflib.get_close_matches(key, known, n=1)
            maybe = f"; did you mean {hint[0]!r}?" if hint else ""
            raise ValueError(f"unknown tool {key!r}{maybe} (known: {', '.join(known)})")
        parse_pin(key, text)
    return dict(value)


def pin_for(tools: Mapping[str, str], name: str) -> ToolPin:
    """The pin of ``name``: ``[tools]``'s, else gobuild's default."""
    return parse_pin(name, tools.get(name) or KNOWN_PINS[name])

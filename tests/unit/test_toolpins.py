"""[tools] pins: validated at load time, written by init, recorded in gobuild.lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from gobuild.errors import ConfigError
from gobuild.project import lock as lockfile
from gobuild.project.config import load_project
from gobuild.project.environ import Environment
from gobuild.project.lock import ToolLock
from gobuild.project.toolpins import DEFAULT_PINS, TOOL_NAMES, parse_pin
from gobuild.project.versions import GoVersion, VersionRequest
from gobuild.render.scaffold import init


def project_with(tmp_path: Path, toml: str) -> Path:
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    (tmp_path / "gobuild.toml").write_text(toml)
    return tmp_path


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[tools]\nstaticchek = "x.io/a/b@v1.0.0"', "unknown tool 'staticchek'; did you mean 'staticcheck'?"),
        ('[tools]\nstaticcheck = "honnef.co/go/tools/cmd/staticcheck@latest"', "'latest' is not a module version"),
        ('[tools]\nstaticcheck = "honnef.co/go/tools/cmd/staticcheck"', "expected a main package and a version"),
        ('[tools]\nstaticcheck = "staticcheck@v1.0.0"', "expected a main package and a version"),
        ('[tools]\ngo = "one.two"', "go = 'one.two'"),
    ],
)  # fmt: skip
def test_a_bad_pin_is_one_line_naming_the_file_and_the_tool(
    tmp_path: Path, toml: str, message: str
) -> None:
    root = project_with(tmp_path, toml)
    with pytest.raises(ConfigError) as caught:
        load_project(root, Environment({}))
    text = str(caught.value)
    assert str(root / "gobuild.toml") in text and message in text and "\n" not in text


def test_pins_come_from_tools_else_gobuilds_defaults(tmp_path: Path) -> None:
    pin = "honnef.co/go/tools/cmd/staticcheck@v0.5.1"
    root = project_with(tmp_path, f'[tools]\nstaticcheck = "{pin}"\ngo = "1.27.3"\n')
    project = load_project(root, Environment({}))
    assert project.tool_pin("staticcheck").spec == pin
    assert project.tool_pin("gotestsum") == parse_pin("gotestsum", DEFAULT_PINS["gotestsum"])
    assert project.tools_go == "1.27.3"
    # Every default pin is itself valid.
    assert [parse_pin(n, DEFAULT_PINS[n]).name for n in TOOL_NAMES] == list(TOOL_NAMES)


def test_the_lock_records_tools_beside_go_and_keeps_each_when_the_other_changes(
    tmp_path: Path,
) -> None:
    path, state = tmp_path / "gobuild.lock", tmp_path / "state"
    tool = ToolLock("honnef.co/go/tools/cmd/staticcheck", "honnef.co/go/tools", "v0.5.1",
                    "h1:" + "A" * 43 + "=")  # fmt: skip
    lockfile.record_tool(path, state_dir=state, name="staticcheck", tool=tool)
    lockfile.update(path, state_dir=state, request=VersionRequest.parse("1.22"),
                    version=GoVersion.parse("1.22.10"), artifacts={})  # fmt: skip
    read = lockfile.read(path)
    assert read.tools == {"staticcheck": tool} and str(read.version) == "1.22.10"
    mtime = path.stat().st_mtime_ns
    lockfile.record_tool(path, state_dir=state, name="staticcheck", tool=tool)
    assert path.stat().st_mtime_ns == mtime  # unchanged: not rewritten


def test_init_writes_the_current_pins(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text("package main\n\nfunc main() {}\n")
    init(tmp_path)
    project = load_project(tmp_path, Environment({}))
    assert project.settings.tools == dict(DEFAULT_PINS)

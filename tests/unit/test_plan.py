"""Build plans as data: the go command line, quoting, tags, environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gobuild.builds.goenv import SCRUBBED as SCRUBBED_ENV
from gobuild.builds.plan import build_plan, quote_field
from gobuild.errors import ConfigError
from gobuild.project.config import load_project
from gobuild.project.environ import Environment
from gobuild.project.platforms import Target
from tests.conftest import MakeProject


def go_split(s: str) -> list[str]:
    """cmd/internal/quoted.Split, transcribed: how the go command splits -ldflags."""
    fields = []
    while s:
        s = s.lstrip(" \t\n\r")
        if not s:
            break
        if s[0] in "'\"":
            quote, s = s[0], s[1:]
            i = s.find(quote)
            if i < 0:
                raise ValueError(f"unterminated {quote} string")
            fields.append(s[:i])
            s = s[i + 1 :]
            continue
        i = 0
        while i < len(s) and s[i] not in " \t\n\r":
            i += 1
        fields.append(s[:i])
        s = s[i:]
    return fields


@given(st.lists(st.text(st.characters(blacklist_characters="\x00\n\r"), min_size=1), max_size=5))
def test_quoted_fields_survive_go_splitting(fields: list[str]) -> None:
    try:
        joined = " ".join(quote_field(f) for f in fields)
    except ConfigError:
        # Only values go cannot carry are refused: white space plus both quote kinds.
        assert any(
            ("'" in f and '"' in f) and (any(c in f for c in " \t") or f[0] in "'\"")
            for f in fields
        )
        return
    assert go_split(joined) == fields


def test_plan_for_host_and_target(make_project: MakeProject) -> None:
    root = make_project(
        "1.22.10",
        extra='[build]\ntags = ["b", "a"]\n[profiles.prod]\n'
        'goproxy = "https://proxy.example"\ngoflags = ["-mod=readonly"]\n'
        'tags = ["c"]\n',
    )
    project = load_project(root).with_profile("prod")
    (binary,) = project.binaries()
    plan = build_plan(project, binary, "1.22.10")
    assert plan.output == f"dist/{binary.name}"
    assert plan.flags == ("-trimpath", "-tags=a,b,c")
    env = dict(plan.env)
    assert env["GOPROXY"] == "https://proxy.example"
    assert env["GOFLAGS"] == "-mod=readonly"
    assert env["CGO_ENABLED"] == "0" and env["GOTOOLCHAIN"] == "local"
    values = {
        "version": "v 1",
        "commit": "c",
        "date": "d",
        "tree_state": "clean",
        "go_version": "go1.22.10",
    }
    argv = plan.argv("go", values)
    assert argv[:4] == ["go", "build", "-trimpath", "-tags=a,b,c"]
    assert argv[-3:] == ["-o", plan.output, "."]
    ld = argv[4].removeprefix("-ldflags=")
    assert go_split(ld) == [
        "-s",
        "-w",
        "-buildid=",
        "-X=main.version=v 1",
        "-X=main.commit=c",
        "-X=main.date=d",
        "-X=main.treeState=clean",
        "-X=main.goVersion=go1.22.10",
    ]
    target = build_plan(project, binary, "1.22.10", Target.parse("windows/amd64/v3"))
    assert target.output == f"dist/{binary.name}_windows_amd64_v3.exe"
    assert {"GOOS": "windows", "GOARCH": "amd64", "GOAMD64": "v3"}.items() <= dict(
        target.env
    ).items()
    assert plan.fingerprint() != target.fingerprint()
    assert plan.fingerprint() == build_plan(project, binary, "1.22.10").fingerprint()
    assert plan.fingerprint() != build_plan(project, binary, "1.22.11").fingerprint()


def test_environ_scrubs_inherited_go_settings(make_project: MakeProject, tmp_path: Path) -> None:
    project = load_project(make_project("1.22.10"))
    plan = build_plan(project, project.binaries()[0], "1.22.10")
    base = dict.fromkeys(SCRUBBED_ENV, "x") | {"PATH": "/usr/bin", "HOME": "/h"}
    env = plan.environ(tmp_path / "goroot", base)
    assert env["GOFLAGS"] == "" and env["GOENV"] == "off" and env["GOWORK"] == "off"
    assert "GOEXPERIMENT" not in env and "GOAMD64" not in env
    assert env["GOROOT"] == str(tmp_path / "goroot")
    assert env["PATH"] == f"{tmp_path / 'goroot' / 'bin'}:/usr/bin"
    assert env["HOME"] == "/h"


@pytest.mark.parametrize("epoch", ["-1", "1.5", "abc", "\uff11\uff12\uff13"])
def test_bad_source_date_epoch(make_project: MakeProject, epoch: str) -> None:
    with pytest.raises(ConfigError, match="SOURCE_DATE_EPOCH"):
        load_project(make_project("1.22.10"), env=Environment({"SOURCE_DATE_EPOCH": epoch}))


def test_bad_gobuild_tags(make_project: MakeProject) -> None:
    with pytest.raises(ConfigError, match="GOBUILD_TAGS"):
        load_project(make_project("1.22.10"), env=Environment({"GOBUILD_TAGS": "ok,no-way"}))

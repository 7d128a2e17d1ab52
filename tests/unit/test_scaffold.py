"""Tests for ``gobuild init`` (gobuild.scaffold) driven through the CLI entry point."""

from __future__ import annotations

import ast
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gobuild.cli.main import main
from gobuild.project.config import load_project, load_settings
from gobuild.project.environ import Environment
from gobuild.project.settings import Settings

GO_MOD = "module example.com/app\n\ngo 1.22\n\ntoolchain go1.22.10\n"
MAIN_GO = "package main\n\nfunc main() {}\n"
ENTRY = "/.gobuild/"


def make_module(root: Path, go_mod: str = GO_MOD, root_main: bool = False) -> Path:
    """A module with cmd/a and cmd/b main packages and a non-main package."""
    for rel in ("cmd/a", "cmd/b", "internal/lib"):
        (root / rel).mkdir(parents=True, exist_ok=True)
    (root / "go.mod").write_text(go_mod, encoding="utf-8")
    (root / "cmd/a/main.go").write_text(MAIN_GO, encoding="utf-8")
    (root / "cmd/b/main.go").write_text(MAIN_GO, encoding="utf-8")
    (root / "internal/lib/lib.go").write_text("package lib\n", encoding="utf-8")
    if root_main:
        (root / "main.go").write_text(MAIN_GO, encoding="utf-8")
    return root


def gobuild(directory: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["-C", str(directory), *args], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def init_ok(directory: Path, *args: str) -> Settings:
    code, _out, err = gobuild(directory, "init", *args)
    assert code == 0, err
    # Unit tests reach no toolchain source (GOPROXY=off, no mirror, no index): the lock
    # is incomplete or not written, and the sources' fallbacks are noticed.
    others = [
        ln
        for ln in err.splitlines()
        if not ln.startswith("gobuild: warning: gobuild.lock") and "unavailable (" not in ln
    ]
    assert others == []
    return load_settings(directory / "gobuild.toml")


def assert_one_line_error(err: str) -> str:
    assert err.startswith("gobuild: error:"), err
    assert err.endswith("\n")
    assert err.count("\n") == 1, err
    return err


@pytest.fixture
def module(tmp_path: Path) -> Path:
    return make_module(tmp_path / "app")


# --- what init writes ---------------------------------------------------------------------


def test_init_succeeds_and_config_loads(module: Path) -> None:
    code, out, err = gobuild(module, "init")
    assert code == 0
    # No source is reachable here: the lock holds the pin but no hashes, and one line says so.
    assert err.count("\n") == 1 and "run `gobuild lock`" in err
    assert (module / "gobuild.toml").is_file()
    assert "gobuild.toml" in out and "gobuild.lock updated: Go 1.22.10" in out
    settings = load_settings(module / "gobuild.toml")
    assert settings.toolchain.sources == ["goproxy", "official", "pypi"]


def test_init_output_summarises(module: Path) -> None:
    _code, out, _err = gobuild(module, "init")
    assert "example.com/app" in out
    assert "1.22.10" in out
    assert "./cmd/a" in out
    assert "./cmd/b" in out
    assert "internal/lib" not in out


def test_init_pins_toolchain_line(module: Path) -> None:
    settings = init_ok(module)
    assert settings.go.version == "1.22.10"


def test_init_pins_go_line_without_toolchain(tmp_path: Path) -> None:
    root = make_module(tmp_path / "app", go_mod="module example.com/app\n\ngo 1.21.4\n")
    settings = init_ok(root)
    assert settings.go.version == "1.21.4"


def test_init_pins_go_series(tmp_path: Path) -> None:
    root = make_module(tmp_path / "app", go_mod="module example.com/app\ngo 1.22\n")
    assert init_ok(root).go.version == "1.22"


def test_init_pin_matches_project(module: Path) -> None:
    init_ok(module)
    pin = load_project(module, env=Environment({})).go_pin()
    assert str(pin.request) == "1.22.10"
    assert "gobuild.toml" in pin.origin


def test_init_without_go_version_fails(tmp_path: Path) -> None:
    root = make_module(tmp_path / "app", go_mod="module example.com/app\n")
    code, _out, err = gobuild(root, "init")
    assert code == 1
    assert_one_line_error(err)
    assert not (root / "gobuild.toml").exists()


def test_init_lists_binaries(module: Path) -> None:
    settings = init_ok(module)
    assert [(b.name, b.package) for b in settings.binaries] == [
        ("a", "./cmd/a"),
        ("b", "./cmd/b"),
    ]


def test_init_root_main_package_named_after_module(tmp_path: Path) -> None:
    root = make_module(tmp_path / "app", root_main=True)
    settings = init_ok(root)
    assert [(b.name, b.package) for b in settings.binaries] == [
        ("app", "."),
        ("a", "./cmd/a"),
        ("b", "./cmd/b"),
    ]


def test_init_no_main_packages(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/lib\ngo 1.22\n", encoding="utf-8")
    (root / "lib.go").write_text("package lib\n", encoding="utf-8")
    settings = init_ok(root)
    assert settings.binaries == []


def test_init_writes_short_dodo(module: Path) -> None:
    init_ok(module)
    text = (module / "dodo.py").read_text(encoding="utf-8")
    code_lines = [
        line for line in text.splitlines() if line.strip() and not line.strip().startswith("#")
    ]
    assert len(code_lines) <= 3, text
    tree = ast.parse(text)
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert "gobuild.dodo" in imported
    compile(text, "dodo.py", "exec")


def test_init_creates_gitignore(module: Path) -> None:
    code, out, _err = gobuild(module, "init")
    assert code == 0
    lines = (module / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert lines.count(ENTRY) == 1
    assert ".gitignore" in out


def test_init_appends_to_existing_gitignore(module: Path) -> None:
    original = "/dist/\n*.log\n"
    (module / ".gitignore").write_text(original, encoding="utf-8")
    init_ok(module)
    text = (module / ".gitignore").read_text(encoding="utf-8")
    assert text.startswith(original)
    assert text.splitlines().count(ENTRY) == 1


def test_init_gitignore_without_trailing_newline(module: Path) -> None:
    (module / ".gitignore").write_text("/dist/\n*.log", encoding="utf-8")
    init_ok(module)
    lines = (module / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert lines[:2] == ["/dist/", "*.log"]
    assert lines.count(ENTRY) == 1
    assert lines[-1] == ENTRY


def test_init_force_twice_does_not_duplicate_gitignore(module: Path) -> None:
    (module / ".gitignore").write_text("/dist/\n", encoding="utf-8")
    init_ok(module)
    first = (module / ".gitignore").read_text(encoding="utf-8")
    init_ok(module, "--force")
    init_ok(module, "--force")
    text = (module / ".gitignore").read_text(encoding="utf-8")
    assert text == first
    assert text.splitlines().count(ENTRY) == 1


@pytest.mark.parametrize("existing", [".gobuild/", ".gobuild", "/.gobuild", "  /.gobuild/  "])
def test_init_respects_equivalent_gitignore_entry(module: Path, existing: str) -> None:
    original = f"/dist/\n{existing}\n"
    (module / ".gitignore").write_text(original, encoding="utf-8")
    _code, out, _err = gobuild(module, "init")
    assert (module / ".gitignore").read_text(encoding="utf-8") == original
    assert ".gitignore" not in out


# --- refusing to overwrite ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["gobuild.toml", "dodo.py"])
def test_init_refuses_existing_file(module: Path, name: str) -> None:
    mine = "# my own file, keep it\n"
    (module / name).write_text(mine, encoding="utf-8")
    code, out, err = gobuild(module, "init")
    assert code == 1
    assert out == ""
    assert_one_line_error(err)
    assert "--force" in err
    assert name in err
    assert (module / name).read_text(encoding="utf-8") == mine
    other = {"gobuild.toml": "dodo.py", "dodo.py": "gobuild.toml"}[name]
    assert not (module / other).exists()
    assert not (module / ".gitignore").exists()


def test_init_refuses_second_run(module: Path) -> None:
    init_ok(module)
    before = (module / "gobuild.toml").read_bytes(), (module / "dodo.py").read_bytes()
    (module / "gobuild.toml").write_text("# edited\n", encoding="utf-8")
    code, _out, err = gobuild(module, "init")
    assert code == 1
    assert_one_line_error(err)
    assert "gobuild.toml" in err
    assert "dodo.py" in err
    assert (module / "gobuild.toml").read_text(encoding="utf-8") == "# edited\n"
    assert (module / "dodo.py").read_bytes() == before[1]


@pytest.mark.parametrize("name", ["gobuild.toml", "dodo.py"])
def test_init_force_overwrites(module: Path, name: str) -> None:
    (module / name).write_text("# my own file\n", encoding="utf-8")
    settings = init_ok(module, "--force")
    assert (module / name).read_text(encoding="utf-8") != "# my own file\n"
    assert settings.go.version == "1.22.10"
    assert "gobuild.dodo" in (module / "dodo.py").read_text(encoding="utf-8")


# --- where init may run -------------------------------------------------------------------


def test_init_outside_module(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _out, err = gobuild(empty, "init")
    assert code == 1
    assert_one_line_error(err)
    assert "not a Go module" in err
    assert "go mod init" in err
    assert list(empty.iterdir()) == []


def test_init_in_subdirectory_names_root(module: Path) -> None:
    sub = module / "cmd" / "a"
    code, _out, err = gobuild(sub, "init")
    assert code == 1
    assert_one_line_error(err)
    assert str(module.resolve()) in err
    assert not (sub / "gobuild.toml").exists()
    assert not (module / "gobuild.toml").exists()
    assert not (sub / "dodo.py").exists()


# --- odd module paths ---------------------------------------------------------------------


def test_init_unicode_module_renders_valid_toml(tmp_path: Path) -> None:
    root = make_module(tmp_path / "app", go_mod="module example.com/ünï\n\ngo 1.22\n")
    settings = init_ok(root)
    assert [b.name for b in settings.binaries] == ["a", "b"]
    assert settings.go.version == "1.22"


def test_init_quoted_module_line(tmp_path: Path) -> None:
    root = make_module(tmp_path / "app", go_mod='module "example.com/app"\n\ngo 1.22\n')
    settings = init_ok(root)
    assert [b.name for b in settings.binaries] == ["a", "b"]


def test_init_root_binary_with_unusual_module_name_loads(tmp_path: Path) -> None:
    # "~" is valid in a Go module path; go build names the binary "my~app". Whatever init
    # does with it, it must not leave behind a gobuild.toml that gobuild cannot load.
    root = make_module(
        tmp_path / "app", go_mod="module example.com/my~app\n\ngo 1.22\n", root_main=True
    )
    code, _out, err = gobuild(root, "init")
    if code == 0:
        load_settings(root / "gobuild.toml")
    else:
        assert code == 1
        assert_one_line_error(err)
        assert not (root / "gobuild.toml").exists()


# --- doit integration ---------------------------------------------------------------------


def test_doit_list_after_init(module: Path, tmp_path: Path) -> None:
    init_ok(module)
    bindir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOBUILD_", "GO", "DOIT"))}
    env.update(
        GOBUILD_CACHE=str(tmp_path / "cache"),
        PATH=str(bindir),  # no go binary reachable
        HOME=str(tmp_path / "home"),
        XDG_CACHE_HOME=str(tmp_path / "xdg"),
        GOBUILD_GO_MIRROR="http://127.0.0.1:9",  # a dead mirror, should anything try
    )
    res = subprocess.run(
        [str(bindir / "doit"), "list"],
        cwd=module,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    names = {line.split()[0] for line in res.stdout.splitlines() if line.strip()}
    assert {"toolchain", "build"} <= names
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


# --- the command line ---------------------------------------------------------------------


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--help"], stdout=io.StringIO(), stderr=io.StringIO())
    assert code == 0
    text = capsys.readouterr().out
    listed = {m[1] for m in re.finditer(r"^ +(\w+) {2,}\S", text, re.MULTILINE)}
    assert {"init", "toolchain", "env", "go"} <= listed, text


def test_init_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--help"]) == 0
    assert "--force" in capsys.readouterr().out


def test_unknown_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["frobnicate"], stdout=io.StringIO(), stderr=io.StringIO())
    assert code == 2
    assert "frobnicate" in capsys.readouterr().err


def test_no_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([], stdout=io.StringIO(), stderr=io.StringIO()) != 0
    capsys.readouterr()


# --- [build.variables]: the variables a build stamps --------------------------------------

BUILDINFO = """// Package buildinfo says what was built.
package buildinfo

// Set by the build (-X).
var (
	Version   = "dev"
	GitCommit string
	BuildDate = "unknown"
)

const Name = "app"
"""


def test_init_finds_variables_in_an_imported_module_package(module: Path) -> None:
    (module / "internal/buildinfo").mkdir(parents=True)
    (module / "internal/buildinfo/info.go").write_text(BUILDINFO, encoding="utf-8")
    (module / "cmd/a/main.go").write_text(
        'package main\n\nimport "example.com/app/internal/buildinfo"\n\n'
        "func main() { println(buildinfo.Version) }\n",
        encoding="utf-8",
    )
    code, out, _err = gobuild(module, "init")
    assert code == 0
    variables = load_settings(module / "gobuild.toml").build.variables
    assert variables.model_fields_set == {"version", "commit", "date"}
    assert variables.version == "example.com/app/internal/buildinfo.Version"
    assert variables.commit == "example.com/app/internal/buildinfo.GitCommit"
    assert variables.date == "example.com/app/internal/buildinfo.BuildDate"
    assert (variables.tree_state, variables.go_version) == ("main.treeState", "main.goVersion")
    text = (module / "gobuild.toml").read_text(encoding="utf-8")
    # Each guess names where it came from, and the binary that does not link it.
    assert (
        'version = "example.com/app/internal/buildinfo.Version"  '
        "# internal/buildinfo/info.go:6; not linked by ./cmd/b\n"
    ) in text
    assert "internal/buildinfo/info.go:7" in text and "internal/buildinfo/info.go:8" in text
    assert '# tree_state = "main.treeState"  # the default' in text
    summary = [ln for ln in out.splitlines() if ln.startswith("build variables")]
    assert len(summary) == 1
    assert "version example.com/app/internal/buildinfo.Version" in summary[0]
    assert "defaults kept: tree_state main.treeState, go_version main.goVersion" in summary[0]


def test_init_without_variables_keeps_the_defaults_and_says_so(module: Path) -> None:
    code, out, _err = gobuild(module, "init")
    assert code == 0
    variables = load_settings(module / "gobuild.toml").build.variables
    assert variables.model_fields_set == set()
    assert variables.version == "main.version"
    assert "build variables: none found named like a version" in out
    text = (module / "gobuild.toml").read_text(encoding="utf-8")
    assert '# version = "main.version"  # the default' in text


def test_init_main_package_variables_are_named_main(module: Path) -> None:
    for name in ("a", "b"):
        (module / f"cmd/{name}/main.go").write_text(
            'package main\n\nvar (\n\tversion = "dev"\n\tcommit  string\n)\n\nfunc main() {}\n',
            encoding="utf-8",
        )
    variables = init_ok(module).build.variables
    assert (variables.version, variables.commit) == ("main.version", "main.commit")
    text = (module / "gobuild.toml").read_text(encoding="utf-8")
    assert 'version = "main.version"  # cmd/a/main.go:4\n' in text


def test_init_comment_carries_an_awkward_file_name_safely(module: Path) -> None:
    (module / "cmd/a/v\nx\u2028y.go").write_text(
        'package main\n\nvar version = "dev"\n', encoding="utf-8"
    )
    (module / "cmd/b/main.go").unlink()
    variables = init_ok(module).build.variables
    assert variables.version == "main.version"
    text = (module / "gobuild.toml").read_text(encoding="utf-8")
    assert "# cmd/a/v\\nx\\u2028y.go:3" in text

"""Tests for gobuild.config: loading gobuild.toml and go.mod into a validated Project."""

from __future__ import annotations

import re
from pathlib import Path

import platformdirs
import pytest

from gobuild.errors import ConfigError, GobuildError
from gobuild.project.config import (
    Project,
    binary_name,
    cache_dir,
    load_project,
    load_settings,
    validate,
)
from gobuild.project.environ import Environment
from gobuild.project.settings import BinarySection, Settings
from gobuild.project.versions import GoVersion

GO_MOD = "module example.com/app\n\ngo 1.22\n"
MAIN_GO = "package main\n\nfunc main() {}\n"
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def make_module(root: Path, go_mod: str = GO_MOD, config: str | None = None) -> Path:
    """A Go module at ``root`` with ``go_mod`` and, unless None, a gobuild.toml."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "go.mod").write_text(go_mod, encoding="utf-8")
    if config is not None:
        (root / "gobuild.toml").write_text(config, encoding="utf-8")
    return root


def write_go(path: Path, text: str = MAIN_GO) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def config_error(tmp_path: Path, toml: str) -> str:
    """Load ``toml`` as a gobuild.toml that must be rejected; return the one-line message."""
    path = tmp_path / "gobuild.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert "\n" not in message, message
    assert str(path) in message, message
    return message


# --- defaults -----------------------------------------------------------------------------


def test_empty_config_gives_defaults(tmp_path: Path) -> None:
    root = make_module(tmp_path / "m", config="")
    project = load_project(root, env=Environment({"GOBUILD_CACHE": str(tmp_path / "cache")}))
    tc = project.settings.toolchain
    assert tc.sources == ["goproxy", "official", "pypi"]
    assert project.sources == ("goproxy", "official", "pypi")
    assert tc.retries == 4
    assert tc.timeout == 30.0
    assert tc.mirror is None
    assert project.mirror is None
    assert project.settings.go.version is None
    assert project.settings.binaries == []
    assert project.config_file == root.resolve() / "gobuild.toml"


def test_missing_config_file_is_fine(tmp_path: Path) -> None:
    root = make_module(tmp_path / "m")
    project = load_project(root, env=Environment({"GOBUILD_CACHE": str(tmp_path / "cache")}))
    assert not project.config_file.exists()
    assert project.settings == Settings()
    assert project.root == root.resolve()
    assert project.lock_file == root.resolve() / "gobuild.lock"
    assert project.state_dir == root.resolve() / ".gobuild"


def test_full_valid_config(tmp_path: Path) -> None:
    path = tmp_path / "gobuild.toml"
    path.write_text(
        '[go]\nversion = "1.21.5"\n\n'
        '[toolchain]\nsources = ["pypi"]\nmirror = "https://mirror.example/go/"\n'
        'cache_dir = "c"\nretries = 0\ntimeout = 10\n\n'
        '[[binaries]]\nname = "app"\npackage = "."\n\n'
        '[[binaries]]\nname = "tool-2.x_y+z"\npackage = "./cmd/tool"\n',
        encoding="utf-8",
    )
    settings = load_settings(path)
    assert settings.go.version == "1.21.5"
    assert settings.toolchain.sources == ["pypi"]
    assert settings.toolchain.retries == 0
    assert settings.toolchain.timeout == 10.0
    assert [(b.name, b.package) for b in settings.binaries] == [
        ("app", "."),
        ("tool-2.x_y+z", "./cmd/tool"),
    ]


# --- unknown keys -------------------------------------------------------------------------


def test_unknown_top_level_key_suggests(tmp_path: Path) -> None:
    msg = config_error(tmp_path, '[toolchian]\nsources = ["official"]\n')
    assert "'toolchian'" in msg
    assert "did you mean 'toolchain'" in msg


def test_unknown_nested_key_suggests_dotted(tmp_path: Path) -> None:
    msg = config_error(tmp_path, '[go]\nverison = "1.22"\n')
    assert "'go.verison'" in msg
    assert "did you mean 'go.version'" in msg


def test_unknown_toolchain_key_suggests_mirror(tmp_path: Path) -> None:
    msg = config_error(tmp_path, '[toolchain]\nmirorr = "https://x.example"\n')
    assert "'toolchain.mirorr'" in msg
    assert "did you mean 'toolchain.mirror'" in msg


def test_unknown_key_without_close_match_lists_known(tmp_path: Path) -> None:
    msg = config_error(tmp_path, "[toolchain]\nzzzzzz = 1\n")
    assert "'toolchain.zzzzzz'" in msg
    assert "did you mean" not in msg
    for known in ("sources", "mirror", "cache_dir", "retries", "timeout"):
        assert known in msg


def test_unknown_key_in_binaries_entry_names_known_keys(tmp_path: Path) -> None:
    # The entry's known keys are name and package; the message must not claim there are none.
    msg = config_error(tmp_path, '[[binaries]]\nname = "a"\npackage = "."\nnmae = "b"\n')
    assert "binaries.0.nmae" in msg
    assert "name" in msg.split("binaries.0.nmae", 1)[1]
    assert "package" in msg.split("binaries.0.nmae", 1)[1]


# --- wrong types --------------------------------------------------------------------------


def test_go_version_float(tmp_path: Path) -> None:
    msg = config_error(tmp_path, "[go]\nversion = 1.22\n")
    assert "go.version" in msg
    assert "float" in msg


def test_sources_string_instead_of_list(tmp_path: Path) -> None:
    msg = config_error(tmp_path, '[toolchain]\nsources = "official"\n')
    assert "toolchain.sources" in msg
    assert "list" in msg
    assert "str" in msg


def test_retries_string(tmp_path: Path) -> None:
    msg = config_error(tmp_path, '[toolchain]\nretries = "3"\n')
    assert "toolchain.retries" in msg
    assert "str" in msg


def test_retries_bool_is_not_an_int(tmp_path: Path) -> None:
    msg = config_error(tmp_path, "[toolchain]\nretries = true\n")
    assert "toolchain.retries" in msg
    assert "bool" in msg


def test_timeout_bool_is_not_a_number(tmp_path: Path) -> None:
    msg = config_error(tmp_path, "[toolchain]\ntimeout = true\n")
    assert "toolchain.timeout" in msg


def test_binaries_entry_missing_name(tmp_path: Path) -> None:
    msg = config_error(tmp_path, '[[binaries]]\npackage = "./cmd/a"\n')
    assert "binaries.0.name" in msg


def test_binaries_not_a_list(tmp_path: Path) -> None:
    msg = config_error(tmp_path, '[binaries]\nname = "a"\npackage = "."\n')
    assert "binaries" in msg


def test_several_problems_in_one_line(tmp_path: Path) -> None:
    msg = config_error(tmp_path, '[go]\nversion = 1\n[toolchain]\nretries = "x"\n')
    assert "go.version" in msg
    assert "toolchain.retries" in msg


# --- bad values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[go]\nversion = "1.x"\n', "go.version"),
        ('[go]\nversion = ""\n', "go.version"),
        ("[toolchain]\nsources = []\n", "toolchain.sources"),
        ('[toolchain]\nsources = ["official", "official"]\n', "toolchain.sources"),
        ('[toolchain]\nsources = ["github"]\n', "toolchain.sources"),
        ('[toolchain]\nmirror = "ftp://x"\n', "toolchain.mirror"),
        ('[toolchain]\nmirror = "http://"\n', "toolchain.mirror"),
        ('[toolchain]\nmirror = "mirror.example/go"\n', "toolchain.mirror"),
        ("[toolchain]\nretries = -1\n", "toolchain.retries"),
        ("[toolchain]\nretries = 21\n", "toolchain.retries"),
        ("[toolchain]\ntimeout = 0\n", "toolchain.timeout"),
        ("[toolchain]\ntimeout = -1.5\n", "toolchain.timeout"),
        ('[[binaries]]\nname = "../evil"\npackage = "./cmd/a"\n', "binaries.0.name"),
        ('[[binaries]]\nname = "a b"\npackage = "./cmd/a"\n', "binaries.0.name"),
        ('[[binaries]]\nname = ""\npackage = "./cmd/a"\n', "binaries.0.name"),
        ('[[binaries]]\nname = ".."\npackage = "./cmd/a"\n', "binaries.0.name"),
        ('[[binaries]]\nname = "a/b"\npackage = "./cmd/a"\n', "binaries.0.name"),
        ('[[binaries]]\nname = "a"\npackage = "cmd/a"\n', "binaries.0.package"),
        ('[[binaries]]\nname = "a"\npackage = "./../x"\n', "binaries.0.package"),
        ('[[binaries]]\nname = "a"\npackage = "./cmd/../../x"\n', "binaries.0.package"),
        ('[[binaries]]\nname = "a"\npackage = "/abs"\n', "binaries.0.package"),
        ('[[binaries]]\nname = "a"\npackage = ""\n', "binaries.0.package"),
    ],
)
def test_bad_values(tmp_path: Path, toml: str, key: str) -> None:
    msg = config_error(tmp_path, toml)
    assert key in msg


def test_bad_go_version_message_shows_value(tmp_path: Path) -> None:
    msg = config_error(tmp_path, '[go]\nversion = "1.x"\n')
    assert "'1.x'" in msg


def test_duplicate_binary_names(tmp_path: Path) -> None:
    msg = config_error(
        tmp_path,
        '[[binaries]]\nname = "a"\npackage = "./cmd/a"\n\n'
        '[[binaries]]\nname = "a"\npackage = "./cmd/b"\n',
    )
    assert "binaries" in msg
    assert "unique" in msg
    assert "a" in msg


def test_validate_directly_names_given_path() -> None:
    with pytest.raises(ConfigError) as info:
        validate({"toolchain": {"retries": -1}}, Path("/some/where/gobuild.toml"))
    assert str(info.value).startswith("/some/where/gobuild.toml: ")


def test_validate_accepts_good_data() -> None:
    settings = validate({"toolchain": {"mirror": "file:///srv/go"}}, Path("x"))
    assert settings.toolchain.mirror == "file:///srv/go"


# --- unreadable files ---------------------------------------------------------------------


def test_invalid_toml_syntax(tmp_path: Path) -> None:
    msg = config_error(tmp_path, "[go\nversion = \n")
    assert "TOML" in msg


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "gobuild.toml"
    path.write_bytes(b'[go]\nversion = "1.22\xff\xfe"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message


def test_unreadable_config_is_config_error(tmp_path: Path) -> None:
    path = tmp_path / "gobuild.toml"
    path.mkdir()  # a directory cannot be read as text, whoever runs the test
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(path) in str(info.value)


def test_load_project_reports_bad_config(tmp_path: Path) -> None:
    root = make_module(tmp_path / "m", config="[toolchain]\nretries = -1\n")
    with pytest.raises(ConfigError, match=r"toolchain\.retries"):
        load_project(root, env=Environment({}))


# --- environment --------------------------------------------------------------------------


def test_mirror_from_config_is_stripped(tmp_path: Path) -> None:
    root = make_module(tmp_path / "m", config='[toolchain]\nmirror = "https://a.example/go/"\n')
    project = load_project(root, env=Environment({"GOBUILD_CACHE": str(tmp_path / "c")}))
    assert project.mirror == "https://a.example/go"


def test_env_mirror_overrides_config(tmp_path: Path) -> None:
    root = make_module(tmp_path / "m", config='[toolchain]\nmirror = "https://a.example/go"\n')
    env = {"GOBUILD_GO_MIRROR": "https://b.example/golang/", "GOBUILD_CACHE": str(tmp_path / "c")}
    project = load_project(root, env=Environment(env))
    assert project.mirror == "https://b.example/golang"
    assert project.settings.toolchain.mirror == "https://a.example/go"
    assert project.env.variables["GOBUILD_GO_MIRROR"] == "https://b.example/golang/"


def test_env_mirror_without_config_mirror(tmp_path: Path) -> None:
    root = make_module(tmp_path / "m")
    project = load_project(root, env=Environment({"GOBUILD_GO_MIRROR": "file:///srv/go"}))
    assert project.mirror == "file:///srv/go"


def test_empty_env_mirror_is_ignored(tmp_path: Path) -> None:
    root = make_module(tmp_path / "m", config='[toolchain]\nmirror = "https://a.example/go"\n')
    project = load_project(root, env=Environment({"GOBUILD_GO_MIRROR": ""}))
    assert project.mirror == "https://a.example/go"


@pytest.mark.parametrize("bad", ["ftp://x", "http://", "not a url"])
def test_invalid_env_mirror(tmp_path: Path, bad: str) -> None:
    root = make_module(tmp_path / "m")
    with pytest.raises(ConfigError) as info:
        load_project(root, env=Environment({"GOBUILD_GO_MIRROR": bad}))
    message = str(info.value)
    assert "GOBUILD_GO_MIRROR" in message
    assert "\n" not in message


def test_env_cache_overrides_config(tmp_path: Path) -> None:
    root = make_module(tmp_path / "m", config='[toolchain]\ncache_dir = "from-config"\n')
    project = load_project(root, env=Environment({"GOBUILD_CACHE": str(tmp_path / "from-env")}))
    assert project.cache_dir == (tmp_path / "from-env").resolve()


def test_config_cache_dir_is_relative_to_project_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_module(tmp_path / "m", config='[toolchain]\ncache_dir = "tc-cache"\n')
    sub = root / "pkg" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)  # neither cwd nor start may matter
    project = load_project(sub, env=Environment({}))
    assert project.cache_dir == root.resolve() / "tc-cache"
    assert project.cache_dir.is_absolute()


def test_config_cache_dir_parent_relative(tmp_path: Path) -> None:
    root = make_module(tmp_path / "m", config='[toolchain]\ncache_dir = "../shared"\n')
    project = load_project(root, env=Environment({}))
    assert project.cache_dir == (tmp_path / "shared").resolve()


def test_default_cache_dir_is_user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("GOBUILD_CACHE", raising=False)
    root = make_module(tmp_path / "m")
    project = load_project(root, env=Environment({}))
    expected = Path(platformdirs.user_cache_dir("gobuild", appauthor=False))
    assert project.cache_dir == expected
    assert project.cache_dir.is_relative_to(Path(platformdirs.user_cache_dir()))
    assert "gobuild" in project.cache_dir.parts
    assert not project.cache_dir.is_relative_to(root.resolve())


def test_cache_dir_function_precedence(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    settings = validate({"toolchain": {"cache_dir": "rel"}}, Path("gobuild.toml"))
    assert cache_dir(root, settings, Environment({})) == root / "rel"
    assert cache_dir(root, settings, Environment({"GOBUILD_CACHE": str(root / "e")})) == root / "e"
    assert cache_dir(root, settings, Environment({"GOBUILD_CACHE": ""})) == root / "rel"


def test_environ_is_a_copy(tmp_path: Path) -> None:
    root = make_module(tmp_path / "m")
    env = {"GOBUILD_CACHE": str(tmp_path / "c"), "OTHER": "1"}
    project = load_project(root, env=Environment(env))
    env["OTHER"] = "2"
    assert project.env.variables["OTHER"] == "1"


# --- the Go pin ---------------------------------------------------------------------------


def project_for(tmp_path: Path, go_mod: str, config: str | None = None) -> Project:
    root = make_module(tmp_path / "m", go_mod=go_mod, config=config)
    return load_project(root, env=Environment({"GOBUILD_CACHE": str(tmp_path / "c")}))


def test_go_pin_from_config_wins(tmp_path: Path) -> None:
    project = project_for(
        tmp_path,
        "module example.com/app\n\ngo 1.22\n\ntoolchain go1.22.10\n",
        config='[go]\nversion = "1.21.5"\n',
    )
    pin = project.go_pin()
    assert pin.request.exact == GoVersion.parse("1.21.5")
    assert "gobuild.toml" in pin.origin
    assert "go.version" in pin.origin


def test_go_pin_from_toolchain_line(tmp_path: Path) -> None:
    project = project_for(tmp_path, "module example.com/app\n\ngo 1.22\n\ntoolchain go1.22.10\n")
    pin = project.go_pin()
    assert pin.request.exact == GoVersion.parse("1.22.10")
    assert pin.request.series is None
    assert "go.mod" in pin.origin
    assert "toolchain" in pin.origin


def test_go_pin_from_go_line(tmp_path: Path) -> None:
    project = project_for(tmp_path, "module example.com/app\n\ngo 1.22\n")
    pin = project.go_pin()
    assert pin.request.series == (1, 22)
    assert pin.request.exact is None
    assert "go.mod" in pin.origin
    assert "go line" in pin.origin


def test_go_pin_toolchain_default_is_ignored(tmp_path: Path) -> None:
    project = project_for(tmp_path, "module example.com/app\ngo 1.21.3\ntoolchain default\n")
    pin = project.go_pin()
    assert pin.request.exact == GoVersion.parse("1.21.3")
    assert "go line" in pin.origin


def test_go_pin_missing(tmp_path: Path) -> None:
    project = project_for(tmp_path, "module example.com/app\n")
    with pytest.raises(ConfigError) as info:
        project.go_pin()
    message = str(info.value)
    assert "go.version" in message
    assert "go.mod" in message
    assert "\n" not in message


def test_go_pin_invalid_go_line(tmp_path: Path) -> None:
    project = project_for(tmp_path, "module example.com/app\n\ngo 1.x\n")
    with pytest.raises(ConfigError) as info:
        project.go_pin()
    message = str(info.value)
    assert str(project.root / "go.mod") in message
    assert "1.x" in message
    assert "\n" not in message


def test_go_pin_invalid_toolchain_line(tmp_path: Path) -> None:
    project = project_for(tmp_path, "module example.com/app\ngo 1.22\ntoolchain gofoo\n")
    with pytest.raises(ConfigError, match=r"go\.mod"):
        project.go_pin()


def test_go_pin_config_overrides_invalid_go_mod(tmp_path: Path) -> None:
    project = project_for(
        tmp_path, "module example.com/app\n\ngo 1.x\n", config='[go]\nversion = "1.22"\n'
    )
    assert project.go_pin().request.series == (1, 22)


def test_go_mod_without_module_line(tmp_path: Path) -> None:
    root = make_module(tmp_path / "m", go_mod="go 1.22\n")
    with pytest.raises(ConfigError, match=r"go\.mod.*module"):
        load_project(root, env=Environment({}))


# --- finding the module -------------------------------------------------------------------


def test_load_from_subdirectory_finds_root(tmp_path: Path) -> None:
    root = make_module(tmp_path / "m", config='[go]\nversion = "1.22.3"\n')
    sub = root / "cmd" / "a"
    sub.mkdir(parents=True)
    project = load_project(sub, env=Environment({"GOBUILD_CACHE": str(tmp_path / "c")}))
    assert project.root == root.resolve()
    assert project.settings.go.version == "1.22.3"
    assert project.gomod.module == "example.com/app"


def test_nested_module_is_its_own_root(tmp_path: Path) -> None:
    outer = make_module(tmp_path / "m")
    inner = make_module(outer / "tools", go_mod="module example.com/tools\ngo 1.21\n")
    project = load_project(inner / ".", env=Environment({}))
    assert project.root == inner.resolve()
    assert project.gomod.module == "example.com/tools"


def test_outside_any_module(tmp_path: Path) -> None:
    start = tmp_path / "nowhere"
    start.mkdir()
    with pytest.raises(ConfigError) as info:
        load_project(start, env=Environment({}))
    message = str(info.value)
    assert "not inside a Go module" in message
    assert "\n" not in message


# --- binaries -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "package", "name"),
    [
        ("example.com/app", ".", "app"),
        ("example.com/app/", ".", "app"),
        ("app", ".", "app"),
        ("example.com/app", "./cmd/tool", "tool"),
        ("example.com/app", "./cmd/tool/", "tool"),
        ("example.com/app", "./x", "x"),
    ],
)
def test_binary_name(module: str, package: str, name: str) -> None:
    assert binary_name(module, package) == name


def test_binaries_configured_list_wins(tmp_path: Path) -> None:
    root = make_module(
        tmp_path / "m",
        config='[[binaries]]\nname = "custom"\npackage = "./cmd/tool"\n',
    )
    write_go(root / "main.go")
    write_go(root / "cmd" / "tool" / "main.go")
    write_go(root / "cmd" / "other" / "main.go")
    project = load_project(root, env=Environment({}))
    assert project.binaries() == [BinarySection(name="custom", package="./cmd/tool")]


def test_binaries_detected(tmp_path: Path) -> None:
    root = make_module(tmp_path / "m")
    write_go(root / "main.go")
    write_go(root / "cmd" / "tool" / "main.go")
    write_go(root / "cmd" / "tool" / "util.go", "package main\n\nfunc util() {}\n")
    write_go(root / "internal" / "lib" / "lib.go", "package lib\n")
    write_go(root / "cmd" / "testonly" / "x_test.go")  # tests are not a main package
    write_go(root / "testdata" / "fixture" / "main.go")
    write_go(root / "vendor" / "dep" / "main.go")
    write_go(root / ".hidden" / "main.go")
    write_go(root / "_skip" / "main.go")
    write_go(root / "tools" / "go.mod", "module example.com/tools\n")
    write_go(root / "tools" / "main.go")
    write_go(root / "testdata" / "mod" / "go.mod", "module example.com/fixture\n")
    write_go(root / "testdata" / "mod" / "main.go")
    project = load_project(root, env=Environment({}))
    got = [(b.name, b.package) for b in project.binaries()]
    # The nested module is the project's too, named by its own module path; a module
    # under testdata is a fixture, as the go command sees it.
    assert got == [("app", "."), ("tool", "./cmd/tool"), ("tools", "./tools")]
    assert [project.module_dir(p) for _, p in got] == [".", ".", "tools"]


def test_several_modules_pin_the_highest_go_any_of_them_asks_for(tmp_path: Path) -> None:
    root = make_module(tmp_path / "m", "module example.com/app\n\ngo 1.22.0\n")
    write_go(root / "examples" / "go.mod", "module examples\n\ngo 1.23.4\n")
    write_go(root / "tools" / "go.mod", "module tools\n\ngo 1.21\n\ntoolchain go1.22.5\n")
    pin = load_project(root, env=Environment({})).go_pin()
    assert (str(pin.request.exact), pin.origin) == ("1.23.4", "examples/go.mod go line")
    # A committed (here: no git, so present) go.work decides instead.
    (root / "go.work").write_text("go 1.22.0\n\ntoolchain go1.22.9\n\nuse (\n\t.\n\t./tools\n)\n")
    pin = load_project(root, env=Environment({})).go_pin()
    assert (str(pin.request.exact), pin.origin) == ("1.22.9", "go.work toolchain line")


def test_binaries_none_found(tmp_path: Path) -> None:
    root = make_module(tmp_path / "m")
    write_go(root / "lib.go", "// Package app.\npackage app\n")
    assert load_project(root, env=Environment({})).binaries() == []


def test_binaries_detected_name_matches_binary_name(tmp_path: Path) -> None:
    root = make_module(tmp_path / "m", go_mod="module example.com/some/server\ngo 1.22\n")
    write_go(root / "main.go")
    write_go(root / "cmd" / "cli-tool" / "main.go")
    project = load_project(root, env=Environment({}))
    for b in project.binaries():
        assert b.name == binary_name("example.com/some/server", b.package)
    assert [b.name for b in project.binaries()] == ["server", "cli-tool"]


def test_binaries_detected_unsafe_name_is_not_a_crash(tmp_path: Path) -> None:
    # "~" is legal in Go module paths and directory names, but not in a binary name:
    # detection must give a usable name or a GobuildError, never a raw pydantic error.
    root = make_module(tmp_path / "m", go_mod="module example.com/my~app\ngo 1.22\n")
    write_go(root / "main.go")
    project = load_project(root, env=Environment({}))
    try:
        binaries = project.binaries()
    except GobuildError:
        return
    assert all(SAFE_NAME.match(b.name) for b in binaries)

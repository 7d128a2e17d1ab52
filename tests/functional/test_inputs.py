"""Every input of a build rebuilds it: go list over a real module with the pinned Go.

The module is made here: an assembly package whose .s file includes a header, an
object file linked in (.syso, where an assembler is installed), a file embedded with
//go:embed, a local ``replace`` directory, a dependency from a loopback module proxy
(tests/staticproxy.py serving a module zip made here, go.sum hashed with gobuild's own
dirhash) and a second binary. Each change is made to a committed, built tree; doit must
rebuild exactly when the binary could change, and settle again afterwards.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gobuild.project.platforms import host
from tests.buildenv import GoEnv, doit, make_repo, ran, run_binary
from tests.staticproxy import Proxy, ProxyServer, publish_module

pytestmark = pytest.mark.skipif(
    host().key != "linux-amd64", reason="real archives are built for linux/amd64"
)

GREET = "example.com/greet"
GREET_VERSION = "v1.0.0"
GREET_FILES = {
    "go.mod": f"module {GREET}\n\ngo 1.21\n",
    "greet.go": 'package greet\n\n// Hello greets.\nfunc Hello() string { return "hello" }\n',
}
VARS = """
var (
	version   = "dev"
	commit    = "none"
	date      = "none"
	treeState = "none"
	goVersion = "none"
)
"""
ADD_S = """#include "textflag.h"
#include "bias.h"

// func Add(a, b int64) int64
TEXT ·Add(SB),NOSPLIT,$0-24
	MOVQ a+0(FP), AX
	ADDQ b+8(FP), AX
	ADDQ $BIAS, AX
	MOVQ AX, ret+16(FP)
	RET
"""
SYSO_S = ".data\n.globl gobuild_test_marker\ngobuild_test_marker:\n.byte {}\n"
ASSEMBLER = shutil.which("as")


def module_files() -> dict[str, str]:
    return {
        "go.mod": (
            "module example.com/inputs\n\ngo 1.21\n\n"
            f"require (\n\t{GREET} {GREET_VERSION}\n\texample.com/loc v0.0.0\n)\n\n"
            "replace example.com/loc => ./loc\n"
        ),
        "cmd/app/main.go": (
            "// Command app reads every kind of input.\npackage main\n\n"
            'import (\n\t_ "embed"\n\t"fmt"\n\n\t"example.com/greet"\n'
            '\t"example.com/inputs/asm"\n\t"example.com/loc"\n)\n\n'
            "//go:embed banner.txt\nvar banner string\n" + VARS + "\nfunc main() {\n"
            "\tfmt.Print(banner)\n\tfmt.Println(asm.Add(1, 2), loc.Name, greet.Hello(), version)\n}\n"
        ),
        "cmd/app/banner.txt": "banner one\n",
        "cmd/other/main.go": (
            '// Command other uses tool only.\npackage main\n\nimport "example.com/inputs/tool"\n'
            + VARS
            + "\nfunc main() { println(tool.Name, version, commit, date, treeState, goVersion) }\n"
        ),
        "tool/tool.go": 'package tool\n\n// Name is a name.\nconst Name = "tool"\n',
        "asm/add_amd64.go": "// Package asm adds in assembly.\npackage asm\n\n// Add returns a+b+BIAS.\n"
        "func Add(a, b int64) int64\n",
        "asm/add_amd64.s": ADD_S,
        "asm/bias.h": "#define BIAS 0\n",
        "asm/add_other.go": "//go:build !amd64\n\npackage asm\n\n"
        "// Add returns a+b.\nfunc Add(a, b int64) int64 { return a + b }\n",
        "asm/add_test.go": 'package asm\n\nimport "testing"\n\n'
        "func TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal(Add(1, 2))\n\t}\n}\n",
        "asm/testdata/cases.txt": "1 2 3\n",
        "loc/go.mod": "module example.com/loc\n\ngo 1.21\n",
        "loc/loc.go": '// Package loc is replaced by a directory.\npackage loc\n\n// Name is a name.\nconst Name = "loc one"\n',
    }


def assemble(out: Path, byte: int) -> None:
    assert ASSEMBLER is not None
    source = out.with_suffix(".s.txt")
    source.write_text(SYSO_S.format(byte))
    subprocess.run([ASSEMBLER, "-o", str(out), str(source)], check=True)
    source.unlink()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Proxy, list[str]]]:
    root = tmp_path_factory.mktemp("goproxy")
    sums = publish_module(root, GREET, GREET_VERSION, GREET_FILES)
    with ProxyServer(root) as state:
        yield state, sums


@pytest.fixture
def proxy_env(proxy: tuple[Proxy, list[str]], tmp_path: Path) -> dict[str, str]:
    """The go command fetches from the loopback proxy into this test's module cache."""
    return {
        "GOPROXY": proxy[0].url,
        "GOSUMDB": "off",
        "GOMODCACHE": str(tmp_path / "modcache"),
    }


def made(tmp_path: Path, go: GoEnv, proxy: tuple[Proxy, list[str]], toml: str = "") -> Path:
    """The module, committed and tagged, with gobuild.toml, dodo.py and gobuild.lock."""
    source = tmp_path / "source"
    for name, text in module_files().items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(text)
    (source / "go.sum").write_text("\n".join(proxy[1]) + "\n")
    if ASSEMBLER:
        assemble(source / "asm" / "marker_amd64.syso", 1)
    return make_repo(tmp_path / "r", str(source), go, toml)


def replace_in(path: str, old: str, new: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        p = root / path
        text = p.read_text()
        assert old in text, (path, old)
        p.write_text(text.replace(old, new))

    return change


def new_file(path: str, text: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)

    return change


def reassembled(root: Path) -> None:
    assemble(root / "asm" / "marker_amd64.syso", 2)


DIST = '[dist]\nplatforms = ["linux/amd64", "linux/arm64"]\n'
EXTRA_S = '#include "textflag.h"\n\nTEXT ·extra(SB),NOSPLIT,$0-0\n\tRET\n'
# (what, change, does build:app run again, its first output line after, or None: same output)
MATRIX: list[tuple[str, Callable[[Path], None], bool, str | None]] = [
    (".s file", replace_in("asm/add_amd64.s", "ADDQ $BIAS, AX", "ADDQ $BIAS+100, AX"), True,
     "103 loc one hello"),
    (".h file the .s includes", replace_in("asm/bias.h", "BIAS 0", "BIAS 7"), True,
     "10 loc one hello"),
    ("embedded file", replace_in("cmd/app/banner.txt", "one", "two"), True, "banner two"),
    ("local replace directory", replace_in("loc/loc.go", "loc one", "loc two"), True,
     "3 loc two hello"),
    ("new .s file", new_file("asm/extra_amd64.s", EXTRA_S), True, None),
    ("another GOARCH's file", replace_in("asm/add_other.go", "a + b", "a + b + 1"), False,
     None),
    ("_test.go", replace_in("asm/add_test.go", "t.Fatal", "t.Error"), False, None),
    ("testdata", new_file("asm/testdata/more.txt", "x\n"), False, None),
    ("another binary's package", replace_in("tool/tool.go", '"tool"', '"tool2"'), False, None),
    ("README", new_file("README.md", "# inputs\n"), False, None),
]  # fmt: skip
if ASSEMBLER:
    MATRIX.append((".syso file", reassembled, True, None))


@pytest.mark.parametrize(
    ("what", "change", "rebuild", "output"), MATRIX, ids=[m[0] for m in MATRIX]
)
def test_each_input_rebuilds(
    tmp_path: Path,
    go: GoEnv,
    proxy: tuple[Proxy, list[str]],
    proxy_env: dict[str, str],
    what: str,
    change: Callable[[Path], None],
    rebuild: bool,
    output: str | None,
) -> None:
    root = made(tmp_path, go, proxy)
    assert ran(doit(root, go, "build", env=proxy_env), "build:app")
    before = run_binary(root / "dist" / "app")
    assert before.startswith("banner one\n3 loc one hello v1.2.3\n")
    assert not ran(doit(root, go, "build", env=proxy_env), "build:app")  # no-op
    change(root)
    res = doit(root, go, "build", env=proxy_env)
    assert ran(res, "build:app") is rebuild
    after = run_binary(root / "dist" / "app")
    if output is not None:
        assert output in after and output not in before
    assert not ran(doit(root, go, "build", env=proxy_env), "build:app")  # settled again


def test_inputs_are_go_lists_and_leave_the_module_cache_out(
    tmp_path: Path, go: GoEnv, proxy: tuple[Proxy, list[str]], proxy_env: dict[str, str]
) -> None:
    root = made(tmp_path, go, proxy)
    doit(root, go, "build", env=proxy_env)
    described = json.loads((root / ".gobuild" / "tasks.json").read_text())["specs"]
    assert described["inputs_from"] == "go list"
    (app,) = [b for b in described["build"] if b["binary"] == "app"]
    inputs = {Path(p).relative_to(root).as_posix() for p in described["input_sets"][app["inputs"]]}
    expected = {
        "go.mod",
        "go.sum",
        "cmd/app/main.go",
        "cmd/app/banner.txt",
        "asm/add_amd64.go",
        "asm/add_amd64.s",
        "asm/bias.h",
        "loc/go.mod",
        "loc/loc.go",
    }
    assert inputs == expected | ({"asm/marker_amd64.syso"} if ASSEMBLER else set())
    # The dependency came through the loopback proxy into the module cache, and is not an
    # input: that cache is read-only, and go.sum (an input) pins it.
    assert any(path.startswith(f"/{GREET}/@v/") for path, _ in proxy[0].requests())
    assert (tmp_path / "modcache" / f"{GREET}@{GREET_VERSION}" / "greet.go").is_file()


def test_a_no_op_run_lists_nothing_and_an_unrelated_edit_does_not_list_again(
    tmp_path: Path, go: GoEnv, proxy: tuple[Proxy, list[str]], proxy_env: dict[str, str]
) -> None:
    root = made(tmp_path, go, proxy)
    doit(root, go, "build", env=proxy_env)
    state = root / ".gobuild"
    listed = (state / "inputs.json").stat().st_mtime_ns
    described = (state / "tasks.json").stat().st_mtime_ns
    assert not ran(doit(root, go, "build", env=proxy_env), "build:app")
    # Nothing was described again, nothing listed.
    assert (state / "tasks.json").stat().st_mtime_ns == described
    assert (state / "inputs.json").stat().st_mtime_ns == listed
    # A README makes doit describe the tasks again, but go list's answers still hold.
    (root / "README.md").write_text("# inputs\n")
    assert not ran(doit(root, go, "build", env=proxy_env), "build:app")
    assert (state / "tasks.json").stat().st_mtime_ns != described
    assert (state / "inputs.json").stat().st_mtime_ns == listed


@pytest.mark.parametrize("command", ["build", "dist"])
def test_inputs_found_before_go_was_installed_do_not_stay(
    tmp_path: Path,
    go: GoEnv,
    proxy: tuple[Proxy, list[str]],
    proxy_env: dict[str, str],
    command: str,
) -> None:
    root = made(tmp_path, go, proxy, DIST)
    task = "build:app" if command == "build" else "dist:app_linux_amd64"
    # A fresh toolchain cache: doit describes the tasks before its toolchain task installs
    # the pinned Go, so the described inputs are the file finder's; the build's are listed
    # once Go is there (a calc_dep task), and doit records those.
    fresh = {**proxy_env, "GOBUILD_CACHE": str(tmp_path / "fresh-cache")}
    res = doit(root, go, command, env=fresh)
    assert ran(res, "toolchain") and ran(res, task) and ran(res, f"{task}@inputs")
    tasks = root / ".gobuild" / "tasks.json"
    assert json.loads(tasks.read_text())["specs"]["inputs_from"] == "no go"
    # The next run describes the tasks again, with go list, and finds nothing to build.
    res = doit(root, go, command, env=fresh)
    assert json.loads(tasks.read_text())["specs"]["inputs_from"] == "go list"
    assert not ran(res, task)
    assert f"{task}@inputs" not in res.stdout
    replace_in("asm/add_amd64.s", "ADDQ $BIAS, AX", "ADDQ $BIAS+100, AX")(root)
    assert ran(doit(root, go, command, env=fresh), task)
    if command == "build":
        assert run_binary(root / "dist" / "app").startswith("banner one\n103 loc one hello")


@pytest.mark.parametrize(
    ("path", "old", "new", "amd64", "arm64"),
    [
        ("asm/add_amd64.s", "ADDQ $BIAS, AX", "ADDQ $BIAS+1, AX", True, False),
        ("asm/add_other.go", "a + b", "a + b + 1", False, True),
        ("loc/loc.go", "loc one", "loc two", True, True),
    ],
)
def test_each_dist_target_has_its_own_inputs(
    tmp_path: Path,
    go: GoEnv,
    proxy: tuple[Proxy, list[str]],
    proxy_env: dict[str, str],
    path: str,
    old: str,
    new: str,
    amd64: bool,
    arm64: bool,
) -> None:
    root = made(tmp_path, go, proxy, DIST)
    doit(root, go, "dist", env=proxy_env)
    res = doit(root, go, "dist", env=proxy_env)
    assert not ran(res, "dist:app_linux_amd64") and not ran(res, "dist:app_linux_arm64")
    replace_in(path, old, new)(root)
    res = doit(root, go, "dist", env=proxy_env)
    assert ran(res, "dist:app_linux_amd64") is amd64
    assert ran(res, "dist:app_linux_arm64") is arm64
    assert not ran(res, "dist:other_linux_amd64")

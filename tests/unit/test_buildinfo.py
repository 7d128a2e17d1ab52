"""Build info as ``go version -m`` prints it: real outputs of Go 1.22.10 and 1.27.3
(tests/fixtures/go_version_m, recorded from a module with a proxy dependency, a module
replacement and a directory replacement), and what the go command never prints.
``read_buildinfo`` runs the go command: tests/functional/test_sbom.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gobuild.errors import GobuildError
from gobuild.release.buildinfo import DEVEL, BuildInfo, Module, parse_buildinfo

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "go_version_m"
RECORDED = {
    "go1.22.10-vcs.txt": ("go1.22.10", DEVEL),
    "go1.22.10-novcs.txt": ("go1.22.10", DEVEL),
    "go1.27.3-tagged.txt": ("go1.27.3", "v1.2.3"),
    "go1.27.3-dirty-arm64.txt": ("go1.27.3", "v0.0.0-20240501120000-cd89a774781b+dirty"),
}
REVISION = "cd89a774781b261f58302587e2d392951b11536a"


def recorded(name: str) -> BuildInfo:
    return parse_buildinfo((FIXTURES / name).read_text(), "demo")


def go_sum() -> dict[tuple[str, str], str]:
    """The module's go.sum: (path, version) -> h1 of the module's files."""
    sums = {}
    for line in (FIXTURES / "module" / "go.sum").read_text().splitlines():
        path, version, h1 = line.split()
        if not version.endswith("/go.mod"):
            sums[path, version] = h1
    return sums


def expected_deps() -> tuple[Module, ...]:
    # Sorted by path as the go command lists them; hashes as go mod tidy wrote go.sum.
    sums = go_sum()
    text = "golang.org/x/text", "v0.0.0-20170915032832-14c0d48ead0c"
    sampler = "rsc.io/sampler", "v1.99.99"
    return (
        Module("example.com/local", "v0.0.0", None, Module("./local", DEVEL)),
        Module(*text, sums[text]),
        Module("rsc.io/quote", "v1.5.2", sums["rsc.io/quote", "v1.5.2"]),
        Module("rsc.io/sampler", "v1.3.0", None, Module(*sampler, sums[sampler])),
    )


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_recorded_outputs_give_the_modules_and_their_hashes(name: str) -> None:
    go_version, main_version = RECORDED[name]
    info = recorded(name)
    assert info.go_version == go_version
    assert info.path == "example.com/demo/cmd/demo"
    # The main module never has a hash; its version is (devel) unless VCS gave one.
    assert info.main == Module("example.com/demo", main_version, None)
    assert info.deps == expected_deps()
    assert [d.linked.path for d in info.deps] == [
        "./local",
        "golang.org/x/text",
        "rsc.io/quote",
        "rsc.io/sampler",
    ]
    assert [d.linked.version for d in info.deps][-1] == "v1.99.99"
    assert info.deps[0].replacement is not None and info.deps[0].replacement.is_directory
    assert info.deps[3].replacement is not None and not info.deps[3].replacement.is_directory


def test_settings_keep_the_go_commands_order() -> None:
    assert recorded("go1.22.10-vcs.txt").settings == (
        ("-buildmode", "exe"),
        ("-compiler", "gc"),
        ("-trimpath", "true"),
        (
            "DefaultGODEBUG",
            "httplaxcontentlength=1,httpmuxgo121=1,tls10server=1,tlsrsakex=1,tlsunsafeekm=1",
        ),
        ("CGO_ENABLED", "0"),
        ("GOARCH", "amd64"),
        ("GOOS", "linux"),
        ("GOAMD64", "v2"),
        ("vcs", "git"),
        ("vcs.revision", REVISION),
        ("vcs.time", "2024-05-01T12:00:00Z"),
        ("vcs.modified", "false"),
    )


def test_a_quoted_ldflags_value_is_unquoted_exactly() -> None:
    info = recorded("go1.22.10-novcs.txt")
    # record.sh passed -ldflags="-X 'main.version=v1.2.3 \"quoted\"<TAB>tab'".
    assert info.setting("-ldflags") == "-X 'main.version=v1.2.3 \"quoted\"\ttab'"
    assert info.setting("CGO_ENABLED") == "1"
    assert info.setting("CGO_CFLAGS") == ""  # present, empty
    assert info.setting("vcs.revision") is None  # no VCS: no vcs settings


def test_trimpath_keeps_ldflags_out_and_without_it_they_are_recorded() -> None:
    assert recorded("go1.22.10-vcs.txt").setting("-ldflags") is None
    assert recorded("go1.27.3-dirty-arm64.txt").setting("-ldflags") == (
        "-s -w -X main.version=v1.2.4"
    )


def test_go_1_27_records_tags_cross_targets_and_a_dirty_tree() -> None:
    tagged = recorded("go1.27.3-tagged.txt")
    assert tagged.setting("-tags") == "netgo,osusergo"
    assert tagged.setting("vcs.modified") == "false"
    godebug = tagged.setting("DefaultGODEBUG")
    assert godebug is not None and "httpmuxgo121=1" in godebug
    dirty = recorded("go1.27.3-dirty-arm64.txt")
    assert dirty.setting("GOARCH") == "arm64"
    assert dirty.setting("GOARM64") == "v8.0"
    assert dirty.setting("GOAMD64") is None
    assert (dirty.setting("vcs.modified"), dirty.setting("vcs.revision")) == ("true", REVISION)


def test_a_binary_outside_module_mode_has_no_main_module() -> None:
    # Go 1.27.3, GO111MODULE=off go build x.go
    text = (
        "x: go1.27.3\n\tpath\tcommand-line-arguments\n\tbuild\t-buildmode=exe\n"
        "\tbuild\t-compiler=gc\n\tbuild\tCGO_ENABLED=0\n"
    )
    info = parse_buildinfo(text, "x")
    assert (info.path, info.main, info.deps) == ("command-line-arguments", None, ())
    assert info.settings == (("-buildmode", "exe"), ("-compiler", "gc"), ("CGO_ENABLED", "0"))


def test_the_header_is_matched_to_the_name_given_and_keeps_the_whole_version() -> None:
    text = "./bin/my app: go1.22.10 X:loopvar\n\tpath\tm\n"
    assert parse_buildinfo(text, "./bin/my app").go_version == "go1.22.10 X:loopvar"


def test_a_quoted_key_and_every_escape_strconv_quote_writes() -> None:
    # strconv.Quote: \a \b \f \n \r \t \v \\ \", \u and \U for runes it does not print,
    # \x for bytes that are not UTF-8 (shown escaped again: they cannot be text).
    value = r'"\a\b\f\n\r\t\v\\\"\u00a0\U0001f600 é\xff"'
    text = f'b: go1.22.10\n\tpath\tm\n\tbuild\t"odd key=1"={value}\n'
    [(key, got)] = parse_buildinfo(text, "b").settings
    assert key == "odd key=1"
    assert got == '\a\b\f\n\r\t\v\\"\u00a0\U0001f600 é\\xff'


def test_values_go_leaves_unquoted_may_hold_any_other_character() -> None:
    # Go quotes a value only for a space, tab, CR, LF, quote or backquote.
    text = "b: go1.22.10\n\tpath\tm\n\tbuild\tX=a\u2028b\x0cc\x85d=e\n\tbuild\tY=1\n"
    assert parse_buildinfo(text, "b").settings == (("X", "a\u2028b\x0cc\x85d=e"), ("Y", "1"))


def go_quote(s: str) -> str:
    """strconv.Quote for valid UTF-8, as Go writes it (Python's isprintable is Go's
    IsPrint but for a few runes; either spelling is one Go reads back)."""
    out = []
    for c in s:
        if c in '"\\':
            out.append("\\" + c)
        elif c.isprintable():
            out.append(c)
        elif ord(c) < 0x10000:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(f"\\U{ord(c):08x}")
    return '"' + "".join(out) + '"'


@given(st.text())
def test_any_quoted_value_reads_back(value: str) -> None:
    text = f"b: go1.22.10\n\tpath\tm\n\tbuild\t-ldflags={go_quote(value)}\n"
    assert parse_buildinfo(text, "b").setting("-ldflags") == value


HEAD = "demo: go1.22.10\n\tpath\tm\n"
MOD = "\tmod\tm\t(devel)\t\n"
H1 = "h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y="


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "not go version -m output"),
        ("other: go1.22.10\n\tpath\tm\n", "not go version -m output"),
        ("demo: \n\tpath\tm\n", "not go version -m output"),
        ("demo: go1.22.10\n\tmod\tm\t(devel)\t\n", "no path line"),
        (HEAD + "\tpath\tm2\n", "not a line of build info"),
        ("demo: go1.22.10\n\tpath\tm\tx\n", "not a line of build info"),
        (HEAD + MOD + MOD, "not a line of build info"),
        (HEAD + "\tdep\ta\tv1.0.0\t" + H1 + "\n" + MOD, "not a line of build info"),
        (HEAD + "\tmod\tm\t(devel)\n", "no hash field"),
        (HEAD + "\tdep\ta\tv1.0.0\n\tdep\tb\tv1.0.0\t\n", "neither a hash nor a replacement"),
        (HEAD + "\tdep\ta\tv1.0.0\n", "neither a hash nor a replacement"),
        (HEAD + "\tdep\ta\tv1.0.0\n\t=>\tb\tv1.0.0\n", "no hash field"),
        (HEAD + "\tdep\ta\tv1.0.0\t" + H1 + "\n\t=>\tb\tv1.0.0\t\n", "not a line"),
        (HEAD + "\t=>\tb\tv1.0.0\t\n", "not a line of build info"),
        (HEAD + "\tdep\ta\tv1.0.0\t" + H1 + "\textra\n", "not PATH VERSION [HASH]"),
        (HEAD + "\tdep\ta\t\t" + H1 + "\n", "not PATH VERSION [HASH]"),
        (HEAD + "\tdep\ta\tv1\t\n\tdep\ta\tv2\t\n", "a dependency twice"),
        (HEAD + "\tbuild\tGOOS=linux\n\tbuild\tGOOS=darwin\n", "a setting twice"),
        (HEAD + "\tbuild\tGOOS\n", "not KEY=VALUE"),
        (HEAD + "\tbuild\t=linux\n", "not KEY=VALUE"),
        (HEAD + '\tbuild\t-ldflags="-s -w\n', "unterminated quoted string"),
        (HEAD + '\tbuild\t-ldflags="-s" -w\n', "text after the quoted value"),
        (HEAD + '\tbuild\t"key"value\n', "no = after the quoted key"),
        (HEAD + '\tbuild\tk="\\q"\n', "bad escape"),
        (HEAD + '\tbuild\tk="\\x4"\n', "bad escape"),
        (HEAD + '\tbuild\tk="\\U00110000"\n', "bad escape"),
        (HEAD + "\tbuild\n", "not a line of build info"),
        (HEAD + "path\tm\n", "not indented"),
        (HEAD + "other: go1.22.10\n", "not indented"),
    ],
)
def test_what_the_go_command_never_prints_is_an_error_naming_the_binary(
    text: str, why: str
) -> None:
    with pytest.raises(GobuildError, match=r"^demo: ") as err:
        parse_buildinfo(text, "demo")
    assert why in str(err.value)


def test_blank_lines_end_replacements_and_are_skipped() -> None:
    text = HEAD + MOD + "\tdep\ta\tv1.0.0\n\t=>\t../a\t(devel)\t\n\t\n\tbuild\tGOOS=linux\n"
    info = parse_buildinfo(text, "demo")
    assert info.deps == (Module("a", "v1.0.0", None, Module("../a", DEVEL)),)
    assert info.settings == (("GOOS", "linux"),)


@pytest.mark.parametrize(
    ("path", "directory"),
    [
        ("./local", True),
        ("../up", True),
        ("/abs/dir", True),
        (".", True),
        ("..", True),
        (".\\win", True),
        ("C:\\src\\m", True),
        ("c:/src/m", True),
        ("example.com/m", False),
        ("rsc.io/sampler", False),
        ("c:m", False),
        (".hidden/m", False),
    ],
)
def test_directory_replacements_are_told_from_module_paths(path: str, directory: bool) -> None:
    assert Module(path, DEVEL).is_directory is directory

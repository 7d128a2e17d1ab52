"""Module path escaping and GOPRIVATE-style patterns, against golang.org/x/mod's own cases
(module/module_test.go) and Go's path.Match cases (path/match_test.go)."""

from __future__ import annotations

import pytest

from gobuild.errors import ConfigError
from gobuild.modules.paths import escape_path, escape_version, glob_match, match_patterns

# checkPathTests: (path, valid module path).
CHECK_PATH = [
    ("x.y/z", True),
    ("x.y", True),
    ("", False),
    ("/x.y/z", False),
    ("x./z", False),
    (".x/z", False),
    ("-x/z", False),
    ("x..y/z", True),
    ("x.y/z/../../w", False),
    ("x.y//z", False),
    ("x.y/z//w", False),
    ("x.y/z/", False),
    ("x.y/z/v0", False),
    ("x.y/z/v1", False),
    ("x.y/z/v2", True),
    ("x.y/z/v2.0", False),
    ("X.y/z", False),
    ("!x.y/z", False),
    ("_x.y/z", False),
    ("x.y!/z", False),
    ('x.y"/z', False),
    ("x.y#/z", False),
    ("x.y+/z", False),
    ("x.y-/z", True),
    ("x.y./zt", False),
    ("x.y:/z", False),
    ("x.y_/z", False),
    ("x.y~/z", False),
    ("x.y/z!", False),
    ("x.y/z+", False),  # x/mod allowed + once; Go 1.26's vendored x/mod does not
    ("x.y/z-", True),
    ("x.y/z.t", True),
    ("x.y/z/t", True),
    ("x.y/z@", False),
    ("x.y/z_", True),
    ("x.y/z~", True),
    ("x.y/x.foo", True),
    ("x.y/aux.foo", False),
    ("x.y/prn", False),
    ("x.y/prn2", True),
    ("x.y/com", True),
    ("x.y/com1", False),
    ("x.y/com1.txt", False),
    ("x.y/calm1", True),
    ("github.com/!123/logrus", False),
    ("github.com/user/unicode/испытание", False),
    ("../x", False),
    ("./y", False),
    ("x:y", False),
    ("\\temp\\foo", False),
    (".gitignore", False),
    (".github/ISSUE_TEMPLATE", False),
    ("x☺y", False),
    # Not in x/mod's table; checked against the go command's module.EscapePath.
    ("x.y/PROGRA~1", False),
    ("x.y/a~b", True),
    ("gopkg.in/yaml.v2", True),
    ("gopkg.in/yaml", False),
    ("gopkg.in/yaml.v01", False),
    ("gopkg.in/yaml.v1-unstable", True),
    ("golang.org/toolchain", True),
]


@pytest.mark.parametrize(("path", "ok"), CHECK_PATH)
def test_escape_path_validates_as_check_path(path: str, ok: bool) -> None:
    if ok:
        assert escape_path(path) == path.replace("PROGRA", "!p!r!o!g!r!a")
    else:
        with pytest.raises(ConfigError, match="malformed module path"):
            escape_path(path)


@pytest.mark.parametrize(
    ("path", "escaped"),
    [
        (
            "ascii.com/abcdefghijklmnopqrstuvwxyz.-/~_0123456789",
            "ascii.com/abcdefghijklmnopqrstuvwxyz.-/~_0123456789",
        ),
        ("github.com/GoogleCloudPlatform/omega", "github.com/!google!cloud!platform/omega"),
        ("github.com/Azure/azure-sdk-for-go", "github.com/!azure/azure-sdk-for-go"),
    ],
)
def test_escape_path(path: str, escaped: str) -> None:
    assert escape_path(path) == escaped


@pytest.mark.parametrize(
    ("version", "escaped"),
    [
        ("v1.0.0", "v1.0.0"),
        ("v1.0.0-RC1", "v1.0.0-!r!c1"),
        ("v0.0.1-go1.22.10.linux-amd64", "v0.0.1-go1.22.10.linux-amd64"),
        ("v1.0.0+incompatible", "v1.0.0+incompatible"),
        ("latest", "latest"),
    ],
)
def test_escape_version(version: str, escaped: str) -> None:
    assert escape_version(version) == escaped


@pytest.mark.parametrize("version", ["", "v1!", "..", "v1.0.0/go.mod", "v1*", "CON", "vé", "v1."])
def test_escape_version_refuses(version: str) -> None:
    with pytest.raises(ConfigError, match="disallowed version string"):
        escape_version(version)


@pytest.mark.parametrize(
    ("globs", "target", "want"),
    [
        ("*/quote", "rsc.io/quote", True),
        ("*/quo", "rsc.io/quote", False),
        ("*/quo??", "rsc.io/quote", True),
        ("*/quo*", "rsc.io/quote", True),
        ("*quo*", "rsc.io/quote", False),
        ("rsc.io", "rsc.io/quote", True),
        ("*.io", "rsc.io/quote", True),
        ("rsc.io/", "rsc.io/quote", True),  # trailing slashes are ignored (x/mod since 2023)
        ("rsc", "rsc.io/quote", False),
        ("rsc*", "rsc.io/quote", True),
        ("rsc.io", "rsc.io/quote/v3", True),
        ("*/quote", "rsc.io/quote/v3", True),
        ("*/quote/*", "rsc.io/quote/v3", True),
        ("*/v3", "rsc.io/quote/v3", False),
        ("*/*/v3", "rsc.io/quote/v3", True),
        ("*/*/*", "rsc.io/quote/v3", True),
        ("*/*/*", "rsc.io/quote", False),
        ("*/*/*,,", "rsc.io/quote", False),
        ("*/*/*,,*/quote", "rsc.io/quote", True),
        (",,*/quote", "rsc.io/quote", True),
        ("", "rsc.io/quote", False),
        ("[,rsc.io", "rsc.io/quote", True),  # a malformed glob is skipped, not fatal
        ("golang.org/toolchain", "golang.org/toolchain", True),
        ("golang.org", "golang.org/toolchain", True),
        ("golang.org/x", "golang.org/toolchain", False),
    ],
)
def test_match_patterns(globs: str, target: str, want: bool) -> None:
    assert match_patterns(globs, target) is want


# Go's path/match_test.go (a malformed pattern matches nothing).
MATCH = [
    ("abc", "abc", True),
    ("*", "abc", True),
    ("*c", "abc", True),
    ("a*", "a", True),
    ("a*", "abc", True),
    ("a*", "ab/c", False),
    ("a*/b", "abc/b", True),
    ("a*/b", "a/c/b", False),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False),
    ("a*b?c*x", "abxbbxdbxebxczzx", True),
    ("a*b?c*x", "abxbbxdbxebxczzy", False),
    ("ab[c]", "abc", True),
    ("ab[b-d]", "abc", True),
    ("ab[e-g]", "abc", False),
    ("ab[^c]", "abc", False),
    ("ab[^b-d]", "abc", False),
    ("ab[^e-g]", "abc", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "ab", False),
    ("a?b", "a☺b", True),
    ("a[^a]b", "a☺b", True),
    ("a???b", "a☺b", False),
    ("a[^a][^a][^a]b", "a☺b", False),
    ("[a-ζ]*", "\u03b1", True),  # alpha
    ("*[a-ζ]", "A", False),
    ("a?b", "a/b", False),
    ("a*b", "a/b", False),
    ("[\\]a]", "]", True),
    ("[\\-]", "-", True),
    ("[x\\-]", "x", True),
    ("[x\\-]", "-", True),
    ("[x\\-]", "z", False),
    ("[\\-x]", "x", True),
    ("[\\-x]", "-", True),
    ("[\\-x]", "a", False),
    ("[]a]", "]", False),
    ("[-]", "-", False),
    ("[x-]", "x", False),
    ("[x-]", "-", False),
    ("[x-]", "z", False),
    ("[-x]", "x", False),
    ("[-x]", "-", False),
    ("[-x]", "a", False),
    ("\\", "a", False),
    ("[a-b-c]", "a", False),
    ("[", "a", False),
    ("[^", "a", False),
    ("[^bc", "a", False),
    ("a[", "a", False),
    ("a[", "ab", False),
    ("a[", "x", False),
    ("a/b[", "x", False),
    ("*x", "xxx", True),
]


@pytest.mark.parametrize(("pattern", "name", "want"), MATCH)
def test_glob_match_is_go_path_match(pattern: str, name: str, want: bool) -> None:
    assert glob_match(pattern, name) is want

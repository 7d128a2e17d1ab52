"""Tests for gobuild.versions: parsing, ordering and resolution of Go versions."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gobuild.errors import VersionError
from gobuild.project.versions import GoVersion, VersionRequest, resolve


def v(text: str) -> GoVersion:
    return GoVersion.parse(text)


# --- parsing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "major", "minor", "patch", "pre", "pre_number"),
    [
        ("1.22.10", 1, 22, 10, None, 0),
        ("go1.22.10", 1, 22, 10, None, 0),
        ("1.22", 1, 22, None, None, 0),
        ("go1.20", 1, 20, None, None, 0),
        ("1.21rc2", 1, 21, None, "rc", 2),
        ("go1.21rc2", 1, 21, None, "rc", 2),
        ("1.22beta1", 1, 22, None, "beta", 1),
        ("1.21.0", 1, 21, 0, None, 0),
        ("0.0", 0, 0, None, None, 0),
        ("2.0.1", 2, 0, 1, None, 0),
        ("1.22rc10", 1, 22, None, "rc", 10),
        ("  1.22.10  ", 1, 22, 10, None, 0),
        ("\tgo1.22.10\n", 1, 22, 10, None, 0),
        (" 1.21rc2\n", 1, 21, None, "rc", 2),
    ],
)
def test_parse_valid(
    text: str, major: int, minor: int, patch: int | None, pre: str | None, pre_number: int
) -> None:
    parsed = GoVersion.parse(text)
    assert (parsed.major, parsed.minor, parsed.patch, parsed.pre, parsed.pre_number) == (
        major,
        minor,
        patch,
        pre,
        pre_number,
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "1",
        "1.",
        "1.22.",
        "1.22.x",
        "v1.22",
        "1.022",
        "01.22",
        "1.22.01",
        "1.22.10.1",
        "go",
        "go1",
        "1.22rc0",
        "1.22rc",
        "1.22alpha1",
        "1.22.10rc1",
        "1.22 rc1",
        "go 1.22",
        "Go1.22",
        "latest",
        "1.22-rc1",
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(VersionError) as exc_info:
        GoVersion.parse(text)
    assert repr(text) in str(exc_info.value)


def test_parse_rejects_non_ascii_digits() -> None:
    # "\u0662" is ARABIC-INDIC DIGIT TWO: Go versions are ASCII only.
    text = "1.2\u0662"
    with pytest.raises(VersionError) as exc_info:
        GoVersion.parse(text)
    assert repr(text) in str(exc_info.value)


# --- ordering and equality ---------------------------------------------------

ORDERED = [
    "1.20rc1",
    "1.20",
    "1.20.1",
    "1.21rc1",
    "1.21rc2",
    "1.21.0",
    "1.21.1",
    "1.21.10",
    "1.22beta1",
    "1.22rc1",
    "1.22.0",
    "1.22.2",
    "1.22.10",
    "2.0beta1",
    "2.0.0",
]


def _pairs() -> Iterator[tuple[str, str]]:
    for i, a in enumerate(ORDERED):
        for b in ORDERED[i + 1 :]:
            yield a, b


@pytest.mark.parametrize(("lower", "higher"), list(_pairs()))
def test_ordering_pairs(lower: str, higher: str) -> None:
    a, b = v(lower), v(higher)
    assert a < b
    assert b > a
    assert a <= b
    assert not b < a
    assert a != b


def test_sorting_shuffled_list() -> None:
    versions = [v(t) for t in ORDERED]
    shuffled = versions[:]
    random.Random(1234).shuffle(shuffled)
    assert [str(x) for x in sorted(shuffled)] == ORDERED
    assert max(shuffled) == v("2.0.0")
    assert min(shuffled) == v("1.20rc1")


def test_no_patch_equals_patch_zero() -> None:
    assert v("1.20") == v("1.20.0")
    assert v("go1.20") == v("1.20.0")
    assert hash(v("1.20")) == hash(v("1.20.0"))
    assert len({v("1.20"), v("1.20.0"), v("go1.20")}) == 1
    assert not v("1.20") < v("1.20.0")
    assert not v("1.20.0") < v("1.20")


@pytest.mark.parametrize(
    ("a", "b"),
    [("1.20", "1.20rc1"), ("1.21rc1", "1.21beta1"), ("1.21rc1", "1.21rc2"), ("1.22.1", "1.22")],
)
def test_distinct_versions_are_unequal(a: str, b: str) -> None:
    assert v(a) != v(b)


def test_not_equal_to_other_types() -> None:
    assert v("1.22.10") != "1.22.10"
    assert v("1.22.10") != (1, 22, 10)


# --- str, tag and properties --------------------------------------------------


@pytest.mark.parametrize(
    "text", ["1.22.10", "1.22", "1.20", "1.20.0", "1.21rc2", "1.22beta1", "0.0", "1.21.0"]
)
def test_str_round_trip(text: str) -> None:
    assert str(v(text)) == text
    assert v(str(v(text))) == v(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("go1.22.10", "1.22.10"), (" go1.21rc2 ", "1.21rc2"), ("go1.20", "1.20")],
)
def test_str_drops_go_prefix(text: str, expected: str) -> None:
    assert str(v(text)) == expected


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("1.22.10", "go1.22.10"),
        ("go1.22.10", "go1.22.10"),
        ("1.20", "go1.20"),
        ("1.21rc2", "go1.21rc2"),
        ("1.22beta1", "go1.22beta1"),
    ],
)
def test_tag(text: str, tag: str) -> None:
    assert v(text).tag == tag


@pytest.mark.parametrize(
    ("text", "stable", "series"),
    [
        ("1.22.10", True, (1, 22)),
        ("1.20", True, (1, 20)),
        ("1.21rc2", False, (1, 21)),
        ("1.22beta1", False, (1, 22)),
    ],
)
def test_stable_and_series(text: str, stable: bool, series: tuple[int, int]) -> None:
    assert v(text).stable is stable
    assert v(text).series == series


# --- VersionRequest -----------------------------------------------------------


@pytest.mark.parametrize(("text", "series"), [("1.22", (1, 22)), ("go1.20", (1, 20))])
def test_request_series(text: str, series: tuple[int, int]) -> None:
    req = VersionRequest.parse(text)
    assert req.series == series
    assert req.exact is None
    assert req.text == text
    assert str(req) == "{}.{}".format(*series)


@pytest.mark.parametrize(
    ("text", "exact"),
    [
        ("1.22.0", "1.22.0"),
        ("go1.22.10", "1.22.10"),
        ("1.22rc1", "1.22rc1"),
        ("1.22beta1", "1.22beta1"),
    ],
)
def test_request_exact(text: str, exact: str) -> None:
    req = VersionRequest.parse(text)
    assert req.exact == v(exact)
    assert req.series is None
    assert str(req) == exact


@pytest.mark.parametrize("text", ["", "1", "latest", "1.22.x"])
def test_request_rejects(text: str) -> None:
    with pytest.raises(VersionError, match="invalid Go version"):
        VersionRequest.parse(text)


def test_request_matches() -> None:
    series = VersionRequest.parse("1.22")
    assert series.matches(v("1.22.0"))
    assert series.matches(v("1.22.10"))
    assert series.matches(v("1.22rc1"))
    assert not series.matches(v("1.21.10"))
    assert not series.matches(v("1.23.0"))
    exact = VersionRequest.parse("1.22.3")
    assert exact.matches(v("1.22.3"))
    assert not exact.matches(v("1.22.4"))
    assert not exact.matches(v("1.22"))


# --- resolve ------------------------------------------------------------------

AVAILABLE = [
    v(t)
    for t in [
        "1.21rc2",
        "1.21.0",
        "1.21.13",
        "1.22rc1",
        "1.22rc2",
        "1.22.0",
        "1.22.2",
        "1.22.9",
        "1.22.10",
        "1.23rc1",
        "1.23rc2",
        "1.24beta1",
    ]
]


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("1.22", "1.22.10"),  # numeric, not lexical: 1.22.10 > 1.22.9
        ("go1.22", "1.22.10"),
        ("1.21", "1.21.13"),
        ("1.22.2", "1.22.2"),
        ("go1.22.9", "1.22.9"),
        ("1.23rc2", "1.23rc2"),  # an exact pre-release request is allowed
        ("1.24beta1", "1.24beta1"),
    ],
)
def test_resolve(request_text: str, expected: str) -> None:
    got = resolve(VersionRequest.parse(request_text), AVAILABLE, "go.dev")
    assert got == v(expected)
    assert str(got) == expected


def test_resolve_series_ignores_release_candidates() -> None:
    available = [v("1.21rc1"), v("1.21rc2"), v("1.21.0"), v("1.22rc1")]
    got = resolve(VersionRequest.parse("1.21"), available, "go.dev")
    assert str(got) == "1.21.0"
    assert got.stable


def test_resolve_order_of_input_does_not_matter() -> None:
    shuffled = AVAILABLE[:]
    random.Random(7).shuffle(shuffled)
    assert str(resolve(VersionRequest.parse("1.22"), iter(shuffled), "go.dev")) == "1.22.10"


@pytest.mark.parametrize("request_text", ["1.23", "1.24", "1.25", "1.19"])
def test_resolve_series_without_stable_release(request_text: str) -> None:
    with pytest.raises(VersionError) as exc_info:
        resolve(VersionRequest.parse(request_text), AVAILABLE, "my-mirror.example")
    message = str(exc_info.value)
    assert "my-mirror.example" in message
    assert request_text in message


@pytest.mark.parametrize("request_text", ["1.22.11", "1.22rc3", "1.20.0", "go1.25.0"])
def test_resolve_exact_not_listed(request_text: str) -> None:
    with pytest.raises(VersionError) as exc_info:
        resolve(VersionRequest.parse(request_text), AVAILABLE, "my-mirror.example")
    message = str(exc_info.value)
    assert "my-mirror.example" in message
    assert str(v(request_text)) in message


def test_resolve_empty_listing() -> None:
    with pytest.raises(VersionError, match="from pypi"):
        resolve(VersionRequest.parse("1.22"), [], "pypi")


def test_resolve_exact_returns_the_listed_release_name() -> None:
    # Go 1.20's first release is named go1.20, not go1.20.0. A request for
    # "1.20.0" equals it, and the result must be the release that exists:
    # its tag is what the archive's VERSION file and download name contain.
    got = resolve(VersionRequest.parse("1.20.0"), [v("1.19.13"), v("1.20")], "go.dev")
    assert got == v("1.20")
    assert got.tag == "go1.20"


# --- properties -----------------------------------------------------------------

triples = st.tuples(
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=10_000),
)


@given(triples)
def test_property_round_trip(t: tuple[int, int, int]) -> None:
    version = GoVersion(*t)
    text = str(version)
    assert text == "{}.{}.{}".format(*t)
    parsed = GoVersion.parse(text)
    assert parsed == version
    assert (parsed.major, parsed.minor, parsed.patch) == t
    assert GoVersion.parse("go" + text) == version
    assert version.tag == "go" + text


@given(triples, triples)
def test_property_ordering_matches_tuples(a: tuple[int, int, int], b: tuple[int, int, int]) -> None:
    va = GoVersion.parse("{}.{}.{}".format(*a))
    vb = GoVersion.parse("{}.{}.{}".format(*b))
    assert (va < vb) == (a < b)
    assert (va > vb) == (a > b)
    assert (va == vb) == (a == b)
    if a == b:
        assert hash(va) == hash(vb)

"""Splitting test packages into shards, reading their durations, merging coverage."""

from __future__ import annotations

from pathlib import Path

import pytest

from gobuild.checks import coverage
from gobuild.checks.shards import (
    Shard,
    assign,
    package_durations,
    read_durations,
    record_durations,
    split_name,
)
from gobuild.errors import GobuildError


def test_shards_are_dealt_longest_first_to_the_least_loaded() -> None:
    durations = {"a": 10.0, "b": 6.0, "c": 5.0, "d": 4.0, "e": 1.0}
    shares = assign(["a", "b", "c", "d", "e"], 2, durations)
    assert shares == [["a", "d"], ["b", "c", "e"]]
    loads = [sum(durations[p] for p in share) for share in shares]
    assert loads == [14.0, 12.0]


def test_without_durations_the_shards_hold_equal_counts_and_every_package_once() -> None:
    packages = [f"p{i}" for i in range(10)]
    shares = assign(packages, 3, {})
    assert sorted(len(s) for s in shares) == [3, 3, 4]
    assert sorted(p for s in shares for p in s) == sorted(packages)
    # Each shard keeps the packages' own order.
    assert all(s == sorted(s, key=packages.index) for s in shares)


def test_an_untimed_package_counts_as_the_median_of_the_timed() -> None:
    shares = assign(["slow", "new1", "new2", "quick"], 2, {"slow": 9.0, "quick": 1.0})
    # new1 and new2 weigh 5 each: slow alone beside them would be 9 against 11.
    assert shares == [["slow", "quick"], ["new1", "new2"]]


def test_every_shard_computes_the_same_split() -> None:
    packages = [f"pkg{i}" for i in range(40)]
    durations = {p: float(i % 7) for i, p in enumerate(packages)}
    assert assign(packages, 4, durations) == assign(list(packages), 4, dict(durations))
    assert split_name(assign(packages, 4, durations)) != split_name(assign(packages, 4, {}))
    assert split_name([["a"], ["b"]]).startswith("sha256:")


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/257", "-1/2"])
def test_a_shard_is_k_of_n(text: str) -> None:
    with pytest.raises(GobuildError, match=r"expected K/N with 1 <= K <= N <= 256"):
        Shard.parse(text)
    assert str(Shard.parse("2/5")) == "2/5"


def test_durations_come_from_package_events_and_accumulate(tmp_path: Path) -> None:
    events = [
        '{"Action":"pass","Package":"m/a","Test":"TestX","Elapsed":0.5}',
        '{"Action":"pass","Package":"m/a","Elapsed":1.25}',
        '{"Action":"fail","Package":"m/b","Elapsed":3}',
        '{"Action":"output","Package":"m/c","Output":"ok"}',
        "not json",
    ]
    assert package_durations(events) == {"m/a": 1.25, "m/b": 3.0}
    path = tmp_path / "durations.json"
    record_durations(path, {"m/a": 1.0, "m/b": 2.0})
    record_durations(path, {"m/b": 4.0})
    assert read_durations(path) == {"m/a": 1.0, "m/b": 4.0}
    path.write_text("[1, 2]")
    assert read_durations(path) == {}
    assert read_durations(tmp_path / "missing.json") == {}


def _profile(path: Path, mode: str, *blocks: str) -> Path:
    path.write_text("\n".join([f"mode: {mode}", *blocks]) + "\n")
    return path


def test_set_profiles_merge_to_covered_if_any_covered(tmp_path: Path) -> None:
    a = _profile(tmp_path / "a", "set", "m/x.go:1.1,2.2 3 1", "m/x.go:3.1,4.2 2 0")
    b = _profile(tmp_path / "b", "set", "m/x.go:3.1,4.2 2 1", "m/y.go:1.1,2.2 5 0")
    merged = coverage.merge([a, b])
    assert merged is not None
    assert (merged.statements, merged.covered) == (10, 5)
    assert merged.percent == 50.0
    assert merged.text().splitlines() == [
        "mode: set", "m/x.go:1.1,2.2 3 1", "m/x.go:3.1,4.2 2 1", "m/y.go:1.1,2.2 5 0",
    ]  # fmt: skip


def test_count_profiles_add_up_and_modes_must_agree(tmp_path: Path) -> None:
    a = _profile(tmp_path / "a", "count", "m/x.go:1.1,2.2 3 2")
    b = _profile(tmp_path / "b", "count", "m/x.go:1.1,2.2 3 5")
    merged = coverage.merge([a, b])
    assert merged is not None and merged.blocks == {("m/x.go", "1.1,2.2"): (3, 7)}
    c = _profile(tmp_path / "c", "set", "m/x.go:1.1,2.2 3 1")
    with pytest.raises(GobuildError, match="coverage mode set, the others are count"):
        coverage.merge([a, c])
    bad = _profile(tmp_path / "bad", "set", "m/x.go:1.1,2.2 three 1")
    with pytest.raises(GobuildError, match="line 2: not a coverage block"):
        coverage.merge([bad])
    assert coverage.merge([]) is None

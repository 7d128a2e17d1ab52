"""`gobuild report merge` over runs that used the shared Go build cache: their lookups
add up (the rest of the merge is tests/functional/test_shards.py's)."""

from __future__ import annotations

import json
from pathlib import Path

from gobuild.checks.merge import merge_reports
from gobuild.gocache import lookups


def run_dir(parent: Path, name: str, counts: list[dict[str, int]] | None) -> Path:
    d = parent / name
    d.mkdir()
    unit = {"name": "test", "status": "passed", "start": 0, "end": 1}
    (d / "summary.json").write_text(json.dumps([unit]))
    if counts is not None:
        (d / lookups.FILE_NAME).write_text("".join(json.dumps(c) + "\n" for c in counts))
    return d


def test_the_runs_lookups_are_summed_and_kept(tmp_path: Path) -> None:
    a = run_dir(tmp_path, "a", [{"gets": 10, "hits": 9, "misses": 1, "puts": 1}])
    b = run_dir(tmp_path, "b", [{"gets": 5, "hits": 5}, {"gets": 5, "hits": 4, "misses": 1}])
    totals = merge_reports([a, b], tmp_path / "out")
    assert totals.shared_cache == lookups.Lookups(runs=3, gets=20, hits=18, misses=2, puts=1)
    assert totals.text(tmp_path / "out").splitlines()[1] == (
        "shared cache: 18 of 20 lookups hit (90.0 %), 1 puts"
    )
    assert lookups.read(tmp_path / "out" / lookups.FILE_NAME) == totals.shared_cache


def test_runs_without_a_shared_cache_say_nothing_of_one(tmp_path: Path) -> None:
    totals = merge_reports([run_dir(tmp_path, "a", None)], tmp_path / "out")
    assert totals.shared_cache is None
    assert "shared cache" not in totals.text(tmp_path / "out")
    assert not (tmp_path / "out" / lookups.FILE_NAME).exists()

"""``gobuild report merge DIR...``: the reports of several runs (the shards of one test
run) made one, with the totals an unsharded run would have.

Each directory is a run's reports (``summary.json``, ``test.json``, ``coverage.out``
or its units' ``*.cover``, ``shard.json``). Shards must be all of one split: the same
N, each K once, their packages disjoint; a missing or repeated shard is an error naming
it, so a merge never passes for a whole run that is not. Written to the output
directory: ``summary.json`` (every unit, with its shard), ``test.json`` (every event),
``coverage.out`` (merged), ``durations.json`` (for the next split), and ``junit.xml``
when gotestsum is given; ``gocache.jsonl`` (every run's shared-cache lookups) when the
runs used ``[cache] remote``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gobuild import atomic
from gobuild.checks import coverage
from gobuild.checks.report import write_junit
from gobuild.checks.shards import DURATIONS_NAME, SHARD_NAME, Shard, package_durations
from gobuild.checks.testevents import read_stream
from gobuild.errors import GobuildError
from gobuild.gocache import lookups
from gobuild.gocache.lookups import Lookups


@dataclass(frozen=True)
class Totals:
    """What the merged run counts."""

    runs: int
    units: int
    failed_units: int
    packages: int
    tests: int
    passed: int
    failed: int
    skipped: int
    coverage: float | None  # per cent of statements, when profiles were kept
    shards: str  # "3 shards" or "2 runs"
    shared_cache: Lookups | None = None  # the runs' lookups, when they used [cache] remote

    @property
    def ok(self) -> bool:
        """Whether every unit passed."""
        return self.failed_units == 0

    def text(self, out: Path) -> str:
        """One line a person reads."""
        cov = f", coverage {self.coverage:.1f}% of statements" if self.coverage is not None else ""
        line = (
            f"merged {self.shards}: {self.units} units ({self.failed_units} failed), "
            f"{self.packages} packages, {self.tests} tests ({self.passed} passed, "
            f"{self.failed} failed, {self.skipped} skipped){cov} -> {out}"
        )
        return line if self.shared_cache is None else f"{line}\n{self.shared_cache.text()}"


def merge_reports(
    directories: Sequence[Path], out: Path, *, gotestsum: str | None = None,
    env: dict[str, str] | None = None, root: Path | None = None,
) -> Totals:  # fmt: skip
    """Merge the runs' reports in ``directories`` into ``out`` (created)."""
    if not directories:
        raise GobuildError("report merge: name at least one reports directory")
    shards = [_shard(d) for d in directories]
    label = _check_shards(directories, shards)
    results: list[dict[str, Any]] = []
    events: list[str] = []
    profiles: list[Path] = []
    looked: list[str] = []
    for d, shard in zip(directories, shards, strict=True):
        summary = d / "summary.json"
        try:
            units = json.loads(summary.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise GobuildError(f"{summary}: not a check run's summary ({exc})") from None
        results += [{**u, "shard": str(shard[0]) if shard else ""} for u in units]
        test_json = d / "test.json"
        if test_json.is_file():
            text = test_json.read_text(encoding="utf-8")
            events += [line for line in text.splitlines() if line.strip()]
        whole = d / coverage.PROFILE_NAME
        profiles += [whole] if whole.is_file() else sorted(d.glob("*.cover"))
        with contextlib.suppress(FileNotFoundError):
            looked.append((d / lookups.FILE_NAME).read_text(encoding="utf-8"))
    out.mkdir(parents=True, exist_ok=True)
    if looked:
        atomic.write_text(out / lookups.FILE_NAME, "".join(looked), durable=False)
    atomic.write_text(out / "summary.json", json.dumps(results, indent=2), durable=False)
    merged = coverage.merge(profiles)
    if merged is not None:
        atomic.write_text(out / coverage.PROFILE_NAME, merged.text(), durable=False)
    durations = package_durations(events)
    atomic.write_text(
        out / DURATIONS_NAME, json.dumps(dict(sorted(durations.items())), indent=1) + "\n"
    )
    if events:
        atomic.write_text(out / "test.json", "\n".join(events) + "\n", durable=False)
        if gotestsum:
            write_junit(gotestsum, out / "test.json", out / "junit.xml", env or {}, root or out)
    stream = read_stream(events)
    cases = [c for s in stream.suites for c in s.cases]
    return Totals(
        runs=len(directories),
        units=len(results),
        failed_units=sum(1 for r in results if r.get("status") != "passed"),
        packages=len(stream.suites),
        tests=len(cases),
        passed=sum(1 for c in cases if c.status == "pass"),
        failed=sum(1 for c in cases if c.status == "fail"),
        skipped=sum(1 for c in cases if c.status == "skip"),
        coverage=None if merged is None else round(merged.percent, 1),
        shards=label,
        shared_cache=lookups.parse("".join(looked)) if looked else None,
    )


def _shard(directory: Path) -> tuple[Shard, list[str], str] | None:
    path = directory / SHARD_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        packages = [str(p) for p in data["packages"]]
        return Shard.parse(str(data["shard"])), packages, str(data["split"])
    except (OSError, ValueError, KeyError, TypeError, GobuildError):
        raise GobuildError(f"{path}: not a shard record") from None


def _check_shards(
    directories: Sequence[Path], shards: Sequence[tuple[Shard, list[str], str] | None]
) -> str:
    """Refuse a merge of shards that are not one whole split; a label for the totals."""
    found = [s for s in shards if s is not None]
    if not found:
        return f"{len(directories)} run{'s' if len(directories) != 1 else ''}"
    if len(found) != len(shards):
        alone = [str(d) for d, s in zip(directories, shards, strict=True) if s is None]
        raise GobuildError(f"report merge: {', '.join(alone)} is no shard, the others are")
    counts = {s.count for s, _, _ in found}
    if len(counts) != 1:
        raise GobuildError(f"report merge: shards of different splits ({sorted(counts)})")
    count = counts.pop()
    have = sorted(s.index for s, _, _ in found)
    missing = [k for k in range(1, count + 1) if k not in have]
    repeated = sorted({k for k in have if have.count(k) > 1})
    if missing or repeated:
        said = [f"shard {k}/{count} missing" for k in missing]
        said += [f"shard {k}/{count} given twice" for k in repeated]
        raise GobuildError(f"report merge: {', '.join(said)}")
    splits = {split for _, _, split in found}
    if len(splits) != 1:
        raise GobuildError(
            "report merge: the shards were split differently (other packages or durations): "
            "run every shard from the same commit and the same --durations file"
        )
    return f"{count} shards"

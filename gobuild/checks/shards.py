"""Splitting the test packages across machines: shard K of N, balanced by how long each
package took before.

Every shard computes the same split from the same inputs (the package list and the
recorded durations), so N machines running ``gobuild check --shard K/N`` for K = 1…N
test every package exactly once, with nothing to coordinate. Packages are dealt longest
first to the shard with the least work so far (ties to the lower shard); a package
never timed counts as the median of those that were, or as one when none was, so
without any history the shards hold equal numbers of packages.

Durations come from ``go test -json`` events (a package's ``pass``/``fail`` event
carries its ``Elapsed``): each test run updates the project's ``durations.json`` in the
state directory, and ``gobuild report merge`` writes one for the merged run, which CI
can restore for the next run's shards.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gobuild import atomic
from gobuild.errors import GobuildError

DURATIONS_NAME = "durations.json"
SHARD_NAME = "shard.json"  # in a sharded run's reports: which shard, which packages


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``K/N`` with 1 ≤ K ≤ N ≤ 256; GobuildError naming the value otherwise."""
        k, sep, n = text.partition("/")
        if not (sep and k.isdigit() and n.isdigit()) or not 1 <= int(k) <= int(n) <= 256:
            raise GobuildError(f"--shard {text!r}: expected K/N with 1 <= K <= N <= 256")
        return cls(int(k), int(n))


def assign(packages: Sequence[str], count: int, durations: Mapping[str, float]) -> list[list[str]]:
    """``packages`` dealt into ``count`` shards of about equal recorded time; each
    shard's packages in their original order."""
    known = [durations[p] for p in packages if p in durations]
    default = statistics.median(known) if known else 1.0
    weight = {p: durations.get(p, default) for p in packages}
    loads = [0.0] * count
    chosen: list[set[str]] = [set() for _ in range(count)]
    for p in sorted(packages, key=lambda p: (-weight[p], p)):
        lightest = min(range(count), key=lambda i: (loads[i], i))
        loads[lightest] += weight[p]
        chosen[lightest].add(p)
    return [[p for p in packages if p in shard] for shard in chosen]


def split_name(shares: Sequence[Sequence[str]]) -> str:
    """A digest of a whole split (each shard's packages, in shard order)."""
    text = json.dumps([list(share) for share in shares])
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def package_durations(events: Iterable[str]) -> dict[str, float]:
    """Each package's elapsed seconds in a ``go test -json`` stream (the last seen)."""
    found: dict[str, float] = {}
    for line in events:
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if (
            isinstance(event, dict)
            and event.get("Action") in ("pass", "fail")
            and event.get("Package")
            and not event.get("Test")
            and isinstance(event.get("Elapsed"), int | float)
        ):
            found[str(event["Package"])] = float(event["Elapsed"])
    return found


def read_durations(path: Path) -> dict[str, float]:
    """A durations file's package → seconds ({} when it is missing or unreadable: the
    split then falls back to package counts)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}


def record_durations(path: Path, measured: Mapping[str, float]) -> None:
    """Merge ``measured`` into the durations file at ``path`` (newer values win)."""
    if not measured:
        return
    merged = {**read_durations(path), **measured}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, json.dumps(dict(sorted(merged.items())), indent=1) + "\n")

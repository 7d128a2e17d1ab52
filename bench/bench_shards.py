"""Three test shards in three directories against one unsharded run: same totals, and
the slowest shard's wall against the unsharded wall.

Run: python bench/bench_shards.py [--module PATH@VERSION] [--rounds N] [--shards N]
                                  [--dir DIR] [--json]
     python bench/bench_shards.py --survey PATH@VERSION [PATH@VERSION ...]

The module (MODULE: gofiber/fiber/v2 v2.52.15; the comment above it says why) is fetched
from the Go module proxy as bench_overlap.py does (GOPROXY, else the go command's
default), committed, given a gobuild.toml by `gobuild init`, pinned to Go 1.27.3, with

  [checks.test] coverage = true, split = "package"  (each package its own unit, whose
                                                     wall is the package's recorded time)
  [profiles.dev] goflags = ["-count=1"]             (test results never cached)

and copied into N + 1 directories (the unsharded one and one per shard: other paths, as
other CI machines have). All share one GOCACHE and GOMODCACHE under the bench's
directory, warmed by a discarded run of every side. Each round, one after another, each
with the whole machine (the default budget: the host's CPUs, 2 here, as a CI machine
running one shard has):

  unsharded:  `gobuild check test` (its wall; its durations.json kept for the shards)
  shard K:    `gobuild check test --shard K/N --durations <that durations.json>` in
              directory K, for K = 1..N (each one's wall: what one CI machine runs)
  merge:      `gobuild report merge` of the N shards' reports, and of the unsharded
              run's alone; their totals (tests, passed, failed, skipped, coverage) must
              be equal, and the merged coverage profiles identical

Printed: every round's walls, the slowest shard / unsharded ratio (target <= 0.45, the
issue's), the totals of both sides, and the medians over the rounds; `--json` prints the
result as one JSON document instead. A run whose tests fail (exit 1) is still measured:
the failures must then match between the sides.

`--survey` prepares each named module the same way, runs `gobuild check test` twice
(a warm-up and a measured run, one directory), and prints each package's recorded
duration and the largest share of the best split gobuild would make (its own `assign`):
how the module below was chosen.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_overlap import checkout, default_proxy, revision  # noqa: E402
from gobuild.checks.shards import assign, read_durations  # noqa: E402

BIN = Path(sys.executable).parent
GO_VERSION = "1.27.3"
# Why this module: its tests split. Surveyed with `--survey` (one measured run after a
# warm-up, 2 shared CPUs, split = "package", -count=1; the recorded seconds of all
# packages, the largest package's share, the largest share of gobuild's 3-way split):
#   gofiber/fiber/v2 v2.52.15   44 pkgs, 110.6 s, largest 31% (middleware/limiter), split
#                               36.9/37.0/36.6 s: 0.33; every test passes; dependencies
#                               (fasthttp, klauspost/compress, google/uuid, msgp, ...)
#   expr-lang/expr v1.17.8      61 pkgs, 34.4 s, largest 10%, split 0.34; but no dependencies
#   go-kit/kit v0.13.0          54 pkgs, 52.4 s, largest 37% (transport/nats), split 0.37;
#                               5 packages fail here (cloudwatch, eureka, zipkin, ...)
#   hashicorp/hcl/v2 v2.25.0    22 pkgs, 13.9 s, split 0.35; too short: start-up weighs
#   pelletier/go-toml/v2 v2.4.3 15 pkgs, 8.5 s; spf13/viper v1.21.0 6 pkgs, 4.6 s: too short
#   prometheus/client_golang v1.25.0  25 pkgs, 82.3 s, one package 67%; 2 fail here
#   labstack/echo/v4 v4.16.5    2 packages (one 69%): nothing to split
# fiber's tests are long enough (~2 minutes unsharded) that a shard's fixed cost (the
# interpreter, planning, `go list`, the reports) is small beside a third of them. Two of
# its package pairs end alike (utils and internal/template/utils; internal/memory and
# internal/storage/memory), as real modules' often do: the totals then show whether a
# run's reports keep every package, wherever the split puts them. Some of its tests are
# timed (limiter, cache, logger) and can fail on a loaded machine: such a failure shows
# as a difference of that package alone.
MODULE = ("github.com/gofiber/fiber/v2", "v2.52.15")
TARGET = 0.45  # the slowest shard's wall / the unsharded wall (issue 18)
# What the checks run with beside the dev profile: profiles to merge, units to time.
SETTINGS = '[checks.test]\ncoverage = true\nsplit = "package"\n\n'
REPORTS = Path(".gobuild") / "checks" / "test"  # a `gobuild check test` run's reports
DURATIONS = Path(".gobuild") / "checks" / "durations.json"
TOTALS = re.compile(
    r"merged (?P<label>.+?): (?P<units>\d+) units \((?P<failed_units>\d+) failed\), "
    r"(?P<packages>\d+) packages, (?P<tests>\d+) tests \((?P<passed>\d+) passed, "
    r"(?P<failed>\d+) failed, (?P<skipped>\d+) skipped\)"
    r"(?:, coverage (?P<coverage>[\d.]+)% of statements)? -> "
)
COMPARED = ("packages", "tests", "passed", "failed", "skipped", "coverage")


@dataclass
class Run:
    """One `gobuild check test` run: its wall, exit code, and what its reports say."""

    wall: float
    code: int
    units: int
    failed_units: list[str]
    span: float  # first unit's start to last unit's end (summary.json)
    packages: int  # in shard.json, for a shard (0 unsharded)
    share: float  # the recorded seconds of its packages, for a shard
    duplicates: list[str]  # unit names its summary.json holds more than once


@dataclass
class Round:
    """One round: the unsharded run, each shard's, and both merges' totals."""

    unsharded: Run
    shards: list[Run]
    totals_unsharded: dict[str, Any]
    totals_shards: dict[str, Any]
    same_profile: bool
    differences: list[str]  # where the merges differ, package by package

    @property
    def slowest(self) -> float:
        return max(s.wall for s in self.shards)

    @property
    def ratio(self) -> float:
        return self.slowest / self.unsharded.wall

    @property
    def totals_match(self) -> bool:
        return all(self.totals_unsharded[k] == self.totals_shards[k] for k in COMPARED)


def run(argv: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a step; on failure (when ``check``) raise with its output."""
    done = subprocess.run(argv, cwd=cwd, check=False, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return done


def prepare(proxy: str, module: str, version: str, root: Path) -> list[str]:
    """bench_overlap's checkout, with coverage and one unit per package."""
    return checkout(proxy, module, version, root, SETTINGS)


def check(root: Path, log: Path, *extra: str) -> Run:
    """`gobuild check test [extra]` in ``root``, timed; what its reports say."""
    argv = [str(BIN / "gobuild"), "check", "test", *extra]
    reports = root / REPORTS
    with log.open("wb") as out:
        start = time.perf_counter()
        code = subprocess.run(argv, cwd=root, stdout=out, stderr=subprocess.STDOUT,
                              check=False).returncode  # fmt: skip
        wall = time.perf_counter() - start
    try:
        rows = json.loads((reports / "summary.json").read_text())
    except (OSError, ValueError):
        raise RuntimeError(
            f"{' '.join(argv)} in {root}: exit {code}, no summary; see {log}"
        ) from None
    span = max(float(r["end"]) for r in rows) - min(float(r["start"]) for r in rows) if rows else 0
    failed = [str(r["name"]) for r in rows if r.get("status") != "passed"]
    names = [str(r["name"]) for r in rows]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    packages, share = 0, 0.0
    shard_file = reports / "shard.json"
    if shard_file.is_file():
        listed = json.loads(shard_file.read_text())["packages"]
        packages = len(listed)
        if "--durations" in extra:
            recorded = read_durations(Path(extra[extra.index("--durations") + 1]))
            share = sum(recorded.get(p, 0.0) for p in listed)
    return Run(wall, code, len(rows), failed, span, packages, share, duplicates)


def merge(directories: list[Path], out: Path, cwd: Path) -> dict[str, Any]:
    """`gobuild report merge DIR... -o OUT` (outside any project); its printed totals."""
    argv = [str(BIN / "gobuild"), "report", "merge", *map(str, directories), "-o", str(out)]
    done = run(argv, cwd, check=False)
    found = TOTALS.search(done.stdout)
    if done.returncode not in (0, 1) or found is None:
        raise RuntimeError(f"gobuild report merge: exit {done.returncode}\n"
                           f"{done.stdout[-2000:]}{done.stderr[-2000:]}")  # fmt: skip
    totals: dict[str, Any] = {k: int(v) for k, v in found.groupdict().items()
                              if k not in ("label", "coverage") and v is not None}  # fmt: skip
    totals["label"] = found["label"]
    totals["coverage"] = float(found["coverage"]) if found["coverage"] else None
    totals["exit"] = done.returncode
    return totals


def profile(folder: Path) -> list[str]:
    """A merged coverage profile's lines, sorted (the mode line first)."""
    path = folder / "coverage.out"
    if not path.is_file():
        return []
    lines = path.read_text().splitlines()
    return lines[:1] + sorted(lines[1:])


def package_results(folder: Path) -> dict[str, str]:
    """Each package in a merged test.json: its own result and its tests' result events
    counted by action (a package whose events appear twice counts twice)."""
    found: dict[str, dict[str, int]] = {}
    own: dict[str, str] = {}
    path = folder / "test.json"
    lines = path.read_text().splitlines() if path.is_file() else []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        package, action = event.get("Package"), event.get("Action")
        if not package or action not in ("pass", "fail", "skip"):
            continue
        if event.get("Test"):
            counts = found.setdefault(package, {})
            counts[action] = counts.get(action, 0) + 1
        else:
            own[package] = action
            found.setdefault(package, {})
    return {
        p: f"{own.get(p, 'no result')}, "
        + (", ".join(f"{n} {a}" for a, n in sorted(c.items())) or "no tests")
        for p, c in found.items()
    }


def differences(whole: Path, parts: Path) -> list[str]:
    """Package by package, where two merged reports differ: test results, coverage."""
    said = []
    one, other = package_results(whole), package_results(parts)
    for p in sorted(set(one) | set(other)):
        if one.get(p) != other.get(p):
            said.append(f"{p}: unsharded {one.get(p, 'absent')}; shards {other.get(p, 'absent')}")
    a, b = set(profile(whole)[1:]), set(profile(parts)[1:])
    for side, blocks in (("unsharded", a - b), ("shards", b - a)):
        dirs = sorted({line.rsplit(":", 1)[0].rsplit("/", 1)[0] for line in blocks})
        if dirs:
            said.append(f"coverage blocks only in the {side}' profile: {', '.join(dirs)}")
    return said


def split_share(durations: dict[str, float], count: int) -> tuple[float, list[float]]:
    """The largest share of gobuild's split of ``durations`` into ``count``, as a fraction
    of the whole, and every shard's seconds."""
    shares = assign(sorted(durations), count, durations)
    seconds = [sum(durations[p] for p in share) for share in shares]
    total = sum(seconds)
    return (max(seconds) / total if total else 1.0), seconds


@contextlib.contextmanager
def workdir(parent: str | None, keep: bool = False) -> Iterator[Path]:
    """A temporary directory, removed (unless ``keep``) even where the module cache made
    files read-only."""
    path = Path(tempfile.mkdtemp(prefix="bench-shards-", dir=parent))
    try:
        yield path
    finally:
        if keep:
            print(f"kept {path}: each round's reports, merges and logs", file=sys.stderr)
        else:
            for dirpath, dirnames, _ in os.walk(path):
                for d in dirnames:
                    (Path(dirpath) / d).chmod(0o755)
            shutil.rmtree(path, ignore_errors=True)


def parse_module(text: str) -> tuple[str, str]:
    path, sep, version = text.partition("@")
    if not sep or not version:
        raise argparse.ArgumentTypeError(f"{text!r}: expected PATH@VERSION")
    return path, version


def survey(proxy: str, work: Path, modules: list[tuple[str, str]], count: int) -> None:
    """Each module's recorded package durations and gobuild's split of them."""
    for module, version in modules:
        root = work / module.replace("/", "_")
        print(f"\n{module} {version}", flush=True)
        try:
            prepare(proxy, module, version, root)
            check(root, work / f"{root.name}-warm.log")
            result = check(root, work / f"{root.name}.log")
        except (OSError, RuntimeError, ValueError) as exc:
            print(f"  not measured: {exc}")
            continue
        durations = read_durations(root / DURATIONS)
        total = sum(durations.values())
        largest, seconds = split_share(durations, count)
        for package, secs in sorted(durations.items(), key=lambda kv: -kv[1])[:8]:
            print(f"  {secs:7.2f}s {secs / total:5.1%}  {package}")
        failed = ", ".join(result.failed_units) or "none"
        print(f"  {len(durations)} packages, {total:.1f} s recorded; wall {result.wall:.1f}s; "
              f"exit {result.code}; failed: {failed}")  # fmt: skip
        print(f"  split into {count}: {', '.join(f'{s:.1f}' for s in seconds)} s; largest "
              f"{largest:.2f} of the whole")  # fmt: skip


def bench(proxy: str, work: Path, module: str, version: str, rounds: int,
          count: int) -> dict[str, Any]:  # fmt: skip
    """The rounds; the result as JSON data (printed as it goes to stderr)."""
    base = work / "unsharded"
    goflags = prepare(proxy, module, version, base)
    copies = []
    for k in range(1, count + 1):
        copy = work / f"shard{k}"
        shutil.copytree(base, copy, symlinks=True)
        copies.append(copy)
    logs = work / "logs"
    logs.mkdir()

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def one_round(tag: str) -> Round:
        folder = work / tag
        folder.mkdir()
        unsharded = check(base, logs / f"{tag}-unsharded.log")
        shutil.copytree(base / REPORTS, folder / "unsharded")
        durations = folder / "durations.json"
        shutil.copyfile(base / DURATIONS, durations)
        shards = []
        for k, copy in enumerate(copies, 1):
            extra = ("--shard", f"{k}/{count}", "--durations", str(durations))
            shards.append(check(copy, logs / f"{tag}-shard{k}.log", *extra))
        whole = merge([folder / "unsharded"], folder / "merged-unsharded", work)
        parts = merge([c / REPORTS for c in copies], folder / "merged-shards", work)
        same = profile(folder / "merged-unsharded") == profile(folder / "merged-shards")
        for k, copy in enumerate(copies, 1):  # kept with the round's (with --keep)
            shutil.copytree(copy / REPORTS, folder / f"shard{k}")
        found = differences(folder / "merged-unsharded", folder / "merged-shards")
        return Round(unsharded, shards, whole, parts, same, found)

    measured = revision()  # once: others may commit while the rounds run
    say(f"gobuild {measured}; Go {GO_VERSION}; {module} {version} (GOFLAGS "
        f"{' '.join(goflags)}); {count} shards; {os.cpu_count()} CPUs")  # fmt: skip
    say("warming the caches (discarded round)...")
    warm = one_round("warm")
    say(describe("warm-up (discarded)", warm))
    results = []
    for i in range(rounds):
        results.append(one_round(f"round{i + 1}"))
        say(describe(f"round {i + 1}", results[-1]))
    return summarize(module, version, goflags, count, results, measured)


def describe(title: str, r: Round) -> str:
    """One round as a few lines."""
    shards = "  ".join(
        f"{k}: {s.wall:.2f}s ({s.packages} pkgs, {s.share:.1f} s recorded"
        f"{', exit ' + str(s.code) if s.code else ''})"
        for k, s in enumerate(r.shards, 1)
    )
    u = r.unsharded
    code = f", exit {u.code}" if u.code else ""
    lines = [
        f"{title}: unsharded {u.wall:.2f}s ({u.units} units{code})"
        f"; shards {shards}; slowest/unsharded {r.ratio:.3f}; totals "
        f"{'match' if r.totals_match else 'DIFFER'}; coverage profiles "
        f"{'identical' if r.same_profile else 'DIFFER'}",
        f"  totals unsharded: {totals_text(r.totals_unsharded)}",
        f"  totals shards:    {totals_text(r.totals_shards)}",
    ]
    lines += [f"  differs: {d}" for d in r.differences]
    for side, run in (("unsharded", u), *((f"shard {k}", s) for k, s in enumerate(r.shards, 1))):
        if run.duplicates:
            lines.append(f"  {side}: unit names given twice: {', '.join(run.duplicates)}")
    return "\n".join(lines)


def totals_text(t: dict[str, Any]) -> str:
    """A merge's totals in one line."""
    cov = f"{t['coverage']:.1f}%" if t["coverage"] is not None else "none"
    return (
        f"{t['units']} units ({t['failed_units']} failed), {t['packages']} packages, "
        f"{t['tests']} tests ({t['passed']} passed, {t['failed']} failed, "
        f"{t['skipped']} skipped), coverage {cov}"
    )


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(module: str, version: str, goflags: list[str], count: int,
              results: list[Round], measured: str) -> dict[str, Any]:  # fmt: skip
    """The rounds' data and medians as JSON data."""
    ratio = med([r.ratio for r in results])
    return {
        "module": f"{module}@{version}",
        "go": GO_VERSION,
        "goflags": goflags,
        "shards": count,
        "cpus": os.cpu_count(),
        "gobuild": measured,
        "rounds": [
            {
                "unsharded": asdict(r.unsharded),
                "shards": [asdict(s) for s in r.shards],
                "slowest_shard_seconds": round(r.slowest, 3),
                "ratio_slowest_vs_unsharded": round(r.ratio, 3),
                "totals_unsharded": r.totals_unsharded,
                "totals_shards": r.totals_shards,
                "totals_match": r.totals_match,
                "coverage_profiles_identical": r.same_profile,
                "differences": r.differences,
            }
            for r in results
        ],
        "median_seconds": {
            "unsharded": round(med([r.unsharded.wall for r in results]), 3),
            **{
                f"shard{k + 1}": round(med([r.shards[k].wall for r in results]), 3)
                for k in range(count)
            },
            "slowest_shard": round(med([r.slowest for r in results]), 3),
        },
        "median_ratio_slowest_vs_unsharded": round(ratio, 3),
        "target": TARGET,
        "target_met": ratio <= TARGET,
        "totals_match_every_round": all(r.totals_match for r in results),
        "coverage_profiles_identical_every_round": all(r.same_profile for r in results),
    }


def show(result: dict[str, Any]) -> None:
    """The result for a person to read."""
    m = result["median_seconds"]
    print(
        f"\n{result['module']}, Go {result['go']}, GOFLAGS {' '.join(result['goflags'])}, "
        f"{result['shards']} shards, each run with the whole machine ({result['cpus']} CPUs)"
    )
    print(f"gobuild {result['gobuild']}")
    print(
        f"{'round':<6} {'unsharded':>9} "
        + " ".join(f"{'shard' + str(k + 1):>7}" for k in range(result["shards"]))
        + f" {'slowest/unsharded':>18}  totals"
    )
    for i, r in enumerate(result["rounds"], 1):
        walls = " ".join(f"{s['wall']:6.2f}s" for s in r["shards"])
        ratio = r["ratio_slowest_vs_unsharded"]
        print(
            f"{i:<6} {r['unsharded']['wall']:8.2f}s {walls} {ratio:>18.3f}"
            f"  {'match' if r['totals_match'] else 'DIFFER'}"
        )
    walls = " ".join(f"{m[f'shard{k + 1}']:6.2f}s" for k in range(result["shards"]))
    print(
        f"{'median':<6} {m['unsharded']:8.2f}s {walls} "
        f"{result['median_ratio_slowest_vs_unsharded']:>18.3f}"
    )
    for i, r in enumerate(result["rounds"], 1):
        print(f"round {i} totals: unsharded {totals_text(r['totals_unsharded'])}")
        print(f"{'':<14}shards    {totals_text(r['totals_shards'])}")
        for line in r["differences"]:
            print(f"  differs: {line}")
    duplicates = sorted({d for r in result["rounds"] for d in r["unsharded"]["duplicates"]})
    if duplicates:
        print(f"  the unsharded run's summary.json names units twice: {', '.join(duplicates)}")
    print(
        f"  totals equal in every round: {result['totals_match_every_round']}; merged "
        f"coverage profiles identical: {result['coverage_profiles_identical_every_round']}"
    )
    verdict = "met" if result["target_met"] else "NOT met"
    print(
        f"slowest shard / unsharded: {result['median_ratio_slowest_vs_unsharded']:.3f} "
        f"(median of the rounds'; target <= {TARGET}: {verdict})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", type=parse_module, default=MODULE, metavar="PATH@VERSION")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--shards", type=int, default=3)
    parser.add_argument("--dir", help="where the temporary directory goes (default: TMPDIR)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--survey", type=parse_module, nargs="+", metavar="PATH@VERSION",
                        help="measure these modules' package durations instead")  # fmt: skip
    args = parser.parse_args()
    with workdir(args.dir, args.keep) as work:
        # One GOCACHE and module cache for every directory, outside the developer's own.
        os.environ["GOCACHE"] = str(work / "gocache")
        os.environ["GOMODCACHE"] = str(work / "gomodcache")
        proxy = default_proxy(work)  # GOPROXY itself is left as it is: the go command's
        if args.survey:
            survey(proxy, work, args.survey, args.shards)
            return
        module, version = args.module
        result = bench(proxy, work, module, version, args.rounds, args.shards)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        show(result)


if __name__ == "__main__":
    main()

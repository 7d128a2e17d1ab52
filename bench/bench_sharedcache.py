"""A second machine with an empty Go build cache and the shared remote cache, against
a cold build: `doit build` then `doit test`, walls and the go command's lookups.

Run: python bench/bench_sharedcache.py [--module PATH@VERSION] [--rounds N] [--dir DIR]
                                       [--json]

The module (MODULE: junegunn/fzf v0.65.2, a command with dependencies and tests) is
fetched from the Go module proxy and prepared as bench_overlap.py does (gobuild init,
Go 1.27.3, the dev profile's -count=1 so tests run every time), with

  [cache] remote = "s3://gocache/bench", endpoint = <a loopback S3 server>

An S3-compatible server (versitygw, tests/s3env.py; real SigV4, credentials only in
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) runs on loopback for the whole bench. All
sides share one GOMODCACHE (downloads are not what a build cache saves) and gobuild's
cache (the pinned Go and tools, built once: what a CI image holds). Each round, on
fresh clones (other paths, as other machines have) with an empty GOCACHE each, one
after another:

  cold:    the checkout without [cache]: `doit build`, then `doit test` (the baseline)
  first:   a fresh bucket prefix, empty: the same, filling the remote
  second:  another checkout path, another empty GOCACHE, the remote the first filled

Printed: each side's walls, the second / cold ratio of build + test (target <= 0.3,
issue 18), the second / first ratio (the first side is cold as well, with the cache's
settings: its test units take -trimpath and so reuse what its build compiled, which
the cold side's cannot), and the lookups line gobuild prints for each side (the go command's own
get requests as the verifier answered them; target >= 90 % hits on the second side);
the medians over the rounds. The secret key must appear in no output (checked).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_overlap import checkout, default_proxy  # noqa: E402
from tests import s3env  # noqa: E402

BIN = Path(sys.executable).parent
MODULE = ("github.com/junegunn/fzf", "v0.65.2")
TARGET_RATIO = 0.3
TARGET_HITS = 0.9
LOOKUPS = re.compile(r"shared cache \S+: (\d+) of (\d+) lookups hit")
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]


@dataclass
class Side:
    """One side of a round: walls of `doit build` and `doit test`, and their lookups."""

    build: float
    test: float
    hits: int
    gets: int

    @property
    def total(self) -> float:
        return self.build + self.test

    @property
    def hit_ratio(self) -> float:
        return self.hits / self.gets if self.gets else 0.0


def doit(root: Path, task: str, env: dict[str, str], log: Path) -> tuple[float, str]:
    """`doit TASK` in ``root``, timed; its output (raises on failure)."""
    start = time.perf_counter()
    done = subprocess.run([str(BIN / "doit"), task], cwd=root, env=env, capture_output=True,
                          text=True, check=False)  # fmt: skip
    wall = time.perf_counter() - start
    output = done.stdout + done.stderr
    with log.open("a") as out:
        out.write(f"$ doit {task}  # {root}\n{output}\n")
    if done.returncode != 0:
        raise RuntimeError(f"doit {task} in {root}: exit {done.returncode}; see {log}")
    return wall, output


def side(src: Path, where: Path, env: dict[str, str], log: Path, secret: str) -> Side:
    """A fresh clone of ``src`` at ``where`` with an empty GOCACHE: build, then test."""
    subprocess.run(["git", "clone", "-q", str(src), str(where)], check=True)
    env = {**env, "GOCACHE": str(where.parent / f"{where.name}-gocache")}
    build, out_build = doit(where, "build", env, log)
    test, out_test = doit(where, "test", env, log)
    if secret in out_build + out_test:
        raise RuntimeError(f"the S3 secret key appeared in the output; see {log}")
    hits = gets = 0
    for found in LOOKUPS.finditer(out_build + out_test):
        hits, gets = hits + int(found[1]), gets + int(found[2])
    return Side(build, test, hits, gets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", default="@".join(MODULE))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dir", help="work here (kept) instead of a temporary directory")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    module, _, version = args.module.partition("@")
    work = Path(args.dir or tempfile.mkdtemp(prefix="bench-sharedcache-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "bench.log"
    env = {
        **os.environ,
        "GOMODCACHE": str(work / "gomodcache"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    os.environ["GOMODCACHE"] = env["GOMODCACHE"]  # the checkout's go list fills it
    proxy = default_proxy(work)
    plain = work / "plain"
    if not plain.exists():
        checkout(proxy, module, version, plain)
    path = [str(BIN / "gobuild"), "toolchain", "path"]
    found = subprocess.run(path, cwd=plain, capture_output=True, text=True, check=True)
    goroot = Path(found.stdout.strip())
    server = s3env.S3Server(work / "s3", s3env.ensure_s3_server(goroot))
    shutil.rmtree(work / "s3", ignore_errors=True)
    server.start()
    rounds: list[dict[str, Side]] = []
    try:
        env.update(AWS_ACCESS_KEY_ID=server.access_key, AWS_SECRET_ACCESS_KEY=server.secret_key)
        for n in range(1, args.rounds + 1):
            here = work / f"round{n}"
            shutil.rmtree(here, ignore_errors=True)
            here.mkdir()
            shared = here / "shared-src"
            subprocess.run(["git", "clone", "-q", str(plain), str(shared)], check=True)
            config = shared / "gobuild.toml"
            remote = f's3://{server.bucket}/round{n}"\nendpoint = "{server.url}'
            config.write_text(f'{config.read_text()}\n[cache]\nremote = "{remote}"\n')
            subprocess.run([*GIT, "commit", "-qam", "shared cache"], cwd=shared, check=True)
            sides = {
                "cold": side(plain, here / "m0" / "src", env, log, server.secret_key),
                "first": side(shared, here / "m1" / "src", env, log, server.secret_key),
                "second": side(shared, here / "m2" / "checkout", env, log, server.secret_key),
            }
            rounds.append(sides)
            if not args.json:
                for name, s in sides.items():
                    print(f"round {n} {name:6}  build {s.build:6.2f} s  test {s.test:6.2f} s  "
                          f"lookups {s.hits}/{s.gets} hit ({100 * s.hit_ratio:.1f} %)")  # fmt: skip
                ratio = sides["second"].total / sides["cold"].total
                first = sides["second"].total / sides["first"].total
                print(f"round {n} second / cold: {ratio:.3f}, second / first: {first:.3f}")
    finally:
        server.stop()
    med = {
        name: {
            "build": statistics.median(r[name].build for r in rounds),
            "test": statistics.median(r[name].test for r in rounds),
            "hit_ratio": statistics.median(r[name].hit_ratio for r in rounds),
        }
        for name in ("cold", "first", "second")
    }
    ratio = statistics.median(r["second"].total / r["cold"].total for r in rounds)
    # The first side is cold too (an empty bucket), with the cache's own settings (the
    # test units' -trimpath, so they reuse what the build compiled): a stricter baseline.
    ratio_first = statistics.median(r["second"].total / r["first"].total for r in rounds)
    result = {
        "module": f"{module}@{version}",
        "rounds": [{k: asdict(v) for k, v in r.items()} for r in rounds],
        "medians": med,
        "second_over_cold": ratio,
        "second_over_first": ratio_first,
        "target_ratio": TARGET_RATIO,
        "target_hits": TARGET_HITS,
        "met": ratio <= TARGET_RATIO and med["second"]["hit_ratio"] >= TARGET_HITS,
    }
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(f"\n{module}@{version}, medians of {len(rounds)} rounds:")
    for name, m in med.items():
        print(f"  {name:6}  build {m['build']:6.2f} s  test {m['test']:6.2f} s  "
              f"hits {100 * m['hit_ratio']:.1f} %")  # fmt: skip
    print(f"  second / cold (build + test): {ratio:.3f} (target <= {TARGET_RATIO}); "
          f"{'met' if result['met'] else 'NOT met'}")  # fmt: skip
    print(f"  second / first (build + test): {ratio_first:.3f}")


if __name__ == "__main__":
    main()

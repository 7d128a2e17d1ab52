"""Install Go 1.22.10 from a loopback module proxy: gobuild vs the go command's own switch.

Run: python bench/bench_goproxy.py [--rounds N]

Both sides fetch ``golang.org/toolchain@v0.0.1-go1.22.10.<host>`` from the same
loopback GOPROXY, verify it against the same loopback checksum database (test key,
records signed as sum.golang.org signs them), and start from nothing: a new
GOBUILD_CACHE for gobuild (``gobuild toolchain install``), a new GOPATH and
GOMODCACHE for the go command (``GOTOOLCHAIN=go1.22.10 go version``, which
downloads, verifies, unzips and runs the toolchain). Rounds alternate which side
goes first; medians are reported with the ratio (goal <= 1.0).

Nothing is deleted until every round is done (see bench_install.py: ext4's
inode allocator remembers recent deletions and would slow the next round).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gobuild.atomic import remove_tree  # noqa: E402
from tests import godist, goproxyserver  # noqa: E402
from tests.sumdbserver import SumDB  # noqa: E402

VERSION = "1.22.10"
SYSTEM_GO = "/usr/local/go/bin/go"


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    os.sync()  # earlier rounds' dirty pages must not be written back inside this one
    t = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    godist.toolchain_zip(VERSION)  # build (and cache) the zip before timing anything
    gobuild = str(Path(sys.executable).parent / "gobuild")
    db = SumDB("sumdb.bench")
    db.add_filler(1000)  # a tree of some height, so inclusion proofs need several tiles
    with goproxyserver.serving(db) as proxy, tempfile.TemporaryDirectory() as tmp:
        proxy.publish(VERSION)
        work = Path(tmp)
        project = work / "project"
        project.mkdir()
        (project / "go.mod").write_text("module example.com/bench\n\ngo 1.22\n")
        (project / "gobuild.toml").write_text(
            f'[go]\nversion = "{VERSION}"\n[toolchain]\nsources = ["goproxy"]\n'
        )
        outside = work / "outside"  # no go.mod: the go command switches on GOTOOLCHAIN alone
        outside.mkdir()
        common = {
            **os.environ,
            "GOPROXY": proxy.url,
            "GOSUMDB": db.vkey,
            "GONOSUMDB": "",
            "GOPRIVATE": "",
            "GOFLAGS": "",
        }
        ours_s, theirs_s, cached_s = [], [], []
        for i in range(args.rounds):

            def ours(i: int = i) -> None:
                env = {**common, "GOBUILD_CACHE": str(work / f"cache{i}")}
                (project / "gobuild.lock").unlink(missing_ok=True)
                ours_s.append(timed([gobuild, "toolchain", "install"], env, project))
                cached_s.append(timed([gobuild, "toolchain", "install"], env, project))

            def theirs(i: int = i) -> None:
                gopath = work / f"gopath{i}"
                env = {
                    **common,
                    "GOPATH": str(gopath),
                    "GOMODCACHE": str(gopath / "pkg" / "mod"),
                    "GOTOOLCHAIN": f"go{VERSION}",
                    "GOENV": "off",
                    "HOME": str(work),
                }
                theirs_s.append(timed([SYSTEM_GO, "version"], env, outside))

            for side in (ours, theirs) if i % 2 == 0 else (theirs, ours):
                side()
        zips = len(proxy.requests(".zip"))
        for i in range(args.rounds):
            remove_tree(work / f"cache{i}")
            remove_tree(work / f"gopath{i}")
    med_ours, med_theirs = statistics.median(ours_s), statistics.median(theirs_s)
    print(
        json.dumps(
            {
                "rounds": args.rounds,
                "zip_downloads": zips,  # one per side per round: nothing was served from a cache
                "medians_s": {
                    "gobuild_install": round(med_ours, 3),
                    "go_command_switch": round(med_theirs, 3),
                    "gobuild_cached": round(statistics.median(cached_s), 3),
                },
                "samples_s": {
                    "gobuild_install": [round(x, 3) for x in ours_s],
                    "go_command_switch": [round(x, 3) for x in theirs_s],
                },
                "round_ratios": [round(a / b, 3) for a, b in zip(ours_s, theirs_s, strict=True)],
                "gobuild_vs_go": round(med_ours / med_theirs, 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

"""Install Go 1.22.10 from a loopback mirror: gobuild vs curl + sha256sum + tar.

Run: python bench/bench_install.py [--rounds N]
Reports medians of N rounds, alternating which side goes first so machine drift
hits both, and the ratios the toolchain issue sets targets for:
  fresh gobuild install / shell baseline   (target <= 1.2, stretch < 1.0)
  cached gobuild re-install / fresh install (target <= 0.1)

Nothing is deleted until every round is done. On ext4 without a journal (as on
these machines) the inode allocator skips inodes deleted in the last 60-360 s
one by one (fs/ext4/ialloc.c, recently_deleted()), so removing one round's
~11k files makes every file creation of the next round scan past them: the
extraction then takes 2-8 s instead of 2, for both sides, and measures the file
system's memory of the previous round rather than either installer. Start the
bench a few minutes after any large deletion for the same reason.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gobuild.atomic import remove_tree  # noqa: E402
from tests import godist  # noqa: E402
from tests.mirror import MirrorServer  # noqa: E402

VERSION = "1.22.10"


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    # Flush earlier rounds' ~200 MB of dirty pages first, so writeback from one
    # measurement does not land in the next one's time.
    os.sync()
    t = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--dir", type=Path, default=None, help="where to install (default: the temp dir)"
    )
    args = parser.parse_args()
    archive = godist.real_archive(VERSION)
    gobuild = str(Path(sys.executable).parent / "gobuild")
    with MirrorServer() as mirror, tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        entry = mirror.add(VERSION, archive)
        work = Path(tmp)
        project = work / "project"
        project.mkdir()
        (project / "go.mod").write_text("module example.com/bench\n\ngo 1.22\n")
        (project / "gobuild.toml").write_text(
            f'[go]\nversion = "{VERSION}"\n[toolchain]\nsources = ["official"]\n'
            f'mirror = "{mirror.url}"\n'
        )
        url = f"{mirror.url}/dl/{entry.filename}"
        shell = (
            f"curl -sSf -o {entry.filename} {url} && "
            f"echo '{entry.sha256}  {entry.filename}' | sha256sum -c --quiet && "
            f"tar -xzf {entry.filename}"
        )
        fresh, cached, baseline = [], [], []
        for i in range(args.rounds):

            def ours(i: int = i) -> None:
                env = {**os.environ, "GOBUILD_CACHE": str(work / f"cache{i}")}
                (project / "gobuild.lock").unlink(missing_ok=True)
                fresh.append(timed([gobuild, "toolchain", "install"], env, project))
                cached.append(timed([gobuild, "toolchain", "install"], env, project))

            def theirs(i: int = i) -> None:
                out = work / f"shell{i}"
                out.mkdir()
                baseline.append(timed(["sh", "-c", shell], dict(os.environ), out))

            for side in (ours, theirs) if i % 2 == 0 else (theirs, ours):
                side()
        for i in range(args.rounds):
            remove_tree(work / f"cache{i}")  # the installed tree is read-only
            shutil.rmtree(work / f"shell{i}")
    med = {
        k: statistics.median(v)
        for k, v in {
            "gobuild_fresh": fresh,
            "gobuild_cached": cached,
            "shell_baseline": baseline,
        }.items()
    }
    result = {
        "rounds": args.rounds,
        "filesystem": _filesystem(Path(args.dir or tempfile.gettempdir())),
        "medians_s": {k: round(v, 3) for k, v in med.items()},
        "samples_s": {
            "gobuild_fresh": [round(x, 3) for x in fresh],
            "shell_baseline": [round(x, 3) for x in baseline],
        },
        # Per round (the two sides ran back to back), to see the spread.
        "round_ratios": [round(a / b, 3) for a, b in zip(fresh, baseline, strict=True)],
        "fresh_vs_shell": round(med["gobuild_fresh"] / med["shell_baseline"], 3),
        "cached_vs_fresh": round(med["gobuild_cached"] / med["gobuild_fresh"], 3),
    }
    print(json.dumps(result, indent=2))


def _filesystem(path: Path) -> str:
    out = subprocess.run(
        ["df", "--output=fstype", str(path)], capture_output=True, text=True, check=False
    )
    return out.stdout.split()[-1] if out.returncode == 0 else "unknown"


if __name__ == "__main__":
    main()

"""Install Go 1.22.10 from a loopback mirror: gobuild vs curl + sha256sum + tar.

Run: python bench/bench_install.py [--rounds N]
Reports medians of N rounds, alternating the two so machine noise hits both,
and the ratios the toolchain issue sets targets for:
  fresh gobuild install / shell baseline   (target <= 1.2, stretch < 1.0)
  cached gobuild re-install / fresh install (target <= 0.1)
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
    args = parser.parse_args()
    archive = godist.real_archive(VERSION)
    gobuild = str(Path(sys.executable).parent / "gobuild")
    with MirrorServer() as mirror, tempfile.TemporaryDirectory() as tmp:
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
            cache = work / f"cache{i}"
            env = {**os.environ, "GOBUILD_CACHE": str(cache)}
            (project / "gobuild.lock").unlink(missing_ok=True)
            fresh.append(timed([gobuild, "toolchain", "install"], env, project))
            cached.append(timed([gobuild, "toolchain", "install"], env, project))
            remove_tree(cache)  # the installed tree is read-only
            out = work / f"shell{i}"
            out.mkdir()
            baseline.append(timed(["sh", "-c", shell], dict(os.environ), out))
            shutil.rmtree(out)
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
        "medians_s": {k: round(v, 3) for k, v in med.items()},
        "fresh_vs_shell": round(med["gobuild_fresh"] / med["shell_baseline"], 3),
        "cached_vs_fresh": round(med["gobuild_cached"] / med["gobuild_fresh"], 3),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""`doit release --snapshot` against `go build` of the same four targets, one after another.

Run: python bench/bench_release.py [--module PATH@VERSION] [--rounds N]
A real module with dependencies (github.com/junegunn/fzf by default) is fetched from the
module proxy, committed and tagged, with Go 1.27.3 (the toolchain the real proxy serves).
Each round starts both sides from the same warm GOCACHE (the four targets' packages
compiled once before the rounds), so the comparison is what each does on top of the
compiler's cache:

  baseline: four `go build -trimpath -ldflags=-s -w -buildid=` (linux/amd64, linux/arm64,
            darwin/arm64, windows/amd64) one after another
  release:  `rm -rf dist; doit -n 2 release --snapshot` (dist, then archives, SBOMs,
            SHA256SUMS, release.json), and its stages timed apart: `doit -n 2 dist`, then
            `doit release --snapshot` with dist up to date

Medians of the rounds and the ratio are printed as JSON.
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

BIN = Path(sys.executable).parent
GO_VERSION = "1.27.3"  # the one toolchain zip the real proxy serves here
TARGETS = ("linux/amd64", "linux/arm64", "darwin/arm64", "windows/amd64")


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    res = subprocess.run(argv, cwd=cwd, env=env, check=False, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {res.returncode}\n{res.stdout}{res.stderr}")
    return time.perf_counter() - start


def output(argv: list[str], cwd: Path, env: dict[str, str]) -> str:
    return subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout  # fmt: skip


def prepare(work: Path, module: str, env: dict[str, str], system_go: str) -> tuple[Path, Path]:
    """The module committed and tagged with gobuild's files; the pinned Go's go command."""
    found = json.loads(output([system_go, "mod", "download", "-json", module], work, env))
    root = work / "module"
    shutil.copytree(found["Dir"], root)
    for path in root.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)
    git = ["git", "-c", "user.email=b@example.com", "-c", "user.name=bench"]
    run([*git, "init", "-q", "-b", "main"], root, env)
    run([str(BIN / "gobuild"), "init"], root, env)
    text = (root / "gobuild.toml").read_text()
    # The [go] section's version: the first one (others are [build.variables]').
    lines = text.splitlines()
    first = next(i for i, ln in enumerate(lines) if ln.startswith("version = "))
    lines[first] = f'version = "{GO_VERSION}"'
    platforms = ", ".join(f'"{t}"' for t in TARGETS)
    dist = f"\n[dist]\nplatforms = [{platforms}]\n"
    (root / "gobuild.toml").write_text("\n".join(lines) + "\n" + dist)
    run([str(BIN / "gobuild"), "lock"], root, env)
    run([str(BIN / "gobuild"), "toolchain", "install"], root, env)
    go = Path(output([str(BIN / "gobuild"), "toolchain", "path"], root, env).strip()) / "bin" / "go"
    run([*git, "add", "-A"], root, env)
    run([*git, "commit", "-qm", "bench"], root, env)
    run([*git, "tag", "v9.9.9"], root, env)
    return root, go


def baseline(root: Path, go: Path, env: dict[str, str], out: Path) -> float:
    total = 0.0
    for target in TARGETS:
        goos, goarch = target.split("/")
        argv = [str(go), "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o",
                str(out / f"x_{goos}_{goarch}"), "."]  # fmt: skip
        total += run(argv, root, {**env, "GOOS": goos, "GOARCH": goarch, "CGO_ENABLED": "0"})
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", default="github.com/junegunn/fzf@v0.65.2")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-release-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "GOBUILD_CACHE": str(work / "cache"), "GOCACHE": str(work / "gocache"),
               "GOMODCACHE": str(work / "modcache"), "GOFLAGS": "", "GOTOOLCHAIN": "local",
               "GOPROXY": os.environ.get("GOPROXY", "https://proxy.golang.org")}  # fmt: skip
        # Any Go fetches the module; the pinned one (installed by gobuild) builds it.
        system_go = shutil.which("go") or "/usr/local/go/bin/go"
        root, go = prepare(work, args.module, env, system_go)
        out = work / "plain"
        out.mkdir()
        baseline(root, go, env, out)  # warm: every target's packages compiled once
        run([str(BIN / "doit"), "-n", "2", "release", "--snapshot"], root, env)
        sides: dict[str, list[float]] = {"go_build_x4": [], "doit_release": [], "dist": [],
                                          "release_stage": []}  # fmt: skip
        for _ in range(args.rounds):
            sides["go_build_x4"].append(baseline(root, go, env, out))
            shutil.rmtree(root / "dist")
            sides["doit_release"].append(
                run([str(BIN / "doit"), "-n", "2", "release", "--snapshot"], root, env)
            )
            shutil.rmtree(root / "dist")
            sides["dist"].append(run([str(BIN / "doit"), "-n", "2", "dist"], root, env))
            sides["release_stage"].append(
                run([str(BIN / "doit"), "release", "--snapshot"], root, env)
            )
        medians = {k: round(statistics.median(v), 3) for k, v in sides.items()}
        released = sorted(p.name for p in (root / "dist" / "release").iterdir())
    result = {
        "module": args.module,
        "go": GO_VERSION,
        "targets": list(TARGETS),
        "rounds": args.rounds,
        "median_seconds": medians,
        "ratio_release_vs_go_build_x4": round(medians["doit_release"] / medians["go_build_x4"], 3),
        "artifacts": released,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

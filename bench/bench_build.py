"""doit build/dist against plain go build, on a generated module of ~1,500 Go files.

Run: python bench/bench_build.py [--rounds N]
  noop:  `doit build` with nothing changed vs `go build` (same argv/env) with nothing changed
         (target <= 1.0x)
  clean: `doit build` vs plain `go build` with the same flags, each from an empty GOCACHE
         (target <= 1.1x)
  dist:  `doit -n 2 dist` vs `doit -n 1 dist` for four platforms, empty GOCACHE each
Rounds alternate the two sides; medians and ratios are printed as JSON.
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

from gobuild.builds.plan import host_plans  # noqa: E402
from gobuild.builds.run import values_for  # noqa: E402
from gobuild.project.config import load_project  # noqa: E402
from gobuild.toolchain.install import ensure, request_for  # noqa: E402
from tests import godist  # noqa: E402
from tests.mirror import MirrorServer  # noqa: E402

BIN = Path(sys.executable).parent
PACKAGES, FILES = 30, 50  # 1,500 files plus main


def generate(root: Path, mirror: str) -> None:
    root.mkdir(parents=True)
    (root / "go.mod").write_text("module example.com/big\n\ngo 1.22\n")
    imports = []
    for p in range(PACKAGES):
        pkg = root / "pkg" / f"p{p:02d}"
        pkg.mkdir(parents=True)
        for f in range(FILES):
            body = f"\ts := 0\n\tfor i := 0; i < x; i++ {{\n\t\ts += i * {f + 1}\n\t}}\n"
            (pkg / f"f{f:02d}.go").write_text(
                f"package p{p:02d}\n\n// F{f} returns a number.\nfunc F{f}(x int) int {{\n"
                f"{body}\treturn s\n}}\n"
            )
        imports.append(f'\tp{p:02d} "example.com/big/pkg/p{p:02d}"')
    calls = "\n".join(f"\tt += p{p:02d}.F0(3)" for p in range(PACKAGES))
    (root / "main.go").write_text(
        'package main\n\nimport (\n\t"fmt"\n\n' + "\n".join(imports) + "\n)\n\n"
        'var version = "dev"\n\nfunc main() {\n\tt := 0\n'
        + calls
        + "\n\tfmt.Println(version, t)\n}\n"
    )
    (root / "gobuild.toml").write_text(
        f'[go]\nversion = "1.22.10"\n[toolchain]\nsources = ["official"]\nmirror = "{mirror}"\n'
        '[dist]\nplatforms = ["linux/amd64", "linux/arm64", "darwin/arm64", "windows/amd64"]\n'
    )
    (root / "dodo.py").write_text("from gobuild.dodo import *  # noqa: F403\n")
    (root / ".gitignore").write_text("/.gobuild/\n/dist/\n")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@x.invalid",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@x.invalid",
    }
    subprocess.run(
        [str(BIN / "gobuild"), "-C", str(root), "toolchain", "install"],
        check=True,
        capture_output=True,
    )
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "big"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True)


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    # Installed wheels ship .pyc files; let this editable checkout cache them too,
    # so start-up is measured as users see it.
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    t = time.perf_counter()
    subprocess.run(
        argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dist-rounds", type=int, default=2)
    args = parser.parse_args()
    results: dict[str, object] = {"files": PACKAGES * FILES + 1}
    with MirrorServer() as mirror, tempfile.TemporaryDirectory() as tmp:
        mirror.add("1.22.10", godist.real_archive("1.22.10"))
        work = Path(tmp)
        os.environ["GOBUILD_CACHE"] = str(work / "toolchains")
        root = work / "big"
        generate(root, mirror.url)
        project = load_project(root)
        installed = ensure(request_for(project)).installed
        (plan,) = host_plans(project, str(installed.version))
        values, _ = values_for(project, installed)
        go_argv = plan.argv(str(installed.go), values, output=str(work / "plain-out"))
        doit = [str(BIN / "doit"), "build"]

        def env(gocache: Path) -> dict[str, str]:
            base = plan.environ(installed.goroot, {**os.environ, "GOCACHE": str(gocache)})
            return base

        def fresh(name: str) -> Path:
            path = work / name
            shutil.rmtree(path, ignore_errors=True)
            return path

        # clean builds, each from an empty GOCACHE
        clean_doit, clean_go = [], []
        for i in range(max(2, args.rounds // 2)):
            shutil.rmtree(root / "dist", ignore_errors=True)
            shutil.rmtree(root / ".gobuild", ignore_errors=True)
            clean_doit.append(timed(doit, root, {**os.environ, "GOCACHE": str(fresh(f"c-d{i}"))}))
            clean_go.append(timed(go_argv, root, env(fresh(f"c-g{i}"))))
        # no-op: warm caches, nothing changed
        warm = work / "c-d0"
        timed(doit, root, {**os.environ, "GOCACHE": str(warm)})
        timed(go_argv, root, env(warm))
        noop_doit, noop_go = [], []
        for _ in range(args.rounds):
            noop_doit.append(timed(doit, root, {**os.environ, "GOCACHE": str(warm)}))
            noop_go.append(timed(go_argv, root, env(warm)))
        # dist: parallel vs serial, empty GOCACHE each
        par: list[float] = []
        ser: list[float] = []
        for i in range(args.dist_rounds):
            for n, into in (("2", par), ("1", ser)):
                shutil.rmtree(root / "dist", ignore_errors=True)
                shutil.rmtree(root / ".gobuild", ignore_errors=True)
                cache = fresh(f"d-{n}-{i}")
                into.append(
                    timed(
                        [str(BIN / "doit"), "-n", n, "dist"],
                        root,
                        {**os.environ, "GOCACHE": str(cache)},
                    )
                )

    def med(xs: list[float]) -> float:
        return round(statistics.median(xs), 3)

    results.update(
        {
            "noop_doit_s": med(noop_doit),
            "noop_go_s": med(noop_go),
            "noop_ratio": round(med(noop_doit) / med(noop_go), 3),
            "clean_doit_s": med(clean_doit),
            "clean_go_s": med(clean_go),
            "clean_ratio": round(med(clean_doit) / med(clean_go), 3),
            "dist_parallel_s": med(par),
            "dist_serial_s": med(ser),
            "dist_parallel_vs_serial": round(med(par) / med(ser), 3),
        }
    )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

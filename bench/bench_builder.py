"""`doit image` on a fresh remote BuildKit daemon: cold vs from the registry cache.

Run: python bench/bench_builder.py [--rounds N] [--dir DIR] [--module PATH@VERSION]
On a real public Go module with dependencies (default junegunn/fzf v0.65.2, a small CLI
with a handful of modules to download), checked out from the Go module proxy as
bench_overlap checks modules out (`gobuild init`, Go 1.27.3), with `[docker] cache`
naming a repository on a loopback registry and `[docker] builder_tls` a client
certificate; each build is `doit image` with BUILDKIT_HOST naming a buildkitd on
loopback TCP with mutual TLS (tests/buildkitenv.py), each started with an empty state
directory:

  cold:    a fresh daemon, the cache repository empty (its manifest deleted): every
           step runs, modules come from the proxy, the go build starts from nothing
  rebuild: another fresh daemon, the cache the cold build exported (mode=max):
           target <= 0.3x cold

Both include everything `doit image` does (gitinfo, the build, `docker load` into the
engine, the checks and the smoke run). The base images (stand-ins made by
tests/dockerenv.py) come from a second loopback registry. Each round is one cold and
one rebuild; medians and the median of the per-round ratios are printed as JSON, with
what the rebuild's report said about the cache (every Dockerfile step cached). The
pinned buildctl is built or found by gobuild before the first round (and recorded in
gobuild.lock, committed: the tree stays clean, so both builds get the same VERSION).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_overlap import (  # noqa: E402
    BIN,
    GIT,
    GO_VERSION,
    checkout,
    default_proxy,
    run,
    workdir,
)
from gobuild.progress import Silent  # noqa: E402
from gobuild.project.config import load_project  # noqa: E402
from gobuild.tools.install import ensure_tool  # noqa: E402
from tests import buildkitenv, dockerenv, godist, registryenv  # noqa: E402
from tests.netproxy import TestCA  # noqa: E402

MODULE = "github.com/junegunn/fzf@v0.65.2"
ALPINE = "3.20"


def push_bases(registry: registryenv.Registry) -> list[str]:
    """The stand-in golang (the pinned Go) and alpine images, pushed from the engine."""
    golang = dockerenv.ensure_golang(GO_VERSION, ALPINE)
    alpine = dockerenv.ensure_alpine(ALPINE)
    pushed = []
    for image in (golang, alpine):
        target = f"{registry.host}/{image}"
        dockerenv.docker("tag", image, target)
        dockerenv.docker("push", target)
        pushed.append(target)
    return pushed


def forget_cache(registry: registryenv.Registry, repo: str, tag: str) -> None:
    """Delete the cache's manifest, so the next import finds nothing (a cold build)."""
    if tag not in registryenv.tags(registry, repo):
        return
    _, _, digest = registryenv.manifest(registry, repo, tag)
    response = registryenv.request(registry, "DELETE", f"/v2/{repo}/manifests/{digest}")
    if response.status != 202:
        raise RuntimeError(f"DELETE {repo}@{digest}: {response.status}")


def image(root: Path, env: dict[str, str]) -> tuple[float, dict[str, str]]:
    """`doit image` in ``root``: its wall time and its report's lines by first word."""
    started = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "doit"), "image"], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"doit image: exit {done.returncode}\n{done.stdout}\n{done.stderr}")
    lines = [ln.split(None, 1) for ln in done.stdout.splitlines() if ln[:1].isalpha()]
    return seconds, {pair[0]: pair[1] for pair in lines if len(pair) == 2}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to work (default TMPDIR)")
    parser.add_argument("--module", default=MODULE, help="PATH@VERSION from the module proxy")
    args = parser.parse_args()
    for reason in (dockerenv.unavailable(), registryenv.unavailable()):
        if reason:
            sys.exit(f"bench_builder: {reason}")
    binaries = buildkitenv.ensure_buildkit(
        buildkitenv.cache_root(),
        go=lambda scratch: buildkitenv.extract_go(
            godist.real_archive(buildkitenv.GO_VERSION), scratch
        ),
    )
    reason = buildkitenv.unavailable(binaries)
    if reason:
        sys.exit(f"bench_builder: {reason}")
    module, version = args.module.split("@")
    cold: list[float] = []
    warm: list[float] = []
    ratios: list[float] = []
    caches: list[str] = []
    with workdir(args.dir) as work:
        ca = TestCA(work / "ca", name="bench buildkit ca")
        client = buildkitenv.client_tls(ca, "bench", work / "client")
        with (
            registryenv.Registry(work / "bases") as bases,
            registryenv.Registry(work / "caches") as caches_registry,
        ):
            pushed = push_bases(bases)
            ref = f"{caches_registry.host}/cache/bench:main"
            name = "gobuild-bench/" + module.rsplit("/", 1)[-1]
            extra = (
                f'[docker]\nname = "{name}"\ngo_image = "{bases.host}/golang"\n'
                f'runtime_image = "{bases.host}/alpine"\nalpine_version = "{ALPINE}"\n'
                f'builder_tls = "{client.directory}"\ncache = "{ref}"\n'
                'smoke_args = ["--version"]\n'
            )
            root = work / "module"
            checkout(default_proxy(work), module, version, root, extra)
            run([str(BIN / "gobuild"), "generate"], root)
            # The pinned buildctl, built (or found) now and recorded in gobuild.lock.
            buildctl = ensure_tool(load_project(root), "buildctl", Silent())
            run([*GIT, "add", "-A"], root)
            run([*GIT, "commit", "-qm", "generated, buildctl pinned"], root)
            made: set[str] = set()
            try:
                for i in range(args.rounds):
                    forget_cache(caches_registry, "cache/bench", "main")
                    with buildkitenv.Buildkitd(binaries, work / f"cold-{i}", ca=ca) as daemon:
                        env = {**os.environ, "BUILDKIT_HOST": daemon.address}
                        seconds, report = image(root, env)
                    cold.append(seconds)
                    made.add(report["image"].split()[0])
                    if "nothing to import yet" not in report.get("cache", ""):
                        raise RuntimeError(f"the cold build imported a cache: {report}")
                    with buildkitenv.Buildkitd(binaries, work / f"warm-{i}", ca=ca) as daemon:
                        if daemon.cache_records():
                            raise RuntimeError("a fresh daemon has cache records")
                        env = {**os.environ, "BUILDKIT_HOST": daemon.address}
                        seconds, report = image(root, env)
                    warm.append(seconds)
                    ratios.append(seconds / cold[-1])
                    caches.append(report.get("cache", ""))
                    print(
                        f"round {i + 1}: cold {cold[-1]:.1f}s, rebuild {seconds:.1f}s "
                        f"({ratios[-1]:.3f}x) {caches[-1]}",
                        file=sys.stderr,
                    )
            finally:
                dockerenv.remove_images(*made, *pushed)
    result = {
        "module": args.module,
        "go": GO_VERSION,
        "buildctl": str(buildctl.path),
        "buildkit": buildkitenv.VERSION,
        "cold_s": round(statistics.median(cold), 2),
        "rebuild_s": round(statistics.median(warm), 2),
        "rebuild_vs_cold": round(statistics.median(ratios), 3),
        "ratios": [round(r, 3) for r in ratios],
        "rebuild_cache": caches,
        "rounds": args.rounds,
        "target": "<= 0.3",
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

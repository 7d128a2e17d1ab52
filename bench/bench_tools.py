"""Pinned tools: each default pin's cold build; a warm `doit lint` vs the tools run directly.

Run: python bench/bench_tools.py [--rounds N] [--dir DIR] [--skip-cold]
On a real module with dependencies (github.com/spf13/cobra v1.10.2, fetched from the Go
module proxy), pinned to Go 1.27.3 (which every default pin's go.mod allows):

  cold:  each tool of gobuild's default [tools] pins (golangci-lint, staticcheck,
         gotestsum, govulncheck, benchstat) built by gobuild.tools.install from an empty
         tool cache and an empty GOCACHE (the module cache is shared: downloads are not
         what is measured); seconds each
  lint:  `doit lint` with [checks] linters = vet, gofmt, staticcheck, golangci-lint,
         warm (tools built, analysis caches warm) vs the same unit commands run directly
         one after another with the environment gobuild gives them (target <= 1.05x)
Rounds alternate which side goes first; medians of each round's ratio are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_overlap import GIT, default_proxy, fetch_module  # type: ignore[import-not-found]  # noqa: E402

from gobuild.builds.goenv import go_environ  # noqa: E402
from gobuild.checks.plan import plan_checks  # noqa: E402
from gobuild.checks.run import find_tools  # noqa: E402
from gobuild.project.config import load_project  # noqa: E402
from gobuild.project.toolpins import TOOL_NAMES  # noqa: E402
from gobuild.tools.install import ensure_tool  # noqa: E402

BIN = Path(sys.executable).parent
MODULE = ("github.com/spf13/cobra", "v1.10.2")
GO_VERSION = "1.27.3"
LINTERS = '["vet", "gofmt", "staticcheck", "golangci-lint"]'
TARGET = 1.05


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(argv, cwd=cwd, env=env, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {done.returncode}\n{done.stderr[-2000:]}")


def prepare(work: Path) -> Path:
    """The module, committed, with gobuild.toml from `gobuild init`, pinned and linted."""
    root = work / "module"
    root.mkdir()
    fetch_module(default_proxy(work), *MODULE, root)
    run(["git", "init", "-q"], root)
    run([*GIT, "add", "-A"], root)
    run([*GIT, "commit", "-qm", "module"], root)
    run([str(BIN / "gobuild"), "init"], root)
    config = root / "gobuild.toml"
    text = re.sub(r'(?m)^version = ".*"$', f'version = "{GO_VERSION}"', config.read_text(), count=1)
    if "\n[checks]\n" in text:
        text = text.replace("\n[checks]\n", f"\n[checks]\nlinters = {LINTERS}\n", 1)
    else:
        text += f"\n[checks]\nlinters = {LINTERS}\n"
    config.write_text(text)
    run([*GIT, "add", "-A"], root)
    run([*GIT, "commit", "-qm", "gobuild"], root)
    return root


def cold_builds(root: Path, work: Path) -> dict[str, float]:
    """Each default pin built from an empty tool cache and GOCACHE; seconds each."""
    times: dict[str, float] = {}
    for name in TOOL_NAMES:
        cache = work / f"cold-{name}"
        # The toolchain is shared (linked in); the tools folder and GOCACHE start empty.
        cache.mkdir(parents=True, exist_ok=True)
        real = load_project(root).cache_dir
        for entry in ("toolchains", "locks", "sumdb"):
            if (real / entry).exists() and not (cache / entry).exists():
                (cache / entry).symlink_to(real / entry)
        with _environ(GOBUILD_CACHE=str(cache), GOCACHE=str(work / f"gocache-{name}")):
            project = load_project(root)
            start = time.perf_counter()
            ensure_tool(project, name)
            times[name] = time.perf_counter() - start
    return times


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def direct(root: Path) -> float:
    """The lint units' commands, one after another, as gobuild would start them."""
    project = load_project(root)
    plan = plan_checks(project, ("lint",))
    goroot = Path(plan.goroot)
    base = go_environ(goroot, project.env.variables, scrub=plan.scrubbed)
    tools = find_tools(goroot, dict(plan.tools))
    start = time.perf_counter()
    for unit in plan.units:
        argv = [tools[unit.argv[0]], *unit.argv[1:]]
        subprocess.run(argv, cwd=root / unit.dir, env={**base, **dict(unit.env)},
                       capture_output=True, check=False)  # fmt: skip
    return time.perf_counter() - start


def doit_lint(root: Path) -> float:
    start = time.perf_counter()
    subprocess.run([str(BIN / "doit"), "lint"], cwd=root, capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", help="where the temporary directory goes (default: TMPDIR)")
    parser.add_argument("--skip-cold", action="store_true", help="only the warm comparison")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-tools-", dir=args.dir))
    try:
        root = prepare(work)
        if not args.skip_cold:
            for name, seconds in cold_builds(root, work).items():
                spec = load_project(root).tool_pin(name).spec
                print(f"cold build  {name:14} {seconds:6.1f}s  ({spec})", flush=True)
        doit_lint(root)  # builds what is missing, warms the caches
        direct(root)
        ratios: list[float] = []
        sides: dict[str, list[float]] = {"doit": [], "direct": []}
        for i in range(args.rounds):
            if i % 2:
                d, g = direct(root), doit_lint(root)
            else:
                g, d = doit_lint(root), direct(root)
            sides["doit"].append(g)
            sides["direct"].append(d)
            ratios.append(g / d)
        med = statistics.median(ratios)
        verdict = "met" if med <= TARGET else "NOT met"
        shown = " ".join(f"{r:.2f}" for r in ratios)
        print(f"warm lint   doit {statistics.median(sides['doit']):.2f}s  direct "
              f"{statistics.median(sides['direct']):.2f}s  ratio {med:.3f}x "
              f"(target <= {TARGET}x: {verdict}; rounds {shown})")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""`doit release --snapshot` against `go build` of the same four targets, one after another,
and GoReleaser's `release --snapshot` beside them.

Run: python bench/bench_release.py [--module PATH@VERSION] [--rounds N]
                                   [--goreleaser BINARY | --no-goreleaser]
A real module with dependencies (github.com/junegunn/fzf by default) is fetched from the
module proxy, committed and tagged, with Go 1.27.3 (the toolchain the real proxy serves).
Every side runs with GOENV=off (as gobuild's builds do: a user go env file, with its
GOFLAGS=-buildvcs=false say, would otherwise reach the plain go builds and GoReleaser's).
Each round starts every side from the same warm GOCACHE (the four targets' packages
compiled once, and one warm-up run of each side, before the rounds), so the comparison is
what each does on top of the compiler's cache:

  baseline:   four `go build -trimpath -ldflags=-s -w -buildid=` (linux/amd64, linux/arm64,
              darwin/arm64, windows/amd64) one after another
  release:    `rm -rf dist; doit -n 2 release --snapshot` (dist, then archives, SBOMs,
              SHA256SUMS, release.json), and its stages timed apart: `doit -n 2 dist`, then
              `doit release --snapshot` with dist up to date, and that stage again with
              `[release] image = true` on scratch (the OCI image index of the linux binaries)
  goreleaser: `goreleaser release --snapshot --clean --skip=publish,sign,sbom,docker -p 2`
              in a copy of the checkout (its own .goreleaser.yml left alone; the bench's
              config, kept out of `git status` by .git/info/exclude, passed with -f): the
              same binary, platforms, -trimpath, CGO_ENABLED=0 and ldflags as gobuild's dist
              (so the same binaries, which the result checks), tar.gz archives (zip for
              windows) of the binary, LICENSE* and README*, a SHA256SUMS; no SBOMs (syft is
              not here), which doit's side does write. The Go on PATH is the pinned one.
              The timestamps are set as GoReleaser's reproducible-builds docs say
              (mod_timestamp, builds_info and files mtime: the commit time).

GoReleaser is GORELEASER@GORELEASER_VERSION (the newest release on the proxy; its go.mod
asks for go 1.27.1), built once with the pinned Go (`go install`, GOTOOLCHAIN=local,
GOFLAGS=-mod=mod, a GOPATH of its own under the work directory; 4 to 7 minutes and 1.6 GB
of RAM on these 2 shared cores) into ~/.cache/gobuild-bench (XDG_CACHE_HOME); `--goreleaser BINARY`
takes one instead. When it cannot be built or run, its side is skipped with the reason.

Medians of the rounds and the ratios against the baseline are printed as JSON, with the
archives' reproducibility: the distinct sha256 sets of each side's archives over its runs
(1: reproducible), and GoReleaser's over two runs without the timestamp settings.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

BIN = Path(sys.executable).parent
GO_VERSION = "1.27.3"  # the one toolchain zip the real proxy serves here
TARGETS = ("linux/amd64", "linux/arm64", "darwin/arm64", "windows/amd64")
GORELEASER = "github.com/goreleaser/goreleaser/v2"
GORELEASER_VERSION = "v2.18.2"
# GoReleaser's target names carry the default GOAMD64/GOARM64 level.
GORELEASER_LEVEL = {"amd64": "_v1", "arm64": "_v8.0"}
# Template of each value gobuild stamps with -X (its dist records' "embedded" keys).
GORELEASER_X = {"version": "{{ .Tag }}", "commit": "{{ .FullCommit }}",
                "date": "{{ .CommitDate }}", "tree_state": "{{ .GitTreeState }}"}  # fmt: skip
ARCHIVES = ("*.tar.gz", "*.zip")


# The release stage with its image: an OCI index of the linux binaries on scratch
# (the layers written by the release archiver), the base needing no registry.
IMAGE_CONFIG = '\n[release]\nimage = true\n\n[docker]\nruntime = "scratch"\n'


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


def digests(folder: Path) -> dict[str, str]:
    """sha256 of each archive (tar.gz, zip) directly in ``folder``, by name."""
    paths = sorted(p for pattern in ARCHIVES for p in folder.glob(pattern))
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def distinct(runs: list[dict[str, str]]) -> dict[str, object]:
    """How many runs, and how many distinct archive sets they made (1: reproducible)."""
    sets = {json.dumps(r, sort_keys=True) for r in runs}
    return {"runs": len(runs), "distinct": len(sets), "reproducible": len(sets) == 1}


def goreleaser_binary(option: str | None, go: Path, work: Path,
                      env: dict[str, str]) -> tuple[Path | None, dict[str, object]]:  # fmt: skip
    """The GoReleaser to run, and what the result says of it; None with the reason when
    there is none (`go install` failed, or the binary does not run)."""
    info: dict[str, object] = {}
    if option:
        binary = Path(option)
    else:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        folder = cache / "gobuild-bench" / f"goreleaser-{GORELEASER_VERSION}"
        binary = folder / "goreleaser"
        if not binary.exists():
            gopath = work / "goreleaser-gopath"
            folder.parent.mkdir(parents=True, exist_ok=True)
            gobin = Path(tempfile.mkdtemp(prefix=".partial-", dir=folder.parent))
            benv = {**env, "GOPATH": str(gopath), "GOMODCACHE": str(gopath / "pkg" / "mod"),
                    "GOCACHE": str(work / "goreleaser-gocache"), "GOBIN": str(gobin),
                    "GOFLAGS": "-mod=mod -modcacherw", "GOTOOLCHAIN": "local"}  # fmt: skip
            argv = [str(go), "install", f"{GORELEASER}@{GORELEASER_VERSION}"]
            print(f"building {GORELEASER}@{GORELEASER_VERSION} with go{GO_VERSION}...",
                  file=sys.stderr)  # fmt: skip
            start = time.perf_counter()
            res = subprocess.run(argv, cwd=work, env=benv, check=False, capture_output=True,
                                 text=True)  # fmt: skip
            info["build_seconds"] = round(time.perf_counter() - start, 1)
            if res.returncode != 0:
                shutil.rmtree(gobin, ignore_errors=True)
                tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-15:])
                info["skipped"] = f"{' '.join(argv)}: exit {res.returncode}: {tail}"
                return None, info
            folder.mkdir(exist_ok=True)
            (gobin / "goreleaser").replace(binary)
            gobin.rmdir()
    info["binary"] = str(binary)
    try:
        shown = output([str(binary), "--version"], work, env)
    except (OSError, subprocess.CalledProcessError) as exc:
        info["skipped"] = f"{binary} --version: {exc}"
        return None, info
    found = re.search(r"GitVersion:\s*(\S+)", shown)
    info["version"] = found.group(1) if found else shown.strip()
    return binary, info


def goreleaser_config(root: Path, go_version: str, reproducible: bool) -> str:
    """A .goreleaser.yaml doing what gobuild's dist and release do: one build of the
    first [[binaries]], the dist platforms, gobuild's flags and ldflags (each -X value
    its GoReleaser template), archives of the binary with LICENSE* and README*."""
    binary = tomllib.loads((root / "gobuild.toml").read_text())["binaries"][0]
    record = json.loads((root / "dist" / f"{binary['name']}_linux_amd64.json").read_text())
    ldflags = next(a for a in record["argv"] if a.startswith("-ldflags="))
    embedded = record["embedded"]
    templates = {embedded[k]: v for k, v in GORELEASER_X.items() if k in embedded}
    flags = [
        f"{m.group(1)}{templates.get(m.group(2), m.group(2))}"
        if (m := re.fullmatch(r"(-X=[^=]+=)(.*)", word)) else word
        for word in ldflags.removeprefix("-ldflags=").split()
    ]  # fmt: skip
    assert embedded.get("go_version", f"go{go_version}") == f"go{go_version}", embedded
    targets = ", ".join(
        f"{t.replace('/', '_')}{GORELEASER_LEVEL.get(t.split('/')[1], '')}" for t in TARGETS
    )
    # GoReleaser's reproducible-builds settings: every timestamp the commit's.
    mtime = '"{{ .CommitDate }}"'
    stamp = ['    mod_timestamp: "{{ .CommitTimestamp }}"'] if reproducible else []
    owner = f"owner: root, group: root, mtime: {mtime}"
    builds_info = [f"    builds_info: {{mode: 0755, {owner}}}"] if reproducible else []
    files = ["    files:"]
    for pattern in ("LICENSE*", "README*"):
        files.append(f'      - src: "{pattern}"')
        files += [f"        info: {{mode: 0644, {owner}}}"] if reproducible else []
    lines = [
        "version: 2",
        f"project_name: {binary['name']}",
        "builds:",
        f"  - id: {binary['name']}",
        f"    binary: {binary['name']}",
        f"    main: {binary.get('package', '.')}",
        "    env: [CGO_ENABLED=0]",
        "    flags: [-trimpath]",
        "    ldflags:",
        f"      - {' '.join(flags)}",
        *stamp,
        f"    targets: [{targets}]",
        "archives:",
        "  - formats: [tar.gz]",
        "    format_overrides:",
        "      - goos: windows",
        "        formats: [zip]",
        '    name_template: "{{ .ProjectName }}_{{ .Version }}_{{ .Os }}_{{ .Arch }}"',
        *builds_info,
        *files,
        "checksum:",
        "  name_template: SHA256SUMS",
        "  algorithm: sha256",
        "snapshot:",
        '  version_template: "{{ .Version }}"',
        "changelog:",
        "  disable: true",
    ]
    return "\n".join(lines) + "\n"


def goreleaser_checkout(root: Path, work: Path, module: str, env: dict[str, str]) -> Path:
    """A copy of the committed checkout (before any dist) for GoReleaser to run in.

    With a remote (never contacted): without one GoReleaser's git step fails, which a
    snapshot ignores, going on as v0.0.0 with no commit (its time: now)."""
    copy = work / "goreleaser-module"
    shutil.copytree(root, copy, symlinks=True, ignore=shutil.ignore_patterns("dist"))
    url = "https://" + module.partition("@")[0]
    run(["git", "remote", "add", "origin", url], copy, env)
    with (copy / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write("\n/.goreleaser.yaml\n/.goreleaser-defaults.yaml\n")
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", default="github.com/junegunn/fzf@v0.65.2")
    parser.add_argument("--rounds", type=int, default=3)
    side = parser.add_mutually_exclusive_group()
    side.add_argument(
        "--goreleaser",
        metavar="BINARY",
        help=f"a goreleaser to run (default: {GORELEASER_VERSION}, built once)",
    )
    side.add_argument("--no-goreleaser", action="store_true", help="leave GoReleaser out")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-release-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "GOBUILD_CACHE": str(work / "cache"), "GOCACHE": str(work / "gocache"),
               "GOMODCACHE": str(work / "modcache"), "GOFLAGS": "", "GOTOOLCHAIN": "local",
               "GOENV": "off",
               "GOPROXY": os.environ.get("GOPROXY", "https://proxy.golang.org")}  # fmt: skip
        # Any Go fetches the module; the pinned one (installed by gobuild) builds it.
        system_go = shutil.which("go") or "/usr/local/go/bin/go"
        root, go = prepare(work, args.module, env, system_go)
        goreleaser: Path | None = None
        gr_info: dict[str, object] = {"skipped": "--no-goreleaser"}
        if not args.no_goreleaser:
            goreleaser, gr_info = goreleaser_binary(args.goreleaser, go, work, env)
            if goreleaser is None:
                print(f"goreleaser: skipped: {gr_info['skipped']}", file=sys.stderr)
        gr_root = goreleaser_checkout(root, work, args.module, env) if goreleaser else None
        # GoReleaser runs the go command it finds on PATH: the pinned one.
        gr_env = {**env, "PATH": f"{go.parent}{os.pathsep}{env.get('PATH', '')}"}
        gr_argv = [str(goreleaser), "release", "--snapshot", "--clean", "-p", "2",
                   "--skip=publish,sign,sbom,docker", "-f", ".goreleaser.yaml"]  # fmt: skip
        out = work / "plain"
        out.mkdir()
        baseline(root, go, env, out)  # warm: every target's packages compiled once
        run([str(BIN / "doit"), "-n", "2", "release", "--snapshot"], root, env)
        release_runs = [digests(root / "dist" / "release")]
        gr_runs: list[dict[str, str]] = []
        if gr_root is not None:
            config = goreleaser_config(root, GO_VERSION, reproducible=True)
            (gr_root / ".goreleaser.yaml").write_text(config)
            run(gr_argv, gr_root, gr_env)  # warm-up
            gr_runs.append(digests(gr_root / "dist"))
        names = ("go_build_x4", "doit_release", "dist", "release_stage", "release_stage_image",
                 "goreleaser_release")  # fmt: skip
        plain_config = (root / "gobuild.toml").read_text()
        image_config = plain_config + IMAGE_CONFIG
        sides: dict[str, list[float]] = {name: [] for name in names}
        for _ in range(args.rounds):
            sides["go_build_x4"].append(baseline(root, go, env, out))
            shutil.rmtree(root / "dist")
            sides["doit_release"].append(
                run([str(BIN / "doit"), "-n", "2", "release", "--snapshot"], root, env)
            )
            release_runs.append(digests(root / "dist" / "release"))
            shutil.rmtree(root / "dist")
            sides["dist"].append(run([str(BIN / "doit"), "-n", "2", "dist"], root, env))
            sides["release_stage"].append(
                run([str(BIN / "doit"), "release", "--snapshot"], root, env)
            )
            release_runs.append(digests(root / "dist" / "release"))
            # The same stage writing the image index too (on scratch: no registry here).
            (root / "gobuild.toml").write_text(image_config)
            sides["release_stage_image"].append(
                run([str(BIN / "doit"), "release", "--snapshot"], root, env)
            )
            (root / "gobuild.toml").write_text(plain_config)
            if gr_root is not None:
                sides["goreleaser_release"].append(run(gr_argv, gr_root, gr_env))
                gr_runs.append(digests(gr_root / "dist"))
        reproducible = {"doit_release": distinct(release_runs)}
        if gr_root is not None:
            reproducible["goreleaser"] = distinct(gr_runs)
            # The same binaries as gobuild's dist (GoReleaser's are dist/ID_OS_ARCH_LEVEL/).
            ours = {json.loads(p.read_text())["sha256"] for p in (root / "dist").glob("*.json")}
            theirs = {hashlib.sha256(p.read_bytes()).hexdigest()
                      for p in (gr_root / "dist").glob("*_*/*") if p.is_file()}  # fmt: skip
            gr_info["same_binaries_as_dist"] = ours == theirs
            gr_info["same_archive_names"] = set(gr_runs[-1]) == set(release_runs[-1])
            # Without the timestamp settings: GoReleaser's defaults, two runs.
            defaults = goreleaser_config(root, GO_VERSION, reproducible=False)
            (gr_root / ".goreleaser-defaults.yaml").write_text(defaults)
            argv = [*gr_argv[:-1], ".goreleaser-defaults.yaml"]
            runs = []
            for _ in range(2):
                run(argv, gr_root, gr_env)
                runs.append(digests(gr_root / "dist"))
            reproducible["goreleaser_default_timestamps"] = distinct(runs)
        medians = {k: round(statistics.median(v), 3) for k, v in sides.items() if v}
        released = sorted(p.name for p in (root / "dist" / "release").iterdir())
    ratios = {f"ratio_{k}_vs_go_build_x4": round(medians[k] / medians["go_build_x4"], 3)
              for k in ("doit_release", "goreleaser_release") if k in medians}  # fmt: skip
    result = {
        "module": args.module,
        "go": GO_VERSION,
        "targets": list(TARGETS),
        "rounds": args.rounds,
        "median_seconds": medians,
        "ratio_release_vs_go_build_x4": ratios["ratio_doit_release_vs_go_build_x4"],
        **{k: v for k, v in ratios.items() if "goreleaser" in k},
        "goreleaser": gr_info,
        "reproducible_archives": reproducible,
        "artifacts": released,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

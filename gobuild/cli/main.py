"""The command line: the only place that prints or decides exit codes.

Exit codes: 0 success, 1 user error (one line, no traceback), 3 unexpected
error (a bug: traceback shown), 130 Ctrl-C. ``gobuild go`` returns go's own code.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from gobuild import __version__
from gobuild.cli import memo
from gobuild.errors import GobuildError
from gobuild.progress import Reporter, Silent

if TYPE_CHECKING:
    from rich.progress import TaskID

    from gobuild.checks import run as checkjob
    from gobuild.project.config import Project
    from gobuild.toolchain import install as toolchain

# The configuration, planner and installer load on first use: a repeat
# `gobuild toolchain install` answered from gobuild.memo needs none of them.

EXIT_USER = 1
EXIT_BUG = 3
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="gobuild",
        description="Build orchestration for Go projects: pinned toolchains, reproducible builds.",
    )
    parser.add_argument("--version", action="version", version=f"gobuild {__version__}")
    parser.add_argument("-C", "--directory", type=Path, default=Path(), help="run as if in DIR")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", help="write gobuild.toml and dodo.py for this Go module")
    p.add_argument("--force", action="store_true", help="overwrite existing files")

    tc = sub.add_parser("toolchain", help="install, list and remove pinned Go toolchains")
    tsub = tc.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = tsub.add_parser("install", help="install the pinned Go (or VERSION)")
    p.add_argument("version", nargs="?", help="e.g. 1.22.10, 1.22, go1.22rc1")
    _output_flags(p)
    p = tsub.add_parser("list", help="installed versions, their sizes, and the project's")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = tsub.add_parser("remove", help="delete one installed version")
    p.add_argument("version")
    p = tsub.add_parser("path", help="print the GOROOT of the pinned Go (or VERSION)")
    p.add_argument("version", nargs="?")

    p = sub.add_parser("env", help="print the build environment as shell exports (eval them)")
    _output_flags(p)
    p.add_argument("--profile", help="show this profile's environment (default: the active one)")
    p = sub.add_parser(
        "generate", help="write Dockerfile, .dockerignore and Makefile from gobuild.toml and .lock"
    )
    p.add_argument(
        "--check", action="store_true", help="exit 1 if a generated file is stale or edited"
    )
    p.add_argument("--force", action="store_true", help="overwrite files edited by hand")
    p.add_argument("files", nargs="*", metavar="FILE", help="which files (default: all)")

    p = sub.add_parser(
        "context",
        help="what a docker build would send: files, bytes, and what .dockerignore kept out",
    )
    _output_flags(p)

    p = sub.add_parser(
        "check", help="run test/lint/bench concurrently within CPU and memory limits"
    )
    p.add_argument(
        "kinds", nargs="*", metavar="KIND", help="test, lint, bench (default: test lint)"
    )
    p.add_argument("--cpus", type=float, help="CPU budget (default: [checks] cpus, else the host)")
    p.add_argument("--memory", help="memory budget, e.g. 8GiB or 50%% (default: ~75%% of RAM)")
    p.add_argument(
        "--enforcement",
        choices=["auto", "cgroup2", "systemd-run", "cgroup1", "watchdog"],
        help="how caps are enforced (default: [checks] enforcement, auto)",
    )
    p.add_argument("--profile", help="the gobuild profile")
    p = sub.add_parser("bench", help="benchmark results")
    bsub = p.add_subparsers(dest="bench_command", required=True)
    p = bsub.add_parser("compare", help="per-benchmark deltas between two result files")
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)

    p = sub.add_parser("go", help="run the pinned go with ARGS", add_help=False)
    p.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _output_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print a JSON result")
    p.add_argument("-v", "--verbose", action="store_true", help="show per-stage timings")


def main(
    argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run gobuild with ``argv``; return the exit code (never raises, never exits)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        args = build_parser().parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_USER
    try:
        return _dispatch(args, out, err)
    except GobuildError as exc:
        print(f"gobuild: error: {exc}", file=err)
        return EXIT_USER
    except KeyboardInterrupt:
        print("gobuild: interrupted", file=err)
        return EXIT_INTERRUPTED
    except Exception:  # a bug: show everything
        import traceback  # noqa: PLC0415 - only for bugs

        print("gobuild: internal error (please report):", file=err)
        traceback.print_exc(file=err)
        return EXIT_BUG


def run() -> None:
    """Console-script entry point."""
    code = main()
    # All is written and closed: spare the interpreter its last full garbage collection
    # at exit (~8 ms, a sixth of a remembered `gobuild toolchain install`).
    gc.freeze()
    sys.exit(code)


def _dispatch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    cwd = args.directory.resolve()
    if args.command == "init":
        return _init(cwd, args.force, out)
    if _remembered_install(args):
        remembered = memo.lookup(cwd, os.environ)
        if remembered is not None:
            return _print_install(remembered, args, out)
    if args.command == "check":
        plan = memo.lookup_checks(cwd, os.environ, _check_args(args))
        if plan is not None:
            from gobuild.checks import run as checkjob  # noqa: PLC0415 - see the note at the top

            return _check_outcome(
                checkjob.run_planned(checkjob.CheckPlan.from_json(plan), out, err), err
            )
    from gobuild.project.config import load_project  # noqa: PLC0415 - see the note at the top

    project = load_project(cwd)
    handlers = {
        "toolchain": _toolchain,
        "env": _env,
        "generate": _generate,
        "go": _go,
        "context": _context,
        "check": _check,
        "bench": _bench,
    }
    return handlers[args.command](args, project, out, err)


def _init(cwd: Path, force: bool, out: TextIO) -> int:
    from gobuild.render import scaffold  # noqa: PLC0415 - Jinja2 only for init

    result = scaffold.init(cwd, force=force)
    for path in result.written:
        print(f"wrote {path}", file=out)
    pkgs = ", ".join(result.packages) or "none found"
    print(f"module {result.module}, Go {result.go_version}, main packages: {pkgs}", file=out)
    print("next: `doit list` shows the tasks; `doit build` builds", file=out)
    return 0


def _env(args: argparse.Namespace, project: Project, out: TextIO, err: TextIO) -> int:
    from gobuild.build import plan  # noqa: PLC0415 - see the note at the top
    from gobuild.toolchain import install as toolchain  # noqa: PLC0415

    project = project.with_profile(args.profile)
    goroot = _ensure(toolchain.request_for(project), err).installed.goroot
    exports = {"GOROOT": str(goroot), **plan.go_env(project)}
    if args.json:
        data = {**exports, "PATH_PREFIX": str(goroot / "bin"), "PROFILE": project.profile_name}
        print(json.dumps(data, indent=2, sort_keys=True), file=out)
        return 0
    print(f"# gobuild profile {project.profile_name}", file=out)
    for name, value in sorted(exports.items()):
        print(f"export {name}={shlex.quote(value)}", file=out)
    print(f'export PATH={shlex.quote(str(goroot / "bin"))}:"$PATH"', file=out)
    return 0


def _generate(args: argparse.Namespace, project: Project, out: TextIO, err: TextIO) -> int:
    from gobuild.render import generate  # noqa: PLC0415 - Jinja2 and the renderers only here

    names = tuple(args.files) or generate.GENERATORS
    outcomes = generate.generate(project, names, force=args.force, check=args.check)
    for o in outcomes:
        print(f"{o.state:<9} {o.path}", file=out)
    bad = [o for o in outcomes if o.state in ("stale", "edited", "missing")]
    if args.check and bad:
        print(
            f"gobuild: {len(bad)} generated file(s) out of date: run `gobuild generate`", file=err
        )
        return EXIT_USER
    return 0


def _context(args: argparse.Namespace, project: Project, out: TextIO, err: TextIO) -> int:
    from gobuild.image import context as buildcontext  # noqa: PLC0415 - loads the docker SDK

    rep = buildcontext.report(project)
    removed = sorted(rep.removed.items(), key=lambda kv: (-kv[1][1], kv[0]))
    if args.json:
        data = {
            "files": rep.files,
            "bytes": rep.bytes,
            "rules_from": rep.rules_from,
            "removed": [{"rule": r, "files": n, "bytes": b} for r, (n, b) in removed],
        }
        print(json.dumps(data, indent=2), file=out)
        return 0
    print(f"sent: {rep.files} files, {rep.bytes:,} bytes (rules: {rep.rules_from})", file=out)
    for rule, (files, size) in removed:
        print(f"  removed by {rule}: {files} files, {size:,} bytes", file=out)
    return 0


def _check_kinds(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(args.kinds) or ("test", "lint")  # bare `gobuild check`: as `doit check`


def _check_args(args: argparse.Namespace) -> list[str]:
    """What a remembered check plan is keyed by, besides the project's files."""
    return [
        ",".join(_check_kinds(args)),
        str(args.profile),
        str(args.cpus),
        str(args.memory),
        str(args.enforcement),
    ]


def _check(args: argparse.Namespace, project: Project, out: TextIO, err: TextIO) -> int:
    from gobuild.checks import run as checkjob  # noqa: PLC0415

    if args.profile:
        project = project.with_profile(args.profile)
    plan = checkjob.plan_checks(
        project,
        _check_kinds(args),
        cpus=args.cpus,
        memory=args.memory,
        enforcement=args.enforcement,
    )
    cwd = args.directory.resolve()
    memo.remember_checks(cwd, project.root, os.environ, _check_args(args), plan.to_json())
    return _check_outcome(checkjob.run_planned(plan, out, err, project.environ), err)


def _check_outcome(outcome: checkjob.Outcome, err: TextIO) -> int:
    bad = [r for r in outcome.results if r.status not in ("passed", "skipped")]
    if bad:
        names = ", ".join(f"{r.name} {r.status}" for r in bad)
        print(f"gobuild: {len(bad)} check(s) did not pass: {names}", file=err)
        return EXIT_USER
    return 0


def _bench(args: argparse.Namespace, project: Project, out: TextIO, err: TextIO) -> int:
    import shutil  # noqa: PLC0415

    from gobuild.checks import benchstats  # noqa: PLC0415

    for path in (args.old, args.new):
        if not path.is_file():
            raise GobuildError(f"{path}: no such benchmark results file")
    benchstat = shutil.which("benchstat", path=project.environ.get("PATH"))
    if benchstat:
        print(benchstats.benchstat_compare(args.old, args.new, benchstat), file=out, end="")
        return 0
    old = args.old.read_text(encoding="utf-8", errors="replace")
    new = args.new.read_text(encoding="utf-8", errors="replace")
    print(benchstats.format_compare(benchstats.compare(old, new)), file=out)
    return 0


def _go(args: argparse.Namespace, project: Project, out: TextIO, err: TextIO) -> int:
    from gobuild import proc  # noqa: PLC0415 - see the note at the top
    from gobuild.toolchain import install as toolchain  # noqa: PLC0415

    found = _ensure(toolchain.request_for(project), err).installed
    res = proc.run(
        [found.go, *args.args],
        cwd=args.directory.resolve(),
        env=toolchain.environ(found.goroot, project.environ),
        check=False,
        capture=False,
    )
    return res.returncode


def _remembered_install(args: argparse.Namespace) -> bool:
    """A plain `toolchain install` of the project's pin (--verbose wants real timings)."""
    return (
        args.command == "toolchain"
        and args.action == "install"
        and args.version is None
        and not args.verbose
    )


def _print_install(result: Mapping[str, Any], args: argparse.Namespace, out: TextIO) -> int:
    if args.json:
        print(json.dumps(result, indent=2), file=out)
        return 0
    state = "already installed" if result["cached"] else f"installed from {result['source']}"
    print(f"Go {result['version']} ({result['platform']}) {state}: {result['goroot']}", file=out)
    if args.verbose:
        for stage, seconds in result["timings"].items():
            print(f"  {stage:<9} {seconds:8.3f}s", file=out)
    return 0


def _toolchain(args: argparse.Namespace, project: Project, out: TextIO, err: TextIO) -> int:
    from gobuild.project.versions import GoVersion  # noqa: PLC0415
    from gobuild.toolchain import install as toolchain  # noqa: PLC0415 - see the note at the top

    if args.action == "install":
        req = toolchain.request_for(project, args.version)
        result = _ensure(req, err)
        if _remembered_install(args):
            i = result.installed
            marker = req.cache.marker(i.version, i.platform)
            cwd = args.directory.resolve()
            memo.remember(cwd, project.root, os.environ, result.as_json(), marker)
        return _print_install(result.as_json(), args, out)
    req = toolchain.request_for(project, getattr(args, "version", None))
    if args.action == "path":
        found = toolchain.find_installed(req)
        if found is None:
            raise GobuildError(
                f"Go {req.request} is not installed; run `gobuild toolchain install`"
            )
        print(found.goroot, file=out)
        return 0
    if args.action == "remove":
        version = GoVersion.parse(args.version)
        if not req.cache.remove(version, req.platform):
            raise GobuildError(f"Go {version} ({req.platform}) is not installed")
        print(f"removed Go {version} ({req.platform})", file=out)
        return 0
    if args.action == "list":
        return _list(project, req, out, args.json)
    raise AssertionError(args.action)


def _list(project: Project, req: toolchain.Request, out: TextIO, as_json: bool) -> int:
    from gobuild.toolchain import install as toolchain  # noqa: PLC0415 - see the note at the top

    try:
        current = toolchain.find_installed(toolchain.request_for(project))
    except GobuildError:
        current = None
    rows = req.cache.list()
    if as_json:
        data = [
            {
                "version": str(i.version),
                "platform": str(i.platform),
                "goroot": str(i.goroot),
                "size": i.size,
                "source": i.source,
                "project": i == current,
            }
            for i in rows
        ]
        print(json.dumps(data, indent=2), file=out)
        return 0
    if not rows:
        print(f"no toolchains installed in {req.cache.root}", file=out)
        return 0
    for i in rows:
        mark = "*" if i == current else " "
        size = f"{i.size / 2**20:8.1f} MiB"
        line = f"{mark} {i.version!s:<10} {i.platform!s:<13} {size}  {i.source:<8} {i.goroot}"
        print(line, file=out)
    if current:
        print("* used by this project", file=out)
    return 0


def _ensure(req: toolchain.Request, err: TextIO) -> toolchain.InstallResult:
    from gobuild.toolchain import install as toolchain  # noqa: PLC0415 - see the note at the top

    reporter: Reporter = _TerminalReporter(err) if err.isatty() else _NoticesOnly(err)
    try:
        return toolchain.ensure(req, reporter)
    finally:
        if isinstance(reporter, _TerminalReporter):
            reporter.close()


class _NoticesOnly(Silent):
    """Quiet except for one-line notices (e.g. a source fallback)."""

    def __init__(self, err: TextIO) -> None:
        super().__init__()
        self.err = err

    def notice(self, message: str) -> None:
        print(f"gobuild: {message}", file=self.err)


class _TerminalReporter(_NoticesOnly):
    """rich progress bars for download and extraction on a terminal."""

    def __init__(self, err: TextIO) -> None:
        # rich only loads on a terminal: every other run starts faster without it.
        from rich.console import Console  # noqa: PLC0415
        from rich.progress import (  # noqa: PLC0415
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        super().__init__(err)
        self.progress = Progress(
            TextColumn("{task.description:<9}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(file=err),
            transient=True,
        )
        self.task: TaskID | None = None
        self.started = False

    def stage(self, name: str, total: int | None = None) -> None:
        if not self.started:
            self.progress.start()
            self.started = True
        if self.task is not None:
            self.progress.update(self.task, visible=False)
        self.task = self.progress.add_task(name, total=total)

    def advance(self, amount: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, amount)

    def notice(self, message: str) -> None:
        self.progress.console.print(f"gobuild: {message}", markup=False, highlight=False)

    def close(self) -> None:
        if self.started:
            self.progress.stop()

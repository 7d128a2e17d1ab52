"""The ``gobuild`` command line: the parser, and the mapping of outcomes to exit codes.

Exit codes: 0 success, 1 user error (one line, no traceback), 3 unexpected error (a
bug: traceback shown), 130 Ctrl-C. ``gobuild go`` returns go's own code. The
environment is read here, once, and handed down with the arguments.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from gobuild import __version__
from gobuild.cli import checks, files, release, toolchain
from gobuild.cli.invocation import EXIT_BUG, EXIT_INTERRUPTED, EXIT_USER, Handler, Invocation
from gobuild.errors import GobuildError
from gobuild.project import environ


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree for every command."""
    parser = argparse.ArgumentParser(
        prog="gobuild",
        description="Build orchestration for Go projects: pinned toolchains, reproducible builds.",
    )
    parser.add_argument("--version", action="version", version=f"gobuild {__version__}")
    parser.add_argument("-C", "--directory", type=Path, default=Path(), help="run as if in DIR")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    files.register(sub)
    toolchain.register(sub)
    checks.register(sub)
    release.register(sub)
    return parser


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
    handler: Handler = args.handler
    try:
        return handler(Invocation(args, environ.current(), out, err))
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

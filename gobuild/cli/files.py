"""``gobuild init``, ``gobuild generate`` and ``gobuild context``: the files gobuild
writes into a project, and what a docker build of it would send."""

from __future__ import annotations

import argparse
import json
from typing import Any

from gobuild.cli.invocation import EXIT_USER, Invocation
from gobuild.errors import GobuildError


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the commands' parsers."""
    p = sub.add_parser("init", help="write gobuild.toml and dodo.py for this Go module")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(handler=init)

    p = sub.add_parser(
        "generate", help="write Dockerfile, .dockerignore and Makefile from gobuild.toml and .lock"
    )
    p.add_argument(
        "--check", action="store_true", help="exit 1 if a generated file is stale or edited"
    )
    p.add_argument("--force", action="store_true", help="overwrite files edited by hand")
    p.add_argument("files", nargs="*", metavar="FILE", help="which files (default: all)")
    p.set_defaults(handler=generate)

    p = sub.add_parser(
        "context",
        help="what a docker build would send: files, bytes, and what .dockerignore kept out",
    )
    p.add_argument("--json", action="store_true", help="print a JSON result")
    p.set_defaults(handler=context)


def init(inv: Invocation) -> int:
    """Scaffold gobuild into the module in the current directory."""
    from gobuild.render import scaffold  # noqa: PLC0415 - Jinja2 only for init

    result = scaffold.init(inv.cwd, force=inv.args.force)
    for path in result.written:
        inv.say(f"wrote {path}")
    pkgs = ", ".join(result.packages) or "none found"
    inv.say(f"module {result.module}, Go {result.go_version}, main packages: {pkgs}")
    inv.say(result.variables_summary())
    for note in result.placed.notes:
        inv.say(note)
    # The lock is written now, so it is committed with gobuild.toml: a build that
    # wrote it later would leave the tree modified (and stamp vcs.modified=true).
    from gobuild.cli.toolchain import report_lock  # noqa: PLC0415

    try:
        report_lock(inv)
    except GobuildError as exc:
        print(
            f"gobuild: warning: gobuild.lock not written ({exc}); run `gobuild lock` "
            "where a module proxy or go.dev is reachable",
            file=inv.err,
        )
    inv.say("next: commit gobuild.toml, gobuild.lock and dodo.py; `doit build` builds")
    return 0


def generate(inv: Invocation) -> int:
    """Write (or with --check, compare) the generated files."""
    from gobuild.render import generate  # noqa: PLC0415 - Jinja2 and the renderers only here

    args = inv.args
    names = tuple(args.files) or generate.roles(inv.project)
    outcomes = generate.generate(inv.project, names, force=args.force, check=args.check)
    inv.say(generate.describe(outcomes))
    bad = [o for o in outcomes if o.state in generate.OUT_OF_DATE]
    if args.check and bad:
        print(
            f"gobuild: {len(bad)} generated file(s) out of date: run `gobuild generate`",
            file=inv.err,
        )
        return EXIT_USER
    return 0


def context(inv: Invocation) -> int:
    """What a docker build of the module would send."""
    from gobuild.image import context  # noqa: PLC0415 - loads the docker SDK

    rep = context.report(inv.project)
    removed = sorted(rep.removed.items(), key=lambda kv: (-kv[1][1], kv[0]))
    if inv.args.json:
        data = {
            "files": rep.files,
            "bytes": rep.bytes,
            "rules_from": rep.rules_from,
            "removed": [{"rule": r, "files": n, "bytes": b} for r, (n, b) in removed],
        }
        inv.say(json.dumps(data, indent=2))
        return 0
    inv.say(f"sent: {rep.files} files, {rep.bytes:,} bytes (rules: {rep.rules_from})")
    for rule, (n, size) in removed:
        inv.say(f"  removed by {rule}: {n} files, {size:,} bytes")
    return 0

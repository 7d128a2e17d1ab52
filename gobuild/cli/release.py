"""``gobuild release verify DIR``: check a release directory against its record."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gobuild.cli.invocation import EXIT_USER, Invocation
from gobuild.errors import GobuildError


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the commands' parsers."""
    p = sub.add_parser("release", help="releases: check one")
    rsub = p.add_subparsers(dest="release_command", required=True)
    p = rsub.add_parser(
        "verify", help="check every artifact of a release directory against release.json"
    )
    # Not "directory": -C's destination.
    p.add_argument("release", type=Path, nargs="?", default=None, metavar="DIR",
                   help="the release directory (default: dist/release)")  # fmt: skip
    p.add_argument("--key", type=Path, metavar="PUB",
                   help="the Ed25519 public key (PEM) that signed the provenance "
                   "(default: [release] verify_key)")  # fmt: skip
    p.set_defaults(handler=verify)


def _key(inv: Invocation) -> Path | None:
    """--key, else the project's [release] verify_key (from gobuild.toml's directory)."""
    given: Path | None = inv.args.key
    if given is not None:
        return inv.cwd / given
    try:
        project = inv.project
    except GobuildError:  # a release directory checked outside any project
        return None
    configured = project.settings.release.verify_key
    return project.root / configured if configured else None


def verify(inv: Invocation) -> int:
    """Exit 1, naming each problem, when the release does not hold together."""
    from gobuild.release import verify as checking  # noqa: PLC0415
    from gobuild.release.assemble import release_dir  # noqa: PLC0415

    # A relative DIR is read from -C's directory, as every path gobuild is given.
    directory = inv.cwd / inv.args.release if inv.args.release else release_dir(inv.project)
    verdict = checking.verify(directory, _key(inv))
    for problem in verdict.problems:
        print(f"gobuild: {problem}", file=inv.err)
    if not verdict.ok:
        print(f"gobuild: {directory}: {len(verdict.problems)} problem(s)", file=inv.err)
        return EXIT_USER
    inv.say(f"{directory}: {len(verdict.checked)} artifacts verified")
    return 0

"""``gobuild check`` and ``gobuild bench compare``: checks within the budget, and what
benchmarks say between two runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gobuild.checks.plan import CheckPlan, check_kinds, remembered_usable
from gobuild.cli.invocation import EXIT_USER, Invocation
from gobuild.project.names import CHECK_KINDS, DEFAULT_CHECK_KINDS
from gobuild.ui import memo, options
from gobuild.ui.console import Notices


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the commands' parsers."""
    p = sub.add_parser(
        "check", help="run test/lint/bench concurrently within CPU and memory limits"
    )
    p.add_argument(
        "kinds",
        nargs="*",
        metavar="KIND",
        help=f"{', '.join(CHECK_KINDS)} (default: {' '.join(DEFAULT_CHECK_KINDS)})",
    )
    for option in (options.CPUS, options.MEMORY, options.ENFORCEMENT, options.PROFILE):
        option.add_to(p)
    p.add_argument(
        "--json",
        action="store_true",
        help="print the result as one JSON document on stdout (units, failures with "
        "file:line, reports); what is printed as the checks run goes to stderr",
    )
    p.set_defaults(handler=check)

    p = sub.add_parser("bench", help="benchmark results")
    bsub = p.add_subparsers(dest="bench_command", required=True)
    p = bsub.add_parser("compare", help="per-benchmark deltas between two result files")
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    p.set_defaults(handler=bench_compare)


def check(inv: Invocation) -> int:
    """Plan (or recall the plan) and run the checks; exit 1 when any did not pass."""
    args = inv.args
    # Every option is validated before anything runs, remembered plan or not.
    cpus = options.CPUS.value(args.cpus)
    memory = options.MEMORY.value(args.memory)
    enforcement = options.ENFORCEMENT.value(args.enforcement)
    profile = options.PROFILE.value(args.profile)
    kinds = check_kinds(args.kinds) or DEFAULT_CHECK_KINDS
    key = memo.checks_key(kinds, profile, cpus, memory and memory.text, enforcement)

    def planned() -> tuple[Path, dict[str, Any]]:
        from gobuild.checks.plan import plan_checks  # noqa: PLC0415 - the planner is slow to load

        project = inv.project.with_profile(profile)
        plan = plan_checks(
            project, kinds, cpus=cpus, memory=memory, enforcement=enforcement,
            reporter=Notices(inv.err),
        )  # fmt: skip
        return project.root, plan.to_json()

    plan = CheckPlan.from_json(
        memo.recall_checks(inv.cwd, inv.env, key, planned, remembered_usable)
    )
    return _run(inv, plan, as_json=args.json)


def _run(inv: Invocation, plan: CheckPlan, *, as_json: bool) -> int:
    from gobuild.checks import report  # noqa: PLC0415
    from gobuild.checks.run import run_planned  # noqa: PLC0415
    from gobuild.checks.units import failures  # noqa: PLC0415
    from gobuild.ui.console import CheckPrinter  # noqa: PLC0415

    # With --json, stdout carries the document alone: what a person reads goes to stderr.
    human = inv.err if as_json else inv.out
    root = Path(plan.root)
    outcome = run_planned(plan, inv.env, CheckPrinter(human, inv.err, root))
    print(report.closing(outcome.results, outcome.reports, root), file=human, flush=True)
    if as_json:
        document = report.json_document(
            outcome.results, outcome.reports, root, outcome.budget, outcome.mechanism
        )
        print(document, file=inv.out, flush=True)
    bad = failures(outcome.results)
    if bad:
        names = ", ".join(f"{r.name} {r.status}" for r in bad)
        print(f"gobuild: {len(bad)} check(s) did not pass: {names}", file=inv.err)
        return EXIT_USER
    return 0


def bench_compare(inv: Invocation) -> int:
    """benchstat's comparison of two result files, at the project's pinned version."""
    from gobuild.checks import benchcompare  # noqa: PLC0415

    text = benchcompare.compare(inv.project, inv.args.old, inv.args.new, Notices(inv.err))
    print(text, file=inv.out, end="")
    return 0

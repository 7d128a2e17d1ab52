"""``gobuild check`` and ``gobuild bench compare``: checks within the budget, and what
benchmarks say between two runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gobuild import stamps
from gobuild.checks.plan import CheckPlan, check_kinds, remembered_usable
from gobuild.checks.shards import DURATIONS_NAME, Shard, read_durations
from gobuild.cli.invocation import EXIT_USER, Invocation
from gobuild.errors import GobuildError
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
    p.add_argument(
        "--shard", metavar="K/N",
        help="test shard K of N only (packages split by recorded durations); lint and "
        "bench run in shard 1",
    )  # fmt: skip
    p.add_argument(
        "--durations", type=Path, metavar="FILE",
        help="the package durations to split by (default: .gobuild/checks/durations.json; "
        "`gobuild report merge` writes one)",
    )  # fmt: skip
    p.set_defaults(handler=check)

    p = sub.add_parser("report", help="check reports")
    rsub = p.add_subparsers(dest="report_command", required=True)
    p = rsub.add_parser("merge", help="merge the reports of several runs (shards) into one")
    p.add_argument("reports", type=Path, nargs="+", metavar="DIR")
    p.add_argument(
        "-o", "--output", type=Path, metavar="OUT",
        help="where the merged reports go (default: .gobuild/checks/merged)",
    )  # fmt: skip
    p.set_defaults(handler=report_merge)

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
    shard = Shard.parse(args.shard) if args.shard else None
    durations_path: Path | None = inv.cwd / args.durations if args.durations else None
    if durations_path is not None and not durations_path.is_file():
        raise GobuildError(f"--durations {args.durations}: no such file")
    key = memo.checks_key(kinds, profile, cpus, memory and memory.text, enforcement)
    if shard is not None:
        # The split depends on the durations: a plan is remembered per durations file
        # content as well.
        source = durations_path or inv.project.state_dir / "checks" / DURATIONS_NAME
        key += [str(shard), stamps.file(source)]

    def planned() -> tuple[Path, dict[str, Any]]:
        from gobuild.checks.plan import plan_checks  # noqa: PLC0415 - the planner is slow to load
        from gobuild.checks.run import durations_file  # noqa: PLC0415

        project = inv.project.with_profile(profile)
        recorded = read_durations(durations_path or durations_file(project.state_dir))
        plan = plan_checks(
            project, kinds, cpus=cpus, memory=memory, enforcement=enforcement,
            reporter=Notices(inv.err), shard=shard, durations=recorded,
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
    if outcome.shared_cache:
        print(outcome.shared_cache, file=human, flush=True)
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


def report_merge(inv: Invocation) -> int:
    """Merge runs' reports; exit 1 when a merged unit did not pass."""
    from gobuild.checks.merge import merge_reports  # noqa: PLC0415

    out: Path | None = inv.args.output
    target = inv.project.state_dir / "checks" / "merged" if out is None else inv.cwd / out
    gotestsum = None
    try:
        project = inv.project
    except GobuildError:  # reports merged outside any project: no JUnit
        project = None
    if project is not None and project.settings.checks.test.junit:
        from gobuild.tools.install import ensure_tool  # noqa: PLC0415

        gotestsum = str(ensure_tool(project, "gotestsum", Notices(inv.err)).path)
    totals = merge_reports(
        [inv.cwd / d for d in inv.args.reports], target, gotestsum=gotestsum,
        env=inv.env.for_children(), root=project.root if project else None,
    )  # fmt: skip
    inv.say(totals.text(target))
    if not totals.ok:
        print(f"gobuild: {totals.failed_units} unit(s) did not pass", file=inv.err)
        return EXIT_USER
    return 0

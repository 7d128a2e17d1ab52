"""The check tasks' action (test, lint, bench, check), apart from the build actions.

A repeat run starts its first unit without loading the configuration schema, the
planner or the installer: the plan is remembered (:mod:`gobuild.ui.memo`), so this
module imports only what running a remembered plan needs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from gobuild.project.environ import Environment
from gobuild.project.names import CheckKind
from gobuild.ui import memo, options


def run_checks(  # noqa: PLR0917 - the task's arguments, in order
    env: Environment,
    root: str,
    profile: str | None,
    kinds: list[CheckKind],
    cpus: str = "",
    memory: str = "",
    enforcement: str = "",
) -> str | None:
    """Run test/lint/bench units within the budget; a failure message if any failed.

    The plan is remembered as ``gobuild check`` remembers it (:mod:`gobuild.ui.memo`):
    a repeat run starts its first unit without loading the configuration."""
    from gobuild.checks import report  # noqa: PLC0415
    from gobuild.checks.plan import CheckPlan, remembered_usable  # noqa: PLC0415
    from gobuild.checks.run import run_planned  # noqa: PLC0415
    from gobuild.checks.units import failures  # noqa: PLC0415
    from gobuild.ui.console import CheckPrinter, Notices  # noqa: PLC0415

    budget_cpus, budget_memory = options.CPUS.value(cpus), options.MEMORY.value(memory)
    mechanism = options.ENFORCEMENT.value(enforcement)
    key = memo.checks_key(
        kinds, profile, budget_cpus, budget_memory and budget_memory.text, mechanism
    )

    def planned() -> tuple[Path, dict[str, Any]]:
        from gobuild.checks.plan import plan_checks  # noqa: PLC0415 - only when not remembered
        from gobuild.project.config import load_project  # noqa: PLC0415

        project = load_project(Path(root), env).with_profile(profile, "profile")
        plan = plan_checks(
            project, tuple(kinds), cpus=budget_cpus, memory=budget_memory,
            enforcement=mechanism, reporter=Notices(sys.stderr),
        )  # fmt: skip
        return project.root, plan.to_json()

    plan = CheckPlan.from_json(memo.recall_checks(Path(root), env, key, planned, remembered_usable))
    # File names in the output are shown relative to the module, as `gobuild check` shows them.
    module = Path(plan.root)
    outcome = run_planned(plan, env, CheckPrinter(sys.stdout, sys.stderr, module))
    print(report.closing(outcome.results, outcome.reports, module), flush=True)
    if outcome.shared_cache:
        print(outcome.shared_cache, flush=True)
    bad = failures(outcome.results)
    return f"checks: {', '.join(f'{r.name} {r.status}' for r in bad)}" if bad else None

"""Check plans: the one place the test, lint and bench command lines are decided.

A :class:`~gobuild.checks.Unit` is pure data: argv (with the tool as a symbolic first word),
caps, timeout, whether it runs alone, and the environment that tells the Go
runtime its share (GOMAXPROCS, GOMEMLIMIT; ``go test -p`` and ``-parallel``).
The checks scheduler runs units; the Makefile renders the same flags.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from gobuild.build.plan import SCRUBBED_ENV, go_env
from gobuild.checks.budget import Budget
from gobuild.checks.limits.cgroups import Caps
from gobuild.checks.scheduler import Unit
from gobuild.errors import ConfigError
from gobuild.project.config import Project
from gobuild.project.settings import CapsSection, parse_duration, parse_percent, parse_size

GIB = 1 << 30
# (cpus, memory, timeout) when gobuild.toml says nothing; clamped to the budget.
DEFAULTS = {
    "test": (2.0, 2 * GIB, 600.0),
    "lint": (1.0, 1 * GIB, 300.0),
    "bench": (None, None, 1200.0),
}
KINDS = ("test", "lint", "bench")
# Inherited variables a check must not see: they would change what is checked, or the
# runtime's share that the unit's own env sets.
SCRUBBED = (*SCRUBBED_ENV, "GOMAXPROCS", "GOMEMLIMIT", "GOGC")


def resolve_budget(
    project: Project, host: Budget, cpus: float | None, memory: str | None
) -> Budget:
    """The run's budget: CLI values over gobuild.toml over the host's defaults."""
    checks = project.settings.checks
    total = host.memory / 0.75  # host_budget() took 75%; percentages are of the whole
    c = cpus if cpus is not None else checks.cpus
    m = memory if memory is not None else checks.memory
    where = "--cpus" if cpus is not None else f"{project.config_file}: checks.cpus"
    if c is not None and c <= 0:
        raise ConfigError(f"{where}: the CPU budget must be positive, not {c}")
    mem = host.memory
    if m is not None:
        where = "--memory" if memory is not None else f"{project.config_file}: checks.memory"
        try:
            pct = parse_percent(m)
            mem = int(total * pct / 100) if pct is not None else parse_size(m)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if mem > total:
            raise ConfigError(
                f"{where}: {m} is more than this host's memory ({total / GIB:.1f} GiB)"
            )
    return Budget(cpus=float(c) if c is not None else host.cpus, memory=mem)


def caps_for(project: Project, kind: str, budget: Budget) -> tuple[Caps, float]:
    """A kind's caps and timeout: configured (must fit the budget) or defaults (clamped)."""
    section: CapsSection = getattr(project.settings.checks, kind)
    d_cpus, d_mem, d_timeout = DEFAULTS[kind]
    where = f"{project.config_file}: checks.{kind}"
    cpus = section.cpus if section.cpus is not None else min(d_cpus or budget.cpus, budget.cpus)
    memory = (
        parse_size(section.memory) if section.memory else min(d_mem or budget.memory, budget.memory)
    )
    if cpus > budget.cpus + 1e-9:
        raise ConfigError(f"{where}.cpus = {cpus:g} is more than the budget's {budget.cpus:g}")
    if memory > budget.memory:
        raise ConfigError(
            f"{where}.memory = {section.memory} is more than the budget's "
            f"{budget.memory / GIB:.2f} GiB"
        )
    timeout = parse_duration(section.timeout) if section.timeout else d_timeout
    return Caps(cpus=cpus, memory=memory), timeout


def runtime_env(project: Project, caps: Caps) -> dict[str, str]:
    """The go command's environment plus the runtime's share of the caps."""
    env = go_env(project)
    env["GOMAXPROCS"] = str(procs(caps))
    # Leave the runtime 10% headroom below the hard cap: the GC works harder before
    # the kernel would have to kill.
    env["GOMEMLIMIT"] = str(int(caps.memory * 0.9))
    return env


def procs(caps: Caps) -> int:
    """GOMAXPROCS, ``go test -p`` and ``-parallel`` for ``caps``."""
    return max(1, math.floor(caps.cpus + 0.5))


def _tags(project: Project) -> list[str]:
    build = project.settings.build
    tags = sorted({*build.tags, *project.profile.tags, *project.env_tags})
    return [f"-tags={','.join(tags)}"] if tags else []


def _mod(project: Project) -> list[str]:
    return ["-mod=vendor"] if (project.root / "vendor" / "modules.txt").is_file() else []


def test_units(project: Project, budget: Budget, packages: list[str], reports: Path) -> list[Unit]:
    """``go test -json`` over ``packages``, split as ``[checks.test] split`` says."""
    section = project.settings.checks.test
    caps, timeout = caps_for(project, "test", budget)
    n = procs(caps)
    if section.split == "package":
        groups = [[p] for p in packages]
    else:
        size = max(1, math.ceil(len(packages) / section.split))
        groups = [packages[i : i + size] for i in range(0, len(packages), size)] or [["./..."]]
    env = tuple(sorted(runtime_env(project, caps).items()))
    units = []
    for i, group in enumerate(groups):
        name = "test" if len(groups) == 1 else f"test:{_short(group, i)}"
        argv = ["go", "test", "-json", f"-p={n}", f"-parallel={n}", f"-timeout={timeout:g}s"]
        argv += _mod(project) + _tags(project)
        if section.race:
            argv.append("-race")
        if section.coverage:
            argv.append(f"-coverprofile={reports / (name.replace(':', '-') + '.cover')}")
        units.append(Unit(name, "test", (*argv, *group), caps, timeout, False, env, "test-json"))
    return units


def _short(group: list[str], index: int) -> str:
    if len(group) == 1:
        return group[0].rsplit("/", 1)[-1] or str(index + 1)
    return str(index + 1)


def lint_units(project: Project, budget: Budget, go_files: list[str]) -> list[Unit]:
    """One unit per configured linter."""
    caps, timeout = caps_for(project, "lint", budget)
    env = tuple(sorted(runtime_env(project, caps).items()))
    argvs = {
        "vet": ("go", "vet", *_mod(project), *_tags(project), "./..."),
        "gofmt": ("gofmt", "-l", *go_files),
        "staticcheck": ("staticcheck", *_tags(project), "./..."),
        "golangci-lint": ("golangci-lint", "run", *_build_tags(project), "./..."),
    }
    outputs = {"gofmt": "gofmt"}
    return [
        Unit(f"lint:{name}", "lint", argvs[name], caps, timeout, False, env,
             outputs.get(name, "plain"))
        for name in project.settings.checks.linters
    ]  # fmt: skip


def _build_tags(project: Project) -> list[str]:
    return [f"--build-tags={t.split('=', 1)[1]}" for t in _tags(project)]


def bench_units(project: Project, budget: Budget) -> list[Unit]:
    """The benchmark run: alone on the machine, with the whole budget."""
    section = project.settings.checks.bench
    caps, timeout = caps_for(project, "bench", budget)
    env = tuple(sorted(runtime_env(project, caps).items()))
    # -p=1: benchmark binaries of different packages must not run beside each other either.
    argv = ["go", "test", "-p=1", "-run=^$", f"-bench={section.bench}", "-benchmem",
            f"-count={section.count}", f"-timeout={timeout:g}s"]  # fmt: skip
    if section.benchtime:
        argv.append(f"-benchtime={section.benchtime}")
    argv += [*_mod(project), *_tags(project), "./..."]
    return [Unit("bench", "bench", tuple(argv), caps, timeout, True, env, "bench")]


def go_files(project: Project) -> list[str]:
    """The module's .go files for gofmt, relative: not vendor/, state, output or hidden."""
    root = project.root
    skip = {root / "vendor", project.state_dir, project.out_dir}
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames
            if not d.startswith((".", "_")) and here / d not in skip
            and not (here / d / "go.mod").exists()
        )  # fmt: skip
        out += [str((here / f).relative_to(root)) for f in sorted(filenames) if f.endswith(".go")]
    return out


def make_settings(project: Project) -> dict[str, dict[str, str]]:
    """What the Makefile's test/lint/bench targets pass: procs, memory limit, timeout.

    make has no budget to clamp against, so configured caps are used as they are and
    the defaults as the defaults; a bench without caps leaves GOMAXPROCS to the runtime.
    """
    unlimited = Budget(cpus=4096.0, memory=1 << 60)
    out = {}
    for kind in KINDS:
        section: CapsSection = getattr(project.settings.checks, kind)
        caps, timeout = caps_for(project, kind, unlimited)
        bounded = kind != "bench" or section.cpus is not None
        out[kind] = {
            "procs": str(procs(caps)) if bounded else "",
            "memlimit": str(int(caps.memory * 0.9)) if kind != "bench" or section.memory else "",
            "timeout": f"{timeout:g}s",
        }
    return out

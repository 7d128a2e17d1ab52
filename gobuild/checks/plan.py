"""A check run's plan: every unit of the kinds asked for, the budget, the Go to run.

:func:`plan_checks` decides it from the project (it installs the pinned Go if need be
and asks ``go list`` for the packages); :class:`CheckPlan` is plain data with a JSON
round trip, so a front end can remember it and run it again (:mod:`.run`) without
loading the configuration: this module imports the planner only when planning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gobuild.checks.shards import Shard, assign, split_name
from gobuild.checks.units import Caps, Unit
from gobuild.errors import ConfigError, GobuildError
from gobuild.gocache.command import SharedCache
from gobuild.project import layout
from gobuild.project.names import CHECK_KINDS, CheckKind, Enforcement
from gobuild.project.toolpins import TOOL_NAMES
from gobuild.project.versions import GoVersion

if TYPE_CHECKING:
    from gobuild.progress import Reporter
    from gobuild.project.config import Project
    from gobuild.project.quantities import Memory


@dataclass(frozen=True)
class CheckPlan:
    """Everything a check run needs, as plain data (JSON round trip)."""

    root: str
    state_dir: str
    kinds: tuple[CheckKind, ...]
    budget_cpus: float
    budget_memory: int
    overcommit: float  # caps may add up to this many times budget_cpus (where a pool holds)
    goroot: str
    units: tuple[Unit, ...]
    enforcement: Enforcement
    grace: float
    scrubbed: tuple[str, ...]  # inherited variables the units must not see
    marker: str  # the toolchain's completion marker: a remembered plan needs it unchanged
    tools: tuple[tuple[str, str], ...] = ()  # pinned tools the units run: name, binary
    junit: bool = False  # junit.xml by the pinned gotestsum (then among the tools)
    shard: str = ""  # "K/N" for one shard of the test packages (see .shards)
    shard_packages: tuple[str, ...] = ()  # that shard's packages
    shard_split: str = ""  # names the whole split (every package, every shard's share)
    shared_cache: SharedCache | None = None  # [cache] remote, ready (probed at run time)

    def usable(self) -> bool:
        """Whether a remembered plan can run as it is: its pinned tools still built."""
        programs = [path for _, path in self.tools]
        if self.shared_cache is not None:
            programs += [self.shared_cache.verifier, self.shared_cache.plugin[0]]
        return all(Path(path).is_file() for path in programs)

    @property
    def reports(self) -> Path:
        """Where the run's reports go: one folder per kind set, so `doit -n 2 test lint`
        runs two at once."""
        return reports_dir(Path(self.state_dir), self.kinds)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckPlan:
        """The plan :meth:`to_json` wrote (KeyError/TypeError/ValueError if malformed)."""
        units = tuple(_unit(u) for u in data["units"])
        return cls(
            root=str(data["root"]), state_dir=str(data["state_dir"]),
            kinds=tuple(data["kinds"]), budget_cpus=float(data["budget_cpus"]),
            budget_memory=int(data["budget_memory"]),
            overcommit=float(data["overcommit"]), goroot=str(data["goroot"]), units=units,
            enforcement=data["enforcement"], grace=float(data["grace"]),
            scrubbed=tuple(data["scrubbed"]),
            marker=str(data["marker"]),
            tools=tuple((str(n), str(p)) for n, p in data["tools"]),
            junit=bool(data["junit"]), shard=str(data.get("shard", "")),
            shard_packages=tuple(str(p) for p in data.get("shard_packages", ())),
            shard_split=str(data.get("shard_split", "")),
            shared_cache=SharedCache.from_json(data["shared_cache"])
            if data.get("shared_cache") else None,
        )  # fmt: skip


def remembered_usable(data: Mapping[str, Any]) -> bool:
    """Whether a remembered plan's JSON still reads and can run (:meth:`CheckPlan.usable`)."""
    try:
        return CheckPlan.from_json(data).usable()
    except (KeyError, TypeError, ValueError):
        return False


def _unit(u: Mapping[str, Any]) -> Unit:
    return Unit(
        name=str(u["name"]),
        kind=u["kind"],
        argv=tuple(str(a) for a in u["argv"]),
        caps=Caps(float(u["caps"]["cpus"]), int(u["caps"]["memory"]), int(u["caps"]["weight"])),
        timeout=float(u["timeout"]),
        exclusive=bool(u["exclusive"]),
        env=tuple((str(k), str(v)) for k, v in u["env"]),
        output=u["output"],
        dir=str(u["dir"]),
    )


def check_kinds(names: Sequence[str]) -> tuple[CheckKind, ...]:
    """``names`` as check kinds; an unknown one is an error naming the known ones."""
    kinds: list[CheckKind] = []
    for name in names:
        kind = next((k for k in CHECK_KINDS if k == name), None)
        if kind is None:
            raise GobuildError(f"unknown check {name!r} (known: {', '.join(CHECK_KINDS)})")
        kinds.append(kind)
    return tuple(kinds)


def reports_dir(state_dir: Path, kinds: tuple[CheckKind, ...]) -> Path:
    """``<state>/checks/<kinds>``: a run's reports (:func:`gobuild.project.layout.reports_dir`)."""
    return layout.reports_dir(state_dir, kinds)


def plan_checks(
    project: Project,
    kinds: tuple[CheckKind, ...],
    *,
    cpus: float | None = None,
    memory: Memory | None = None,
    enforcement: Enforcement | None = None,
    reporter: Reporter | None = None,
    shard: Shard | None = None,
    durations: Mapping[str, float] | None = None,
) -> CheckPlan:
    """Decide the units of ``kinds`` for ``project`` (installs the pinned Go, and builds
    pinned linters, if need be; ``reporter`` hears about it).

    With ``shard``, the test units cover that shard's packages only (split by
    ``durations``, package → seconds; see :mod:`.shards`), and lint and bench run in the
    first shard alone."""
    # The planner, the configuration and the installer load here, not at import time.
    from gobuild.builds.goenv import go_environ  # noqa: PLC0415
    from gobuild.checks import commands  # noqa: PLC0415
    from gobuild.checks.budget import Host, resolve_budget  # noqa: PLC0415
    from gobuild.gocache import shared as gocache  # noqa: PLC0415
    from gobuild.progress import Silent  # noqa: PLC0415
    from gobuild.toolchain.install import ensure, request_for  # noqa: PLC0415

    kinds = check_kinds(kinds)
    if "test" in kinds:
        commands.race_env(project)  # race without a C compiler: refused before Go installs
    settings = project.settings.checks
    budget = resolve_budget(project, Host.measure(), cpus, memory)
    request = request_for(project)
    reporter = reporter or Silent()
    installed = ensure(request, reporter).installed
    reports = reports_dir(project.state_dir, kinds)
    base_env = go_environ(installed.goroot, project.env.variables, scrub=commands.CHECK_SCRUBBED)
    # The plugin and verifier are built now; whether the remote answers is asked at run time.
    shared_cache = gocache.prepare(project, installed, reporter)
    units: list[Unit] = []
    # Each module's packages are checked from its own directory, as the go command
    # sees them there (a nested module is not in its parent's ./...).
    modules = [m.dir for m in project.workspace.modules]
    tools: dict[str, str] = {}
    # Tools are built before go list runs: a tool that cannot be had stops the run first.
    from gobuild.tools.install import ensure_tool  # noqa: PLC0415

    test = settings.test
    junit = "test" in kinds and test.junit
    chosen: list[str] = []
    split = ""
    if "test" in kinds:
        if test.gotestsum:
            tools["gotestsum"] = str(ensure_tool(project, "gotestsum", reporter).path)
        listed = {d: _packages(project, installed.goroot, base_env, d) for d in modules}
        if shard is not None:
            listed, chosen, split = _sharded(listed, shard, durations or {})
        for d in modules:
            if shard is None or listed[d]:
                units += commands.test_units(project, budget, listed[d], reports, d)
    # Lint and benchmarks are not split: the first shard runs them.
    kinds_here: tuple[CheckKind, ...] = kinds if shard is None or shard.index == 1 else ()
    if "lint" in kinds_here:
        if "tidy" in settings.linters and installed.version < GoVersion(1, 23, 0):
            raise ConfigError(
                f"{project.config_file}: checks.linters: tidy needs Go 1.23 or later "
                f"(go mod tidy -diff); the project's Go is {installed.version}"
            )
        files = commands.go_files(project)
        for d in modules:
            units += commands.lint_units(project, budget, files, d)
        # Linters that are Go programs run at their pinned version, built if need be;
        # one that cannot be had stops the run here, in one line.
        for name in project.settings.checks.linters:
            if name in TOOL_NAMES:
                tools[name] = str(ensure_tool(project, name, reporter).path)
    if "bench" in kinds_here:
        units += [u for d in modules for u in commands.bench_units(project, budget, d)]
    return CheckPlan(
        root=str(project.root), state_dir=str(project.state_dir), kinds=kinds,
        budget_cpus=budget.cpus, budget_memory=budget.memory, overcommit=budget.overcommit,
        goroot=str(installed.goroot), units=tuple(units),
        enforcement=enforcement or settings.enforcement, grace=settings.grace,
        scrubbed=commands.CHECK_SCRUBBED,
        marker=str(request.cache.marker(installed.version, installed.platform)),
        tools=tuple(sorted(tools.items())), junit=junit,
        shard=str(shard) if shard else "", shard_packages=tuple(chosen), shard_split=split,
        shared_cache=shared_cache,
    )  # fmt: skip


def _sharded(
    listed: Mapping[str, list[str]], shard: Shard, durations: Mapping[str, float]
) -> tuple[dict[str, list[str]], list[str], str]:
    """Each module's packages in ``shard``, that shard's packages, and the split's name.

    Every module's packages are split together, so a small module gets no shard of its
    own. The name digests every shard's share: shards that name the same split test
    every package once between them, which ``gobuild report merge`` checks."""
    everything = [p for pkgs in listed.values() for p in pkgs]
    shares = assign(everything, shard.count, durations)
    chosen = shares[shard.index - 1]
    keep = set(chosen)
    split = split_name(shares)
    return {d: [p for p in pkgs if p in keep] for d, pkgs in listed.items()}, chosen, split


def _packages(
    project: Project, goroot: Path, base_env: Mapping[str, str], module_dir: str
) -> list[str]:
    """The packages of the module at ``module_dir``, as ``go list`` names them."""
    from gobuild import proc  # noqa: PLC0415
    from gobuild.builds.flags import mod_flags  # noqa: PLC0415
    from gobuild.builds.goenv import profile_env  # noqa: PLC0415

    argv = [str(goroot / "bin" / "go"), "list", "-e", *mod_flags(project, module_dir)]
    env = {**base_env, **profile_env(project)}
    res = proc.run([*argv, "./..."], cwd=project.root / module_dir, env=env, timeout=600)
    return [line for line in res.stdout.splitlines() if line.strip()]

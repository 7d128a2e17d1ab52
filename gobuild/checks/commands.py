"""The test, lint and bench command lines: decided here once, run by the scheduler and
rendered by the Makefile.

A :class:`~.units.Unit` is pure data: argv (with the tool as a symbolic first word),
caps, timeout, whether it runs alone, and the environment that tells the Go runtime
its share (GOMAXPROCS, GOMEMLIMIT; ``go test -p`` and ``-parallel``). ``[checks.test]
race`` turns cgo on for the test units only (the race detector needs it; builds keep
``[build] cgo``), once a C compiler is found (:func:`race_env`).
"""

from __future__ import annotations

import math
import os
import shlex
import shutil
import sys
from pathlib import Path

from gobuild.builds.flags import mod_flags, tag_union, tags_flag
from gobuild.builds.goenv import SCRUBBED, profile_env
from gobuild.checks.budget import Budget, caps_for, memlimit, procs
from gobuild.checks.units import Caps, OutputKind, Unit, events_file, file_stem
from gobuild.errors import ConfigError
from gobuild.project.config import Project
from gobuild.project.names import CHECK_KINDS, Linter
from gobuild.project.quantities import MAX_CPUS
from gobuild.project.settings import CapsSection

# Inherited variables a check must not see: they would change what is checked, or the
# runtime's share that the unit's own env sets.
CHECK_SCRUBBED = (*SCRUBBED, "GOMAXPROCS", "GOMEMLIMIT", "GOGC")


def runtime_env(
    project: Project, caps: Caps, extra: dict[str, str] | None = None
) -> tuple[tuple[str, str], ...]:
    """The go command's environment plus the runtime's share of the caps, as a unit
    holds it (``extra`` on top: :func:`race_env`'s for the test units)."""
    env = profile_env(project)
    env["GOMAXPROCS"] = str(procs(caps))
    env["GOMEMLIMIT"] = str(memlimit(caps.memory))
    env.update(extra or {})
    return tuple(sorted(env.items()))


# The C compilers looked for when CC is unset, after the go command's own default.
_CC_FALLBACKS = ("cc", "clang", "gcc")


def default_cc(platform: str = sys.platform) -> str:
    """The C compiler the go command runs when CC is unset (cmd/dist's choice: clang
    on macOS and the BSDs that ship it, gcc elsewhere)."""
    return "clang" if platform.startswith(("darwin", "freebsd", "openbsd")) else "gcc"


def race_env(project: Project) -> dict[str, str]:
    """What ``[checks.test] race`` adds to the test units' environment: CGO_ENABLED=1
    (``-race`` requires cgo), and CC when the go command's default compiler is missing
    but another is on PATH. Without race, nothing.

    Raises :class:`~gobuild.errors.ConfigError` (one line naming gobuild.toml's key)
    when no C compiler is found: CC's, else the go command's default, cc, clang or gcc
    on PATH. Only PATH is looked at, and only with race on.
    """
    if not project.settings.checks.test.race:
        return {}
    env, key = project.env, f"{project.config_file}: checks.test.race"
    if env.cc:
        try:
            words = shlex.split(env.cc)  # CC may carry arguments: "ccache gcc", "zig cc"
        except ValueError:  # an unbalanced quote: the go command fails on it too
            words = [env.cc]
        program = words[0] if words else env.cc
        if not shutil.which(program, path=env.path):
            raise ConfigError(
                f"{key}: the race detector needs cgo, and CC's compiler {program!r} "
                "is not found: fix CC, or set race = false"
            )
        return {"CGO_ENABLED": "1"}
    default = default_cc()
    for name in (default, *_CC_FALLBACKS):
        if shutil.which(name, path=env.path):
            return {"CGO_ENABLED": "1", **({} if name == default else {"CC": name})}
    raise ConfigError(
        f"{key}: the race detector needs cgo and a C compiler, and none is on PATH "
        f"({', '.join(dict.fromkeys((default, *_CC_FALLBACKS)))}): install one, set CC, "
        "or set race = false"
    )


def _tags(project: Project) -> list[str]:
    return tags_flag(tag_union(project))


def in_module(name: str, module_dir: str) -> str:
    """A unit's name for the module at ``module_dir``: ``test``, or ``test@tools``."""
    return name if module_dir == "." else f"{name}@{module_dir}"


def test_units(
    project: Project, budget: Budget, packages: list[str], reports: Path, module_dir: str = "."
) -> list[Unit]:
    """``go test -json`` over ``packages`` of the module at ``module_dir``, split as
    ``[checks.test] split`` says."""
    section = project.settings.checks.test
    caps, timeout = caps_for(project, "test", budget)
    n = procs(caps)
    if section.split == "package":
        groups = [[p] for p in packages]
    else:
        size = max(1, math.ceil(len(packages) / section.split))
        groups = [packages[i : i + size] for i in range(0, len(packages), size)] or [["./..."]]
    env = runtime_env(project, caps, race_env(project))
    units = []
    shorts = _short_names(groups)
    for group, short in zip(groups, shorts, strict=True):
        name = in_module("test" if len(groups) == 1 else f"test:{short}", module_dir)
        flags = [f"-p={n}", f"-parallel={n}", f"-timeout={timeout:g}s"]
        flags += mod_flags(project, module_dir) + _tags(project)
        if section.race:
            flags.append("-race")
        flags += shared_cache_flags(project)
        if section.coverage:
            flags.append(f"-coverprofile={reports / (file_stem(name) + '.cover')}")
        if section.rerun_fails:
            argv = rerun_argv(section.rerun_fails, events_file(reports, name), flags, group)
            output: OutputKind = "test-json-file"
        else:
            argv, output = ("go", "test", "-json", *flags, *group), "test-json"
        units.append(Unit(name, "test", argv, caps, timeout, False, env, output, module_dir))
    return units


def rerun_argv(
    attempts: int, events: Path, flags: list[str], packages: list[str]
) -> tuple[str, ...]:
    """The pinned gotestsum running ``go test -json`` with ``flags`` over ``packages``,
    running failed tests again up to ``attempts`` times; the events go to ``events``."""
    return (
        "gotestsum", "--format=standard-quiet", f"--jsonfile={events}",
        f"--rerun-fails={attempts}", f"--packages={' '.join(packages)}", "--", *flags,
    )  # fmt: skip


def _short_names(groups: list[list[str]]) -> list[str]:
    """Each group's name in its unit's: a lone package by the fewest trailing path
    elements that no other group's package shares (``utils``, or ``template/utils``
    beside another ``utils``: two units never share a name, a log or a profile); a group
    of several by its number."""
    names = [str(i + 1) for i in range(len(groups))]
    lone = {i: g[0].split("/") for i, g in enumerate(groups) if len(g) == 1}
    depth = dict.fromkeys(lone, 1)
    while True:
        for i, parts in lone.items():
            names[i] = "/".join(parts[-depth[i] :]) or str(i + 1)
        clashing = [i for i in lone if names.count(names[i]) > 1 and depth[i] < len(lone[i])]
        if not clashing:
            # Whole paths that still clash (a package named like a group's number).
            return [f"{n}#{i + 1}" if names.count(n) > 1 else n for i, n in enumerate(names)]
        for i in clashing:
            depth[i] += 1


def lint_units(
    project: Project, budget: Budget, go_files: list[str], module_dir: str = "."
) -> list[Unit]:
    """One unit per configured linter in the module at ``module_dir`` (gofmt, which
    knows no modules, in the root's only: ``go_files`` are the whole project's)."""
    caps, timeout = caps_for(project, "lint", budget)
    env = runtime_env(project, caps)
    tags = tag_union(project)
    argvs: dict[Linter, tuple[str, ...]] = {
        "vet": ("go", "vet", *mod_flags(project, module_dir), *tags_flag(tags), "./..."),
        "gofmt": ("gofmt", "-l", *go_files),
        "staticcheck": ("staticcheck", *tags_flag(tags), "./..."),
        "golangci-lint": ("golangci-lint", "run", *tags_flag(tags, "--build-tags"), "./..."),
        "govulncheck": ("govulncheck", "-db", vulndb_url(project), *tags_flag(tags), "./..."),
        # go.mod and go.sum as `go mod tidy` would leave them (Go 1.23's -diff changes
        # nothing), and the module cache's copies as go.sum recorded them.
        "tidy": ("go", "mod", "tidy", "-diff"),
        "verify": ("go", "mod", "verify"),
    }
    units = []
    for name in project.settings.checks.linters:
        if name == "gofmt":
            # One gofmt unit for the whole project, from the root (the files are its).
            if module_dir == project.workspace.modules[0].dir:
                units.append(Unit("lint:gofmt", "lint", argvs[name], caps, timeout, False, env,
                                  "gofmt"))  # fmt: skip
            continue
        own = tool_cache_env(project, name)
        units.append(
            Unit(in_module(f"lint:{name}", module_dir), "lint", argvs[name], caps, timeout,
                 False, tuple(sorted({**dict(env), **own}.items())), "plain", module_dir)
        )  # fmt: skip
    return units


# The linters that keep a cache of their own, and the variable naming its directory.
_TOOL_CACHES = {"golangci-lint": "GOLANGCI_LINT_CACHE", "staticcheck": "STATICCHECK_CACHE"}


def tool_cache_env(project: Project, name: str) -> dict[str, str]:
    """A linter's cache directory when the environment gives it none: these fail without
    one where HOME and XDG_CACHE_HOME are unset (a bare CI container). Under gobuild's
    cache, shared by the projects on the machine; a set variable is left alone."""
    variable = _TOOL_CACHES.get(name)
    seen = project.env.variables
    if variable is None or variable in seen or "HOME" in seen or "XDG_CACHE_HOME" in seen:
        return {}
    return {variable: str(project.cache_dir / "tool-caches" / name)}


def vulndb_url(project: Project) -> str:
    """``[checks] vulndb`` as govulncheck takes it: a URL as it is, a directory as an
    absolute file:// URL (relative paths from gobuild.toml's directory)."""
    value = project.settings.checks.vulndb
    if "://" in value:
        return value
    return (project.root / value).resolve().as_uri()


def bench_units(project: Project, budget: Budget, module_dir: str = ".") -> list[Unit]:
    """The benchmark run of the module at ``module_dir``: alone on the machine, with the
    whole budget."""
    section = project.settings.checks.bench
    caps, timeout = caps_for(project, "bench", budget)
    env = runtime_env(project, caps)
    # -p=1: benchmark binaries of different packages must not run beside each other either.
    argv = ["go", "test", "-p=1", "-run=^$", f"-bench={section.bench}", "-benchmem",
            f"-count={section.count}", f"-timeout={timeout:g}s"]  # fmt: skip
    if section.benchtime:
        argv.append(f"-benchtime={section.benchtime}")
    argv += [*mod_flags(project, module_dir), *_tags(project), "./..."]
    name = in_module("bench", module_dir)
    return [Unit(name, "bench", tuple(argv), caps, timeout, True, env, "bench", module_dir)]


def go_files(project: Project) -> list[str]:
    """The project's .go files for gofmt, relative: every module's, not vendor/, state,
    output, hidden, or a nested module the project does not build (a go.work's)."""
    root = project.root
    skip = {project.state_dir, project.out_dir}
    skip.update(root / m.dir / "vendor" for m in project.workspace.modules)
    ours = {root / m.dir for m in project.workspace.modules}
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames
            if not d.startswith((".", "_")) and here / d not in skip
            and (here / d in ours or not (here / d / "go.mod").exists())
        )  # fmt: skip
        out += [str((here / f).relative_to(root)) for f in sorted(filenames) if f.endswith(".go")]
    return out


def shared_cache_flags(project: Project) -> list[str]:
    """The test commands' flags for ``[cache] remote``: ``-trimpath``, since the paths of
    this checkout and of the module cache otherwise go into every compile's action ID,
    and a machine with other paths would find nothing the first one stored."""
    return ["-trimpath"] if project.settings.cache.remote is not None else []


def make_settings(project: Project) -> dict[str, dict[str, str]]:
    """What the Makefile's test/lint/bench targets pass: procs, memory limit, timeout,
    and the test target's race flag with the cgo it needs (``race``: ``-race`` or empty;
    ``cgo``: CGO_ENABLED's value over the profile's, or empty).

    make has no budget to clamp against, so configured caps are used as they are and
    the defaults as the defaults; a bench without caps leaves GOMAXPROCS to the runtime.
    """
    unlimited = Budget(cpus=float(MAX_CPUS), memory=1 << 60)
    out: dict[str, dict[str, str]] = {}
    for kind in CHECK_KINDS:
        section: CapsSection = getattr(project.settings.checks, kind)
        caps, timeout = caps_for(project, kind, unlimited)
        bounded = kind != "bench" or section.cpus is not None
        out[kind] = {
            "procs": str(procs(caps)) if bounded else "",
            "memlimit": str(memlimit(caps.memory)) if kind != "bench" or section.memory else "",
            "timeout": f"{timeout:g}s",
            "race": "",
            "cgo": "",
            "trimpath": "",
        }
    if project.settings.checks.test.race:  # the C compiler is make's user's to provide
        out["test"].update(race="-race", cgo="1")
    out["test"]["trimpath"] = " ".join(shared_cache_flags(project))
    return out

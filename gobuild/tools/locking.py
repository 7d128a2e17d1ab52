"""``gobuild lock`` for the pinned tools: each recorded by module and ``h1``, nothing built.

The tools a project pins are the ``[tools]`` entries (``go`` aside) and the tools its
configuration runs (the linters ``[checks] linters`` names, gotestsum for ``[checks.test]
junit`` or ``rerun_fails``): :func:`pinned`. Locking resolves each without a download
(:mod:`.resolve`), then writes the tools section in one step:

- an entry at the same package and version whose module or ``h1`` the proxy and the
  checksum database contradict is refused (a module version never changes);
- a tool that cannot be resolved now (no proxy answers, GONOPROXY, no checksum database
  for it) keeps an entry already recorded at its pin, else stays unrecorded: the build
  that first needs it records it, as before;
- an entry no longer at its tool's pin (the pin moved, or its ``[tools]`` line went and
  gobuild's default differs) is dropped: nothing would use it. An entry still at its
  pin stays even if the configuration does not run the tool: a command may
  (``gobuild bench compare`` builds benchstat, and records it as any build does), and
  dropping it would make the two undo each other. A build never drops anything.

:func:`problems` says, offline, which pins gobuild.lock does not record (``lock --check``).
"""

from __future__ import annotations

from dataclasses import dataclass

from gobuild.errors import IntegrityError, SourceError
from gobuild.progress import Reporter, Silent
from gobuild.project import lock as lockfile
from gobuild.project.config import Project
from gobuild.project.lock import ToolLock
from gobuild.project.toolpins import GO_KEY, KNOWN_PINS, TOOL_NAMES, ToolPin
from gobuild.tools.resolve import Resolver, ToolError, contradiction


def pinned(project: Project) -> dict[str, ToolPin]:
    """The tools the project pins, in gobuild's order: ``[tools]``' keys, the configured
    linters that are Go tools, gotestsum when the test checks run it, the GOCACHEPROG
    plugin for a ``[cache] remote`` and buildctl where images may build on a BuildKit
    daemon."""
    settings = project.settings
    checks = settings.checks
    names = {key for key in settings.tools if key != GO_KEY}
    names.update(linter for linter in checks.linters if linter in TOOL_NAMES)
    if checks.test.gotestsum:
        names.add("gotestsum")
    if settings.cache.remote is not None:
        names.add("go-cache-plugin")
    if _builds_on_a_daemon(project):
        names.add("buildctl")
    return {name: project.tool_pin(name) for name in KNOWN_PINS if name in names}


def _builds_on_a_daemon(project: Project) -> bool:
    """Whether images may build on a BuildKit daemon, so buildctl is pinned beforehand
    (recording it at the first `doit image` would change gobuild.lock, and the version
    the image embeds would say ``-dirty``): a builder other than the engine in
    gobuild.toml (an address or a buildx builder's name), a registry cache (only a
    daemon uses one), or BUILDKIT_HOST where the lock is written."""
    docker = project.settings.docker
    named = docker.builder is not None and docker.builder not in ("docker", "default")
    return named or docker.cache is not None or bool(project.env.buildkit_host)


@dataclass(frozen=True)
class Resolution:
    """What the proxies and the checksum database said about each pin, before writing."""

    pins: dict[str, ToolPin]
    found: dict[str, ToolLock]  # verified entries to record
    unavailable: dict[str, str]  # pin → why it could not be resolved now
    missing: dict[str, str]  # pin → the one-line error: no module holds it, or no record


@dataclass(frozen=True)
class ToolsLockResult:
    """What :func:`record` left in gobuild.lock, and what it could not record."""

    resolution: Resolution
    tools: dict[str, ToolLock]  # the tools section as written
    dropped: dict[str, ToolLock]  # recorded before, no longer at the tool's pin
    changed: bool

    @property
    def errors(self) -> list[str]:
        """One line for each pin no module holds (or the checksum database lacks)."""
        return list(self.resolution.missing.values())

    def summary(self) -> list[str]:
        """One line per pinned tool (its module, or why it is not recorded), then one per
        dropped entry."""
        res = self.resolution
        lines = []
        for name in res.pins:
            entry = self.tools.get(name)
            if name in res.missing:
                lines.append(res.missing[name])
            elif entry is not None and name in res.unavailable:
                lines.append(
                    f"{name}: {entry.module}@{entry.version} as recorded; {res.unavailable[name]}"
                )
            elif entry is not None:
                lines.append(f"{name}: {entry.module}@{entry.version}")
            else:
                lines.append(f"{name}: {res.unavailable[name]}")
        lines += [
            f"{name}: {held.module}@{held.version} dropped (no longer its pin)"
            for name, held in self.dropped.items()
        ]
        return lines


def resolve(project: Project, reporter: Reporter | None = None) -> Resolution:
    """Resolve every pin (network; nothing is written). Raises IntegrityError where the
    answers contradict an entry gobuild.lock records at the same pin."""
    resolver = Resolver(project, reporter or Silent())
    recorded = lockfile.read(project.lock_file).tools
    pins = pinned(project)
    found: dict[str, ToolLock] = {}
    unavailable: dict[str, str] = {}
    missing: dict[str, str] = {}
    for name, pin in pins.items():
        try:
            resolved = resolver.resolve(pin)
        except ToolError as exc:
            missing[name] = str(exc)
            continue
        except IntegrityError:
            raise  # a database that cannot be trusted is never "unavailable"
        except SourceError as exc:
            unavailable[name] = f"unavailable ({exc})"
            continue
        held = recorded.get(name)
        if held is not None and held.at(pin):
            why = contradiction(
                pin,
                held,
                resolved.module,
                resolved.h1,
                found_by="the module proxy",
                hashed_by="the checksum database",
            )
            if why:
                raise IntegrityError(
                    f"{why}; refusing to replace it (delete the entry if the new one is right)"
                )
        entry = resolved.entry()
        if entry is None:
            unavailable[name] = (
                f"{resolved.module}@{pin.version} is in no checksum database "
                "(GOSUMDB/GONOSUMDB): recorded when first built"
            )
            continue
        found[name] = entry
    return Resolution(pins, found, unavailable, missing)


def record(project: Project, resolution: Resolution) -> ToolsLockResult:
    """Write the tools section ``resolution`` describes (see the module's rules)."""
    before, after = lockfile.update_tools(
        project.lock_file,
        state_dir=project.state_dir,
        pins={name: project.tool_pin(name) for name in KNOWN_PINS},
        found=resolution.found,
    )
    dropped = {name: held for name, held in before.tools.items() if name not in after.tools}
    return ToolsLockResult(resolution, after.tools, dropped, after != before)


def problems(project: Project) -> list[str]:
    """The pins gobuild.lock does not record, or records at another version or package, in
    one line (offline; empty: every pin is recorded). Nothing when the file is missing:
    the toolchain's check says so."""
    if not project.lock_file.exists():
        return []
    recorded = lockfile.read(project.lock_file).tools
    absent, moved = [], []
    for name, pin in pinned(project).items():
        held = recorded.get(name)
        if held is None:
            absent.append(f"{name} {pin.version}")
        elif held.package != pin.package:
            moved.append(f"{name} {held.package}@{held.version} (pinned: {pin.spec})")
        elif held.version != pin.version:
            moved.append(f"{name} {held.version} (pinned: {pin.version})")
    parts = [f"not recorded: {', '.join(absent)}"] if absent else []
    parts += [f"recorded at another pin: {', '.join(moved)}"] if moved else []
    if not parts:
        return []
    name = project.lock_file.name
    return [f"{name} is stale for the pinned tools ({'; '.join(parts)}): run `gobuild lock`"]

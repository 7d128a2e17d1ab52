"""Building a pinned tool once per version, Go and platform, into gobuild's cache.

``go install PACKAGE@VERSION`` is what a team would run; gobuild runs the same steps
with the project's pinned Go (``GOTOOLCHAIN=local``, ``-trimpath``, cgo off, the
project's GOPROXY and checksum database), and around them what a shared cache needs:

- the module holding the package is found as ``go install`` finds it (the longest
  prefix the proxy knows at that version), and its ``h1`` must match gobuild.lock,
  else the checksum database (:mod:`gobuild.modules.sumdb`, the toolchain's verifier),
  before anything is built; a new pin is then recorded in gobuild.lock (``gobuild lock``
  records every pin beforehand, from the same candidates: :mod:`.locking`);
- a tool whose go.mod asks for a newer Go than the project's is built with ``[tools]
  go`` instead, or refused in one line saying which Go it needs;
- ``go install PKG@VERSION`` refuses some modules that build fine as they are released:
  one whose go.mod holds ``replace`` or ``exclude`` directives (BuildKit's), or one
  whose newest version the proxy will not list (it asks, to warn of deprecation). Such
  a tool is built as its own main module from the verified download, with its own
  go.sum (``-mod=readonly``): what ``git clone && go build`` at that tag would do;
- builds happen under a file lock per tool, version, Go and platform, into a temporary
  directory renamed into place with a completion marker, so concurrent runs build once
  and an interrupted one leaves nothing that looks built.

Once gobuild.lock records the tool and the binary is in the cache, nothing runs and
nothing is fetched: the lookup is offline.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import filelock

from gobuild import atomic, proc
from gobuild.atomic import remove_tree
from gobuild.builds.goenv import SCRUBBED, go_environ
from gobuild.errors import ProcessError
from gobuild.progress import Reporter, Silent
from gobuild.project import gomod
from gobuild.project import lock as lockfile
from gobuild.project.config import Project
from gobuild.project.lock import ToolLock
from gobuild.project.toolpins import ToolPin
from gobuild.project.versions import GoVersion
from gobuild.toolchain.cache import Installed
from gobuild.toolchain.install import ensure, request_for, tools_go_request
from gobuild.tools.resolve import (
    Resolver,
    ToolError,
    candidates,
    contradiction,
    fetch_variables,
    not_found,
)

MARKER = "complete.json"


@dataclass(frozen=True)
class Tool:
    """A built tool: its binary and what built it."""

    name: str
    path: Path
    module: str
    version: str
    go: GoVersion


def ensure_tool(project: Project, name: str, reporter: Reporter | None = None) -> Tool:
    """The binary of the pinned tool ``name``, built if the cache lacks it."""
    reporter = reporter or Silent()
    pin = project.tool_pin(name)
    locked = lockfile.read(project.lock_file).tools.get(name)
    if locked is not None and not locked.at(pin):
        locked = None  # the pin moved on: resolve and verify it afresh
    go = ensure(request_for(project), reporter).installed
    if locked is not None:
        # Offline: built by the project's Go, or else by [tools] go.
        built = _cached(project, pin, locked, go)
        if built is None and project.tools_go is not None:
            built = _cached(project, pin, locked, _tools_go(project, pin, locked.module, None))
        if built is not None:
            return built
    return _build(project, pin, locked, go, reporter)


def _home(project: Project, pin: ToolPin, go: Installed) -> Path:
    """One build per tool, version, Go and platform, shared by every project."""
    return (
        project.cache_dir / "tools" / pin.name / pin.version / f"go{go.version}-{go.platform.key}"
    )


def _cached(project: Project, pin: ToolPin, locked: ToolLock, go: Installed) -> Tool | None:
    home = _home(project, pin, go)
    try:
        marker = json.loads((home / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    binary = home / "bin" / _exe(pin.name, go)
    if marker.get("h1") != locked.h1 or not binary.is_file():
        return None
    return Tool(pin.name, binary, locked.module, pin.version, go.version)


def _exe(name: str, go: Installed) -> str:
    return f"{name}.exe" if go.platform.goos == "windows" else name


def _go_for(
    project: Project, pin: ToolPin, module: str, go: Installed, needs: GoVersion | None
) -> Installed:
    """The Go that builds the tool: the project's if new enough (or its go.mod says
    nothing), else ``[tools] go``."""
    if needs is None or go.version >= needs:
        return go
    return _tools_go(project, pin, module, needs)


def _tools_go(project: Project, pin: ToolPin, module: str, needs: GoVersion | None) -> Installed:
    wanted = project.tools_go
    if wanted is None:
        raise ToolError(
            f"{pin.name} {pin.version} needs Go {needs} or later (the go line of "
            f"{module}'s go.mod), newer than the project's: set [tools] go = \"{needs}\" "
            "in gobuild.toml, or pin an older version of the tool"
        )
    installed = ensure(tools_go_request(project, wanted)).installed
    if needs is not None and installed.version < needs:
        raise ToolError(
            f"{pin.name} {pin.version} needs Go {needs} or later; [tools] go is {wanted}"
        )
    return installed


def _build(
    project: Project, pin: ToolPin, locked: ToolLock | None, go: Installed, reporter: Reporter
) -> Tool:
    # The go command downloads no module whose go line is newer than itself: start with
    # the Go the lock says the tool needs, or learn it from the refusal and go again.
    getter = go
    if locked is not None and locked.go and GoVersion.parse(locked.go) > go.version:
        getter = _go_for(project, pin, locked.module, go, GoVersion.parse(locked.go))
    with tempfile.TemporaryDirectory(prefix="gobuild-tool-") as scratch:
        try:
            found = _download(pin, getter, _environ(project, getter), Path(scratch))
        except _NeedsGo as exc:
            getter = _go_for(project, pin, exc.module, go, exc.needs)
            found = _download(pin, getter, _environ(project, getter), Path(scratch))
    module, h1 = str(found["Path"]), str(found.get("Sum", ""))
    _verify(project, pin, (module, h1), locked, reporter)
    mod = gomod.read(Path(str(found["GoMod"])))
    needs = GoVersion.parse(mod.go) if mod.go else None
    builder = _go_for(project, pin, module, go, needs)
    home = _home(project, pin, builder)
    locks = project.cache_dir / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(str(locks / f"tool-{pin.name}-{pin.version}-{home.name}.lock")):
        tool = ToolLock(pin.package, module, pin.version, h1, mod.go or "")
        built = _cached(project, pin, tool, builder)
        if built is None:
            why = (
                ""
                if builder is go
                else (f" ([tools] go: its go.mod needs Go {needs}, the project's is {go.version})")
            )
            reporter.notice(f"building {pin.name} {pin.version} with Go {builder.version}{why}")
            folder = Path(str(found["Dir"]))
            _install(pin, builder, _environ(project, builder), home, tool, folder=folder)
            built = _cached(project, pin, tool, builder)
            assert built is not None
    lockfile.record_tool(project.lock_file, state_dir=project.state_dir, name=pin.name, tool=tool)
    return built


def _environ(project: Project, go: Installed) -> dict[str, str]:
    """The go command's environment for tools: the project's module fetching, nothing of
    its build (no GOFLAGS, no workspace), cgo off."""
    env = {"GOTOOLCHAIN": "local", "GOWORK": "off", "GOENV": "off", "CGO_ENABLED": "0"}
    env.update(fetch_variables(project))  # as the resolver reads them
    return go_environ(go.goroot, project.env.variables, scrub=SCRUBBED, env=env)


# The go command's refusal of a module whose go line is newer than itself (Go >= 1.21).
_REQUIRES_GO = re.compile(r"requires go >= ([0-9][0-9a-z.]*) \(running go")


class _NeedsGo(Exception):
    """The module holding the tool needs a newer Go to download than the one asked."""

    def __init__(self, module: str, needs: GoVersion) -> None:
        super().__init__(f"{module} needs Go {needs}")
        self.module = module
        self.needs = needs


def _download(pin: ToolPin, go: Installed, env: Mapping[str, str], cwd: Path) -> dict[str, object]:
    """``go mod download -json`` of the module holding the package: the longest prefix
    of its path that is a module at that version, as ``go install`` (and the resolver)
    finds it."""
    why = ""
    for candidate in candidates(pin.package):
        try:
            res = proc.run(
                [str(go.go), "mod", "download", "-json", f"{candidate}@{pin.version}"],
                cwd=cwd, env=env, timeout=600, check=False,
            )  # fmt: skip
        except ProcessError as exc:
            raise ToolError(f"{pin.name}: {exc}") from None
        try:
            found = json.loads(res.stdout or "{}")
        except ValueError:
            found = {}
        if res.returncode == 0 and found.get("Path") and not found.get("Error"):
            return dict(found)
        newer = _REQUIRES_GO.search(str(found.get("Error") or res.stderr))
        if newer:  # the module is there, for a newer Go than this one
            raise _NeedsGo(candidate, GoVersion.parse(newer.group(1)))
        # The go command's reason for the full path says most (the shorter ones are
        # guesses); its first line only: the rest is the proxy's elaboration.
        why = why or str(found.get("Error") or res.stderr.strip() or "not found").splitlines()[0]
    raise not_found(pin, why)


def _verify(
    project: Project,
    pin: ToolPin,
    found: tuple[str, str],
    locked: ToolLock | None,
    reporter: Reporter,
) -> None:
    """The module (``found``: module path and h1, as ``go mod download`` saw them) must be
    gobuild.lock's, else the checksum database's."""
    module, h1 = found
    if locked is not None:
        how = "go mod download"
        why = contradiction(pin, locked, module, h1, found_by=how, hashed_by=how)
        if why:
            raise ToolError(f"{why}: the module changed since it was locked; nothing was built")
        return
    expected = Resolver(project, reporter).database_h1(pin, module)
    if expected is not None and expected != h1:
        raise ToolError(
            f"{pin.name}: {module}@{pin.version} has {h1}, but the checksum database says "
            f"{expected}; nothing was built"
        )


# Why `go install PKG@VERSION` refused a module that builds as its own main module.
_AS_MAIN = (
    "must not contain directives",  # replace/exclude in the tool's go.mod
    "loading deprecation for",  # the proxy would not list the module's versions
)


def _install(
    pin: ToolPin,
    go: Installed,
    env: Mapping[str, str],
    home: Path,
    tool: ToolLock,
    *,
    folder: Path,
) -> None:
    """Build ``pin`` (``tool``: its verified module) into ``home``; ``folder`` is the
    module's directory in the module cache."""
    home.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{home.name}.", dir=home.parent))
    try:
        how = "go install"
        try:
            argv = [str(go.go), "install", "-trimpath", pin.spec]
            proc.run(argv, cwd=work, env={**env, "GOBIN": str(work / "bin")}, timeout=3600)
        except ProcessError as exc:
            reason = next((r for r in _AS_MAIN if r in exc.output), None)
            if reason is None:
                raise ToolError(f"{pin.name} {pin.version} did not build: {exc}") from None
            how = f"go build in the module (go install refused it: {reason})"
            _build_as_main(pin, go, env, work, (tool, folder))
        marker = {
            "package": pin.package,
            "version": pin.version,
            "h1": tool.h1,
            "go": str(go.version),
            "how": how,
        }
        atomic.write_text(work / MARKER, json.dumps(marker, indent=2) + "\n")
        if home.exists():
            remove_tree(home)  # a build without its marker: never complete
        work.rename(home)
    except BaseException:
        remove_tree(work)
        raise


def _build_as_main(
    pin: ToolPin, go: Installed, env: Mapping[str, str], work: Path, source: tuple[ToolLock, Path]
) -> None:
    """``pin`` built in a writable copy of its module (``source``: the module and its
    directory in the module cache), as the main module."""
    tool, folder = source
    copy = work / "src"
    shutil.copytree(folder, copy)
    for path in [copy, *copy.rglob("*")]:  # the module cache's files are read-only
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o200)
    binary = work / "bin" / _exe(pin.name, go)
    argv = [str(go.go), "build", "-trimpath", "-mod=readonly", "-o", str(binary), tool.package_dir]
    try:
        proc.run(argv, cwd=copy, env={**env, "GOFLAGS": ""}, timeout=3600)
    except ProcessError as exc:
        raise ToolError(f"{pin.name} {pin.version} did not build in its module: {exc}") from None
    finally:
        remove_tree(copy)

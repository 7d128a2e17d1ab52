"""``gobuild toolchain …``, ``gobuild env`` and ``gobuild go``: the pinned Go, installed,
listed, removed, shown, and run."""

from __future__ import annotations

import argparse
import json
import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gobuild.cli.invocation import EXIT_USER, Invocation
from gobuild.errors import GobuildError
from gobuild.ui import memo, options

if TYPE_CHECKING:
    from gobuild.toolchain.cache import Installed
    from gobuild.toolchain.install import InstallResult, Request

# The installer and the configuration load on first use: a repeat `gobuild toolchain
# install` answered from the memo needs neither.


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the commands' parsers."""
    tc = sub.add_parser("toolchain", help="install, list and remove pinned Go toolchains")
    tsub = tc.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = tsub.add_parser("install", help="install the pinned Go (or VERSION)")
    p.add_argument("version", nargs="?", help="e.g. 1.22.10, 1.22, go1.22rc1")
    _output_flags(p)
    p.set_defaults(handler=install)
    p = tsub.add_parser("list", help="installed versions, their sizes, and the project's")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=list_installed)
    p = tsub.add_parser("remove", help="delete one installed version")
    p.add_argument("version")
    p.set_defaults(handler=remove)
    p = tsub.add_parser("path", help="print the GOROOT of the pinned Go (or VERSION)")
    p.add_argument("version", nargs="?")
    p.set_defaults(handler=path)

    p = sub.add_parser(
        "lock",
        help="record the pinned Go's hashes for every platform, and the pinned tools' "
        "modules, in gobuild.lock",
    )
    p.add_argument(
        "--upgrade", action="store_true", help="move a series pin (1.22) to its newest release"
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if gobuild.lock is stale or incomplete (offline; for CI)",
    )
    p.set_defaults(handler=lock)

    p = sub.add_parser("env", help="print the build environment as shell exports (eval them)")
    _output_flags(p)
    options.PROFILE.add_to(p)
    p.set_defaults(handler=env)

    p = sub.add_parser("go", help="run the pinned go with ARGS", add_help=False)
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(handler=go)


def _output_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print a JSON result")
    p.add_argument("-v", "--verbose", action="store_true", help="show per-stage timings")


def _request(inv: Invocation, version: str | None = None) -> Request:
    from gobuild.toolchain.install import request_for  # noqa: PLC0415 - see the note at the top

    return request_for(inv.project, version)


def ensure(inv: Invocation, req: Request | None = None) -> InstallResult:
    """Make the requested (default: the project's) Go present, with progress on stderr."""
    from gobuild.toolchain.install import ensure  # noqa: PLC0415 - see the note at the top
    from gobuild.ui import console  # noqa: PLC0415

    with console.reporter(inv.err) as reporter:
        return ensure(req or _request(inv), reporter)


def installed(inv: Invocation) -> Installed:
    """The project's Go, found offline when gobuild.lock and the cache have it (no source
    is asked, so no source notices), else installed."""
    from gobuild.toolchain.install import find_installed  # noqa: PLC0415 - see the note at the top

    req = _request(inv)
    return find_installed(req) or ensure(inv, req).installed


def install(inv: Invocation) -> int:
    """Install the pinned Go (or VERSION); a plain repeat is answered from the memo."""
    args = inv.args
    # A plain install of the project's pin can be remembered (--verbose wants timings).
    plain = args.version is None and not args.verbose
    if plain:
        remembered = memo.lookup(inv.cwd, inv.env)
        if remembered is not None:
            return _print_install(inv, remembered)
    req = _request(inv, args.version)
    result = ensure(inv, req)
    if plain:
        i = result.installed
        marker = req.cache.marker(i.version, i.platform)
        memo.remember(inv.cwd, inv.project.root, inv.env, result.as_json(), marker)
    return _print_install(inv, result.as_json())


def lock(inv: Invocation) -> int:
    """Resolve and record every lock platform's hashes and every pinned tool's module, or
    (--check) report what is missing; a pin no module holds fails it."""
    from gobuild.toolchain import locking  # noqa: PLC0415 - see the note at the top
    from gobuild.tools import locking as tool_locking  # noqa: PLC0415

    if inv.args.check:
        if inv.args.upgrade:
            raise GobuildError("--check and --upgrade do not go together")
        found = [*locking.problems(inv.project), *tool_locking.problems(inv.project)]
        for line in found:
            print(f"gobuild: {line}", file=inv.err)
        if found:
            return EXIT_USER
        inv.say(f"{inv.project.lock_file.name} is up to date")
        return 0
    errors = report_lock(inv, upgrade=inv.args.upgrade)
    for line in errors:
        print(f"gobuild: error: {line}", file=inv.err)
    return EXIT_USER if errors else 0


def report_lock(inv: Invocation, *, upgrade: bool = False) -> list[str]:
    """Lock the project (progress and notices on stderr), say what was recorded and warn,
    in one line, of what is still missing. Returns the pins no module holds (one line
    each): ``gobuild lock`` fails on them, ``gobuild init`` has warned."""
    from gobuild.toolchain import locking  # noqa: PLC0415 - see the note at the top
    from gobuild.tools import locking as tool_locking  # noqa: PLC0415
    from gobuild.ui import console  # noqa: PLC0415

    project = inv.project
    with console.reporter(inv.err) as reporter:
        # The tools are resolved first: an answer contradicting the lock stops it all
        # before anything is written.
        resolution = tool_locking.resolve(project, reporter)
        result = locking.lock(project, upgrade=upgrade, reporter=reporter)
        # [tools] go is locked as the project's Go is: every platform, verified hashes.
        tools_go = (
            locking.lock(project, upgrade=upgrade, reporter=reporter, section="tools_go")
            if project.tools_go
            else None
        )
        tools = tool_locking.record(project, resolution)
    changed = result.changed or tools.changed or (tools_go is not None and tools_go.changed)
    inv.say(
        f"{project.lock_file.name} {'updated' if changed else 'unchanged'}: Go {result.version}"
    )
    lines = result.summary()
    if tools_go is not None:
        lines += [f"[tools] go {tools_go.version}: {line}" for line in tools_go.summary()]
    for line in [*lines, *tools.summary()]:
        inv.say(f"  {line}")
    lacking = [*locking.problems(project), *tool_locking.problems(project)]
    if lacking:
        print(f"gobuild: warning: {'; '.join(lacking)}", file=inv.err)
    return tools.errors


def _print_install(inv: Invocation, result: Mapping[str, Any]) -> int:
    if inv.args.json:
        inv.say(json.dumps(result, indent=2))
        return 0
    state = "already installed" if result["cached"] else f"installed from {result['source']}"
    inv.say(f"Go {result['version']} ({result['platform']}) {state}: {result['goroot']}")
    if inv.args.verbose:
        for stage, seconds in result["timings"].items():
            inv.say(f"  {stage:<9} {seconds:8.3f}s")
    return 0


def path(inv: Invocation) -> int:
    """Print the GOROOT of the installed pin (no network)."""
    from gobuild.toolchain.install import find_installed  # noqa: PLC0415

    req = _request(inv, inv.args.version)
    found = find_installed(req)
    if found is None:
        raise GobuildError(f"Go {req.request} is not installed; run `gobuild toolchain install`")
    inv.say(str(found.goroot))
    return 0


def remove(inv: Invocation) -> int:
    """Delete one installed version."""
    from gobuild.project.versions import GoVersion  # noqa: PLC0415

    req = _request(inv, inv.args.version)
    version = GoVersion.parse(inv.args.version)
    if not req.cache.remove(version, req.platform):
        raise GobuildError(f"Go {version} ({req.platform}) is not installed")
    inv.say(f"removed Go {version} ({req.platform})")
    return 0


def list_installed(inv: Invocation) -> int:
    """Installed versions, their sizes and sources; ``*`` marks the project's."""
    from gobuild.toolchain.install import find_installed  # noqa: PLC0415

    req = _request(inv)
    try:
        current = find_installed(req)
    except GobuildError:
        current = None
    rows = req.cache.list()
    if inv.args.json:
        data = [
            {
                "version": str(i.version),
                "platform": str(i.platform),
                "goroot": str(i.goroot),
                "size": i.size,
                "source": i.source,
                "project": i == current,
            }
            for i in rows
        ]
        inv.say(json.dumps(data, indent=2))
        return 0
    if not rows:
        inv.say(f"no toolchains installed in {req.cache.root}")
        return 0
    for i in rows:
        mark = "*" if i == current else " "
        size = f"{i.size / 2**20:8.1f} MiB"
        inv.say(f"{mark} {i.version!s:<10} {i.platform!s:<13} {size}  {i.source:<8} {i.goroot}")
    if current:
        inv.say("* used by this project")
    return 0


def env(inv: Invocation) -> int:
    """Shell exports (or JSON) for the pinned Go and a profile's environment."""
    from gobuild.builds.goenv import profile_env  # noqa: PLC0415

    project = inv.project.with_profile(options.PROFILE.value(inv.args.profile))
    found = installed(inv)  # the pin is the same in every profile
    goroot = found.goroot
    exports = {"GOROOT": str(goroot), **profile_env(project), **_shared_cache(inv, found)}
    if inv.args.json:
        data = {**exports, "PATH_PREFIX": str(goroot / "bin"), "PROFILE": project.profile_name}
        inv.say(json.dumps(data, indent=2, sort_keys=True))
        return 0
    inv.say(f"# gobuild profile {project.profile_name}")
    for name, value in sorted(exports.items()):
        inv.say(f"export {name}={shlex.quote(value)}")
    inv.say(f'export PATH={shlex.quote(str(goroot / "bin"))}:"$PATH"')
    return 0


def _shared_cache(inv: Invocation, found: Installed) -> dict[str, str]:
    """GOCACHEPROG for ``[cache] remote``, when it answers (else a warning on stderr)."""
    from gobuild.gocache import shared  # noqa: PLC0415
    from gobuild.ui.console import Notices  # noqa: PLC0415

    project, notices = inv.project, Notices(inv.err)
    ready = shared.prepare(project, found, notices)
    return shared.connect(ready, project.env.network, notices.notice)


def go(inv: Invocation) -> int:
    """Run the pinned go with the arguments; its exit code is the command's."""
    from gobuild import proc  # noqa: PLC0415
    from gobuild.builds.goenv import go_environ  # noqa: PLC0415

    found = installed(inv)
    res = proc.run(
        [found.go, *inv.args.args],
        cwd=inv.cwd,
        env=go_environ(found.goroot, {**inv.env.variables, **_shared_cache(inv, found)}),
        check=False,
        capture=False,
    )
    return res.returncode

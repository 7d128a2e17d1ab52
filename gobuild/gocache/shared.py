"""Whether a go command uses the shared cache, and with which GOCACHEPROG.

:func:`prepare` is the part that may build (the pinned plugin, the verifier); it runs
where the pinned Go is installed. :func:`connect` runs just before the go commands:
the remote is probed (one request, a few seconds at most), and one that does not
answer leaves the go commands on their local cache with one warning. Without the
probe a remote that is down costs each of the go command's lookups the AWS SDK's
retries (a build then runs several times slower than with no remote at all), and one
that hangs stalls the build.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gobuild import proc
from gobuild.builds.goenv import SCRUBBED, go_environ
from gobuild.errors import ConfigError
from gobuild.gocache import command
from gobuild.gocache.command import SharedCache
from gobuild.gocache.verifier import ensure_verifier

if TYPE_CHECKING:
    from gobuild.network.config import Network
    from gobuild.progress import Reporter
    from gobuild.project.config import Project
    from gobuild.toolchain.cache import Installed

PROBE_TIMEOUT = 3.0


def prepare(project: Project, go: Installed, reporter: Reporter) -> SharedCache | None:
    """The project's shared cache (None without ``[cache] remote``): the pinned plugin
    and the verifier built if need be. ConfigError when ``go`` is older than Go 1.24."""
    from gobuild.tools.install import ensure_tool  # noqa: PLC0415 - builds only here

    cache = project.settings.cache
    if cache.remote is None:
        return None
    command.require_go(go.version, project.config_file)
    plugin = ensure_tool(project, "go-cache-plugin", reporter).path
    verifier = ensure_verifier(project.cache_dir, go, dict(project.env.variables))
    staging = _local_cache(go, project) / "gocacheprog" / command.staging_name(cache)
    return SharedCache(
        remote=cache.remote,
        probe_url=command.probe_url(cache),
        verifier=str(verifier),
        plugin=tuple(command.plugin_argv(cache, plugin, staging)),
    )


def connect(
    shared: SharedCache | None,
    network: Network,
    notice: Callable[[str], None],
    stats: Path | None = None,
) -> dict[str, str]:
    """The variables that make a go command use ``shared``, if its remote answers; else
    none, and one warning to ``notice``."""
    from gobuild.fetch import unreachable  # noqa: PLC0415 - urllib3 only when probing

    if shared is None:
        return {}
    why = unreachable(network, shared.probe_url, PROBE_TIMEOUT)
    if why is not None:
        notice(f"{command.unanswered(shared.remote)} ({why})")
        return {}
    return shared.environ(stats)


def _local_cache(go: Installed, project: Project) -> Path:
    """The machine's Go build cache (``go env GOCACHE``). The plugin's staging directory
    goes inside it: it is this machine's copy of the shared cache, and ``go clean
    -cache`` clears it with the rest."""
    env = go_environ(go.goroot, project.env.variables, scrub=SCRUBBED)
    res = proc.run([str(go.go), "env", "GOCACHE"], env=env, cwd=project.root, timeout=60)
    found = res.stdout.strip()
    if not found or found == "off":
        raise ConfigError(
            f"{project.config_file}: cache.remote: the go command has no build cache here "
            f"(GOCACHE={found or 'unset'}); set GOCACHE to a directory"
        )
    return Path(found)

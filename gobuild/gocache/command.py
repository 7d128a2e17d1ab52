"""GOCACHEPROG's value: the verifier, then the plugin with the ``[cache]`` settings.

No secret goes into it: ``go env`` prints GOCACHEPROG and process listings show it,
so the plugin takes its credentials from the AWS variables (or the SDK's other
sources) in its environment.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gobuild.errors import ConfigError
from gobuild.project.remotes import parse_remote
from gobuild.project.versions import GoVersion

if TYPE_CHECKING:
    from gobuild.project.settings import CacheSection

MINIMUM_GO = GoVersion(1, 24, 0)  # GOCACHEPROG without GOEXPERIMENT
VERIFIER_SOURCE = "cacheprog/verify.go"  # in the gobuild.templates resource package


def require_go(version: GoVersion, config_file: Path) -> None:
    """ConfigError unless ``version`` (the project's pinned Go) runs GOCACHEPROG."""
    if version < MINIMUM_GO:
        raise ConfigError(
            f"{config_file}: cache.remote needs Go {MINIMUM_GO.major}.{MINIMUM_GO.minor} or "
            f"later (GOCACHEPROG); the project's Go is {version}"
        )


def verifier_source() -> str:
    """The verifier's Go source, as shipped."""
    return (resources.files("gobuild.templates") / VERIFIER_SOURCE).read_text(encoding="utf-8")


def verifier_name(source: str) -> str:
    """The directory name of a build of the verifier's ``source``: its digest (a new
    source is a new build)."""
    return "verify-" + hashlib.sha256(source.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SharedCache:
    """A ready shared cache: the verifier and plugin command lines, and where to probe
    (plain data: a remembered check plan holds it)."""

    remote: str  # s3://bucket/prefix, for messages
    probe_url: str
    verifier: str
    plugin: tuple[str, ...]

    def environ(self, stats: Path | None = None) -> dict[str, str]:
        """The go command's variables to use it (``stats``: see :mod:`.lookups`)."""
        return {"GOCACHEPROG": join(verified_argv(Path(self.verifier), self.plugin, stats))}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SharedCache:
        """The value ``dataclasses.asdict`` made of one."""
        return cls(
            remote=str(data["remote"]),
            probe_url=str(data["probe_url"]),
            verifier=str(data["verifier"]),
            plugin=tuple(str(a) for a in data["plugin"]),
        )


def plugin_argv(cache: CacheSection, plugin: Path, staging: Path) -> list[str]:
    """go-cache-plugin's command line for ``cache`` (its ``remote`` set), staging objects
    in ``staging`` (the per-machine local copy)."""
    assert cache.remote is not None
    bucket = parse_remote(cache.remote)
    argv = [
        str(plugin),
        f"--cache-dir={staging}",
        f"--bucket={bucket.name}",
        f"--region={cache.region}",
    ]
    if bucket.prefix:
        argv.append(f"--prefix={bucket.prefix}")
    if cache.endpoint is not None:
        argv.append(f"--s3-endpoint-url={cache.endpoint}")
    if path_style(cache):
        argv.append("--s3-path-style")
    return argv


def probe_url(cache: CacheSection) -> str:
    """The bucket's URL, as the plugin will address it (``cache.remote`` set)."""
    assert cache.remote is not None
    bucket = parse_remote(cache.remote).name
    endpoint = cache.endpoint or f"https://s3.{cache.region}.amazonaws.com"
    if path_style(cache):
        return f"{endpoint}/{bucket}"
    scheme, _, host = endpoint.partition("://")
    return f"{scheme}://{bucket}.{host}/"


def path_style(cache: CacheSection) -> bool:
    """Whether the bucket goes in the path: as configured, else when endpoint is set."""
    return cache.path_style if cache.path_style is not None else cache.endpoint is not None


def staging_name(cache: CacheSection) -> str:
    """The plugin's staging directory's name: one per remote (bucket, prefix, endpoint)."""
    where = f"{cache.remote} {cache.endpoint or ''}"
    return hashlib.sha256(where.encode()).hexdigest()[:16]


def unanswered(remote: str) -> str:
    """The warning when the remote did not answer its probe (the reason follows it, in
    parentheses)."""
    return (
        f"warning: the shared Go build cache {remote} did not answer; "
        "building with the local cache alone"
    )


def verified_argv(verifier: Path, plugin: Sequence[str], stats: Path | None = None) -> list[str]:
    """The verifier standing before the plugin (``stats``: where it appends its counts)."""
    return [str(verifier), *(["-stats", str(stats)] if stats else []), "--", *plugin]


def join(argv: Sequence[str]) -> str:
    """``argv`` as one GOCACHEPROG value, quoted as the go command splits it (fields
    with spaces in single or double quotes; a field holding both cannot be said)."""
    out: list[str] = []
    for field in argv:
        if field and not any(c.isspace() or c in "'\"" for c in field):
            out.append(field)
        elif "'" not in field:
            out.append(f"'{field}'")
        elif '"' not in field:
            out.append(f'"{field}"')
        else:
            raise ConfigError(f"GOCACHEPROG cannot hold {field!r}: it has both kinds of quote")
    return " ".join(out)

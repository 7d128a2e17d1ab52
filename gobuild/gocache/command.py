"""GOCACHEPROG's value: the verifier, then the plugin with the ``[cache]`` settings.

No secret goes into it: ``go env`` prints GOCACHEPROG and process listings show it,
so the plugin takes its credentials from the AWS variables (or the SDK's other
sources) in its environment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gobuild.errors import ConfigError
from gobuild.project.remotes import parse_remote

if TYPE_CHECKING:
    from gobuild.project.settings import CacheSection


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
    if cache.path_style if cache.path_style is not None else cache.endpoint is not None:
        argv.append("--s3-path-style")
    return argv


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

"""The pinned GOCACHEPROG plugin as gobuild.lock records it, for tests that write the
lock by hand (what `gobuild lock` records, without the network)."""

from __future__ import annotations

from gobuild.project.lock import ToolLock
from tests.s3env import CACHE_PLUGIN

PLUGIN_LOCK = ToolLock(
    package=CACHE_PLUGIN.package,
    module=CACHE_PLUGIN.module,
    version=CACHE_PLUGIN.version,
    h1=CACHE_PLUGIN.h1,
    go=CACHE_PLUGIN.go,
)

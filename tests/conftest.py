"""Shared fixtures: a loopback go.dev-layout mirror, real and fake Go archives, projects."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests import godist
from tests.buildenv import GoEnv
from tests.mirror import Mirror, MirrorServer


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # No test may touch the developer's real cache or a configured mirror.
    monkeypatch.setenv("GOBUILD_CACHE", str(tmp_path / "gobuild-cache"))
    monkeypatch.delenv("GOBUILD_GO_MIRROR", raising=False)


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    """An empty loopback mirror; tests publish what they need with ``mirror.add``."""
    with MirrorServer() as state:
        yield state


@pytest.fixture(scope="session")
def real_archives() -> dict[str, Path]:
    """go.dev-layout archives of the real Go releases in ``godist.REAL_VERSIONS``."""
    return {v: godist.real_archive(v) for v in godist.REAL_VERSIONS}


@pytest.fixture
def real_mirror(mirror: Mirror, real_archives: dict[str, Path]) -> Mirror:
    """A mirror publishing the real Go archives."""
    for version, path in real_archives.items():
        mirror.add(version, path)
    return mirror


MakeProject = Callable[..., Path]


@pytest.fixture
def make_project(tmp_path: Path) -> MakeProject:
    """Write a Go module with a gobuild.toml; returns its root."""

    def make(
        pin: str | None = "1.22.10",
        *,
        mirror: Mirror | None = None,
        sources: tuple[str, ...] = ("official",),
        go_line: str = "1.22",
        extra: str = "",
        name: str = "proj",
    ) -> Path:
        root = tmp_path / name
        root.mkdir()
        (root / "go.mod").write_text(f"module example.com/{name}\n\ngo {go_line}\n")
        (root / "main.go").write_text('package main\n\nfunc main() { println("hi") }\n')
        lines = []
        if pin:
            lines += ["[go]", f'version = "{pin}"', ""]
        lines += ["[toolchain]", f"sources = {list(sources)!r}".replace("'", '"'), "retries = 2"]
        if mirror:
            lines.append(f'mirror = "{mirror.url}"')
        (root / "gobuild.toml").write_text("\n".join(lines) + "\n" + textwrap.dedent(extra))
        return root

    return make


@pytest.fixture
def cache_dir() -> Path:
    """The per-test toolchain cache (GOBUILD_CACHE)."""
    return Path(os.environ["GOBUILD_CACHE"])


@pytest.fixture(scope="session")
def go(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GoEnv]:
    """Go 1.21.13, 1.22.10 and 1.27.3 served from a loopback mirror into one shared cache."""
    with MirrorServer() as mirror:
        for v in godist.REAL_VERSIONS:
            mirror.add(v, godist.real_archive(v))
        base = tmp_path_factory.mktemp("goenv")
        env = GoEnv(cache=base / "toolchains", gocache=base / "gocache", mirror_url=mirror.url)
        yield env

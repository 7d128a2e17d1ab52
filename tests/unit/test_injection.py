"""Every user-controlled value reaches the generated Dockerfile and .dockerignore exactly,
or is rejected clearly.

Hypothesis writes gobuild.toml files full of quotes, ``$``, ``#``, backslashes, control
characters and template syntax (tests/injection.py says what is checked, and how). The
project is the twobin fixture with a gobuild.lock written by hand: rendering reads the
lock and never runs Go. ``make -n`` is tests/functional/test_injection.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import jinja2
import pytest
from hypothesis import event, given, settings

from gobuild.digest import Artifact
from gobuild.project import lock as lockfile
from gobuild.project.platforms import host
from gobuild.project.versions import GoVersion
from gobuild.render import engine
from tests import godist
from tests.buildenv import FIXTURES
from tests.injection import (
    FIELDS,
    FUZZ,
    GO_VERSION,
    Cfg,
    Repo,
    base_cfg,
    broken_filter_is_caught,
    broken_rows,
    fuzz_field,
    generated_case,
    toml_roundtrip,
    whole_configs,
)


class CompiledOnce(jinja2.BytecodeCache):
    """Jinja's bytecode cache, in memory: each template's code is compiled once."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if (code := self.code.get(bucket.key)) is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


@pytest.fixture(scope="module", autouse=True)
def _templates_compiled_once() -> Iterator[None]:
    """gobuild makes a fresh Jinja environment for every file it renders, so it compiles the
    template again each time: two thirds of a render, and these tests render thousands.
    Jinja's bytecode cache keeps the compiled code (keyed by the template's name and source)
    and changes nothing else: every render still gets gobuild's own environment and filters
    (so test_checks_catch_a_broken_filter's stand-ins are seen at once)."""
    cache = CompiledOnce()
    real = engine.environment

    def environment() -> jinja2.Environment:
        env = real()
        env.bytecode_cache = cache
        return env

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "environment", environment)
        yield


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repo]:
    root = tmp_path_factory.mktemp("inj") / "r"
    shutil.copytree(FIXTURES / "twobin", root)
    # What `gobuild toolchain install` would lock (the generated files pin this version).
    version = GoVersion.parse(GO_VERSION)
    artifact = Artifact(godist.archive_name(GO_VERSION), "0" * 64)
    lock = lockfile.Lock(GO_VERSION, version, {host().key: {"official": artifact}})
    (root / "gobuild.lock").write_text(lockfile.dumps(lock), encoding="utf-8")
    r = Repo(root, cache=root.parent / "cache")
    assert r.render(base_cfg()) is not None
    yield r


@pytest.mark.parametrize("field", list(FIELDS))
def test_generated_files_carry_value_exactly_or_reject(repo: Repo, field: str) -> None:
    fuzz_field(repo, field, generated_case, FUZZ)


@settings(FUZZ, max_examples=100)
@given(cfg=whole_configs())
def test_all_fields_together_in_the_dockerfile(repo: Repo, cfg: Cfg) -> None:
    assert repo.render(base_cfg()) is not None
    toml_roundtrip(cfg)
    event("accepted" if generated_case(repo, cfg) else "rejected")


# --- the checks themselves can fail ----------------------------------------------------


@pytest.mark.parametrize("broken", broken_rows("docker"), ids=lambda row: f"{row[1]}-{row[3]}")
def test_checks_catch_a_broken_filter(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, broken: tuple[str, str, Any, str, Any]
) -> None:
    broken_filter_is_caught(repo, monkeypatch, generated_case, broken)

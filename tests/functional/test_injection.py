"""Every user-controlled value reaches ``make -n`` exactly, or is rejected clearly.

Hypothesis writes gobuild.toml files full of quotes, ``$``, ``#``, backslashes, control
characters and template syntax (tests/injection.py says what is checked, and how); real
make shows the recipes of build, dist, clean, docker and install-go, and runs ``make
docker`` with a stand-in client. The project is built with the real pinned Go. The
Dockerfile and .dockerignore are tests/unit/test_injection.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import event, given, settings

from gobuild.project.platforms import host
from tests.buildenv import GoEnv, make_repo
from tests.injection import (
    FUZZ_MAKE,
    MAKE_FIELDS,
    Cfg,
    Repo,
    base_cfg,
    broken_filter_is_caught,
    broken_rows,
    fuzz_field,
    make_case,
    toml_roundtrip,
    whole_configs,
)

pytestmark = pytest.mark.skipif(host().key != "linux-amd64", reason="real archives are linux/amd64")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, go: GoEnv) -> Iterator[Repo]:
    root = make_repo(tmp_path_factory.mktemp("inj") / "r", "twobin", go)
    r = Repo(root, go.cache, go)
    assert r.render(base_cfg()) is not None
    yield r


@pytest.mark.parametrize("field", MAKE_FIELDS)
def test_make_n_shows_value_exactly_or_reject(repo: Repo, field: str) -> None:
    fuzz_field(repo, field, make_case, FUZZ_MAKE)


@settings(FUZZ_MAKE)
@given(cfg=whole_configs())
def test_all_fields_together_in_make_n(repo: Repo, cfg: Cfg) -> None:
    assert repo.render(base_cfg()) is not None
    toml_roundtrip(cfg)
    event("accepted" if make_case(repo, cfg) else "rejected")


# --- the checks themselves can fail ----------------------------------------------------


@pytest.mark.parametrize("broken", broken_rows("make"), ids=lambda row: f"{row[1]}-{row[3]}")
def test_checks_catch_a_broken_filter(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, broken: tuple[str, str, Any, str, Any]
) -> None:
    broken_filter_is_caught(repo, monkeypatch, make_case, broken)

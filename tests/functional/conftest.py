"""Fixtures the functional tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import dockerenv

# The stand-in golang and alpine images the engine's tests build from (no registry here).
ENGINE_GO = "1.22.10"
ENGINE_ALPINE = "3.20"


@pytest.fixture(scope="module")
def engine() -> Iterator[str]:
    """The local Docker engine's client, with the stand-in base images made; else skip."""
    reason = dockerenv.unavailable()
    if reason:
        pytest.skip(f"docker tests skipped: {reason}")
    dockerenv.ensure_golang(ENGINE_GO, ENGINE_ALPINE)
    dockerenv.ensure_alpine(ENGINE_ALPINE)
    yield dockerenv.which_client()

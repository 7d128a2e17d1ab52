"""`gobuild toolchain install` over the environment's network: a mirror that only a
forward proxy can reach (its name resolves nowhere else), as behind a corporate proxy.
The fetcher's rules one by one are tests/unit/test_fetch.py's."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from gobuild.cli import main as cli
from tests import godist
from tests.conftest import MakeProject
from tests.mirror import Mirror
from tests.netproxy import ForwardProxy, running

SECRET = "pr0xy-s3cret"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    server = ForwardProxy({"mirror.test": "127.0.0.1"}, credentials=f"me:{SECRET}")
    with running(server):
        yield server


@pytest.fixture
def project(mirror: Mirror, make_project: MakeProject) -> Path:
    mirror.add("1.22.10", godist.fake_archive("1.22.10"))
    port = mirror.url.rsplit(":", 1)[1]
    return make_project("1.22.10", extra=f'mirror = "http://mirror.test:{port}"\n')


def test_install_through_an_authenticating_proxy(
    project: Path, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url_with(f"me:{SECRET}"))
    code, _, err = run("-C", str(project), "toolchain", "install")
    assert code == 0, err
    targets = [s.target for s in proxy.seen()]
    assert any(t.startswith("http://mirror.test:") and "/dl/go1.22.10." in t for t in targets)
    assert SECRET not in (project / "gobuild.lock").read_text()


def test_proxy_refusal_is_one_line_without_the_secret(
    project: Path, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", proxy.url_with("me:not-the-password"))
    code, out, err = run("-C", str(project), "toolchain", "install")
    assert code == 1
    assert err.startswith("gobuild: error:") and err.count("\n") == 1, err
    assert "rejected the credentials" in err and "me:xxxxx@" in err
    assert "not-the-password" not in out + err


def test_no_proxy_sends_the_mirror_direct(
    project: Path, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url_with(f"me:{SECRET}"))
    monkeypatch.setenv("NO_PROXY", ".test")
    code, _, err = run("-C", str(project), "toolchain", "install")
    assert code == 1
    assert "cannot resolve host mirror.test" in err
    assert proxy.seen() == []

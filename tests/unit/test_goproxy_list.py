"""GOPROXY lists walked as the go command walks them (gobuild.modules.goproxy)."""

from __future__ import annotations

import pytest

from gobuild.errors import ConfigError, NotFound, SourceError, SourceUnreachable
from gobuild.modules import goproxy


def test_parse_separators_and_modes() -> None:
    entries = goproxy.parse("https://a.example/,https://b.example|file:///srv/m,direct")
    assert [(e.url, e.fall_through_on_error) for e in entries] == [
        ("https://a.example", False),
        ("https://b.example", True),
        ("file:///srv/m", False),
        ("direct", False),
    ]
    assert [e.is_proxy for e in entries] == [True, True, True, False]


@pytest.mark.parametrize("bad", ["", " , ", "proxy.example", "https://a,ftp-ish"])
def test_parse_rejects(bad: str) -> None:
    with pytest.raises(ConfigError):
        goproxy.parse(bad)


def walk(value: str, outcomes: dict[str, Exception | str]) -> tuple[str, list[str], list[str]]:
    """Run ProxyList.first with per-proxy outcomes; returns (result, tried, notes)."""
    tried: list[str] = []
    notes: list[str] = []

    def attempt(base: str) -> str:
        tried.append(base)
        outcome = outcomes[base]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    result = goproxy.ProxyList(value, note=notes.append).first("m@v", attempt)
    return result, tried, notes


def test_comma_falls_through_on_not_found_only() -> None:
    result, tried, _ = walk("http://a,http://b", {"http://a": NotFound("404"), "http://b": "ok"})
    assert (result, tried) == ("ok", ["http://a", "http://b"])
    with pytest.raises(SourceUnreachable):
        walk("http://a,http://b", {"http://a": SourceUnreachable("500"), "http://b": "ok"})


def test_pipe_falls_through_on_any_error() -> None:
    result, tried, _ = walk(
        "http://a|http://b", {"http://a": SourceUnreachable("500"), "http://b": "ok"}
    )
    assert (result, tried) == ("ok", ["http://a", "http://b"])


def test_off_stops_and_direct_is_skipped_with_one_note() -> None:
    with pytest.raises(SourceError, match="GOPROXY=off"):
        walk("off", {})
    with pytest.raises(NotFound):
        walk("http://a,off,http://b", {"http://a": NotFound("404"), "http://b": "ok"})
    result, tried, notes = walk("direct,http://b", {"http://b": "ok"})
    assert (result, tried) == ("ok", ["http://b"])
    assert len(notes) == 1 and "direct" in notes[0]


def test_all_not_found_is_not_found() -> None:
    with pytest.raises(NotFound):
        walk("http://a,direct", {"http://a": NotFound("404")})


def test_urls_keep_direct_and_off_for_the_checksum_database() -> None:
    plist = goproxy.ProxyList("http://a,direct,http://b,off")
    assert plist.urls() == ["http://a", "direct", "http://b", "off"]
    assert not plist.single_file_proxy
    assert goproxy.ProxyList("file:///srv/dist").single_file_proxy

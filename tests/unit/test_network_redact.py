"""gobuild.network.redact: URLs and free text shown without their credentials, and a
URL's user information taken out."""

from __future__ import annotations

import pytest

from gobuild.network.credentials import basic_auth
from gobuild.network.redact import redact, redact_text, split_userinfo

# -- redaction -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:token@proxy.corp/p?q", "https://user:xxxxx@proxy.corp/p?q"),
        ("https://token@proxy.corp/", "https://xxxxx@proxy.corp/"),
        ("https://user:@proxy.corp/", "https://user:xxxxx@proxy.corp/"),
        ("https://u:p@ss@proxy.corp:8443/", "https://u:xxxxx@proxy.corp:8443/"),
        ("https://proxy.corp/a@b", "https://proxy.corp/a@b"),
        ("file:///tmp/x", "file:///tmp/x"),
        ("proxy.corp:3128", "proxy.corp:3128"),
    ],
)
def test_redact(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_redact_text_finds_urls_and_known_secrets() -> None:
    text = (
        "HTTPSConnectionPool(host='h', port=443): Max retries exceeded with url: "
        "http://u:hunter22@h/x (Caused by ProxyError('http://tok@p:1', 'hunter22 again'))"
    )
    out = redact_text(text, ["hunter22", "ab"])
    assert "hunter22" not in out and "tok@" not in out
    assert "http://u:xxxxx@h/x" in out and "http://xxxxx@p:1" in out
    assert "ab" in redact_text("abc", ["ab"])  # too short to scrub from free text


def test_split_userinfo_decodes() -> None:
    assert split_userinfo("https://p%40u:a%3Ab@h:1/x?y") == ("https://h:1/x?y", "p@u", "a:b")
    assert split_userinfo("https://tok@h/") == ("https://h/", "tok", None)
    assert split_userinfo("https://h/") == ("https://h/", None, None)
    assert basic_auth("u", "p") == "Basic dTpw"

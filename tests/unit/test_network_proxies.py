"""gobuild.network.proxies through Network.proxy_for: which proxy a URL goes through,
as golang.org/x/net/http/httpproxy decides (HTTP_PROXY, HTTPS_PROXY, NO_PROXY)."""

from __future__ import annotations

import pytest

from gobuild.errors import SourceError
from gobuild.network.config import Network

# -- proxies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "url", "want"),
    [
        ({"HTTP_PROXY": "127.0.0.1:8080"}, "http://example.com", "http://127.0.0.1:8080"),
        (
            {"HTTP_PROXY": "cache.corp.example.com:1234"},
            "http://example.com",
            "http://cache.corp.example.com:1234",
        ),
        (
            {"HTTP_PROXY": "cache.corp.example.com"},
            "http://example.com",
            "http://cache.corp.example.com",
        ),
        ({"HTTP_PROXY": "localhost"}, "http://example.com", "http://localhost"),
        (
            {"HTTP_PROXY": "https://cache.corp.example.com"},
            "http://example.com",
            "https://cache.corp.example.com",
        ),
        ({"HTTP_PROXY": "h.tld", "HTTPS_PROXY": "s.tld"}, "http://insecure.tld/", "http://h.tld"),
        ({"HTTP_PROXY": "h.tld", "HTTPS_PROXY": "s.tld"}, "https://secure.tld/", "http://s.tld"),
        (
            {"HTTP_PROXY": "h.tld", "HTTPS_PROXY": "https://s.tld"},
            "https://secure.tld/",
            "https://s.tld",
        ),
        ({"HTTP_PROXY": "h.tld"}, "https://secure.tld/", None),  # no fallback to HTTP_PROXY
        ({"HTTP_PROXY": "h.tld"}, "ftp://insecure.tld/", None),
        ({}, "http://example.com", None),
        ({"NO_PROXY": "example.com", "HTTP_PROXY": "proxy"}, "http://example.com/", None),
        (
            {"NO_PROXY": ".example.com", "HTTP_PROXY": "proxy"},
            "http://example.com/",
            "http://proxy",
        ),
        ({"NO_PROXY": "ample.com", "HTTP_PROXY": "proxy"}, "http://example.com/", "http://proxy"),
        ({"NO_PROXY": "example.com", "HTTP_PROXY": "proxy"}, "http://foo.example.com/", None),
        ({"NO_PROXY": ".foo.com", "HTTP_PROXY": "proxy"}, "http://example.com/", "http://proxy"),
        ({"NO_PROXY": ".示例.com", "HTTP_PROXY": "proxy"}, "http://www.示例.com", None),
        ({"NO_PROXY": "xn--fsq092h.com", "HTTP_PROXY": "proxy"}, "http://www.示例.com", None),
        ({"NO_PROXY": "示例.com", "HTTP_PROXY": "proxy"}, "http://www.xn--fsq092h.com", None),
        ({"NO_PROXY": "EXAMPLE.com", "HTTP_PROXY": "proxy"}, "http://Www.Example.COM/", None),
        ({"HTTP_PROXY": "http://u:p@proxy:3128"}, "http://example.com", "http://u:p@proxy:3128"),
    ],
)
def test_proxy_for(variables: dict[str, str], url: str, want: str | None) -> None:
    # The cases of httpproxy's TestProxyForURL that apply (no CGI, no SOCKS).
    assert Network.from_variables(variables).proxy_for(url) == want


# httpproxy's TestUseProxy: host → whether it goes through the proxy (port 80).
NO_PROXY = (
    "foobar.com, .barbaz.net, *.wildcard.io, 192.168.1.1, 192.168.1.2:81, 192.168.1.3:80, "
    "10.0.0.0/30, 2001:db8::52:0:1, [2001:db8::52:0:2]:443, [2001:db8::52:0:3]:80, "
    "2002:db8:a::45/64"
)
USE_PROXY = [
    ("localhost", False),
    ("127.0.0.1", False),
    ("127.0.0.2", False),
    ("[::1]", False),
    ("[::2]", True),
    ("192.168.1.1", False),
    ("192.168.1.2", True),
    ("192.168.1.3", False),
    ("192.168.1.4", True),
    ("10.0.0.2", False),
    ("[2001:db8::52:0:1]", False),
    ("[2001:db8::52:0:2]", True),
    ("[2001:db8::52:0:3]", False),
    ("[2002:db8:a::123]", False),
    ("[fe80::424b:c8be:1643:a1b6]", True),
    ("barbaz.net", True),
    ("www.barbaz.net", False),
    ("foobar.com", False),
    ("www.foobar.com", False),
    ("foofoobar.com", True),
    ("baz.com", True),
    ("localhost.net", True),
    ("local.localhost", True),
    ("barbarbaz.net", True),
    ("wildcard.io", True),
    ("nested.wildcard.io", False),
    ("awildcard.io", True),
]


@pytest.mark.parametrize(("host", "proxied"), USE_PROXY)
def test_no_proxy_matching(host: str, proxied: bool) -> None:
    net = Network.from_variables({"HTTP_PROXY": "proxy", "NO_PROXY": NO_PROXY})
    assert (net.proxy_for(f"http://{host}:80/") is not None) is proxied


@pytest.mark.parametrize(("host", "_"), USE_PROXY)
def test_no_proxy_star_matches_everything(host: str, _: bool) -> None:
    net = Network.from_variables({"HTTP_PROXY": "proxy", "NO_PROXY": "*"})
    assert net.proxy_for(f"http://{host}:80/") is None


def test_no_proxy_ports_default_by_scheme() -> None:
    net = Network.from_variables(
        {"HTTP_PROXY": "p", "HTTPS_PROXY": "p", "NO_PROXY": "a.example:443, b.example:8080"}
    )
    assert net.proxy_for("https://a.example/") is None
    assert net.proxy_for("http://a.example/") == "http://p"
    assert net.proxy_for("http://b.example:8080/") is None
    assert net.proxy_for("http://b.example/") == "http://p"


def test_malformed_no_proxy_entries_are_ignored() -> None:
    net = Network.from_variables({"HTTP_PROXY": "p", "NO_PROXY": ":1, ,[x, 1.2.3.4/99"})
    assert net.proxy_for("http://example.com/") == "http://p"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("socks5://127.0.0.1", "SOCKS proxies are not supported"),
        ("foo://host", "not an http or https proxy URL"),
        ("http://host:port", "not an http or https proxy URL"),
        (f"socks5://u:{'secret-pass'}@h", "socks5://u:xxxxx@h"),
    ],
)
def test_unusable_proxies(value: str, message: str) -> None:
    with pytest.raises(SourceError, match=message) as caught:
        Network.from_variables({"HTTPS_PROXY": value}).proxy_for("https://example.com/")
    assert "secret-pass" not in str(caught.value)
    assert str(caught.value).startswith("HTTPS_PROXY=")


def test_repr_hides_proxy_passwords() -> None:
    net = Network.from_variables({"HTTPS_PROXY": "http://u:secret-pass@proxy:1", "HOME": "/h"})
    assert "secret-pass" not in repr(net)
    assert "u:xxxxx@proxy" in repr(net)

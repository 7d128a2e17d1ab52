"""gobuild.network without sockets: which proxy, which CA files, which credentials, and
redaction. The rules are the go command's (golang.org/x/net/http/httpproxy, cmd/go's
auth package); the requests themselves are tests/unit/test_fetch.py's."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gobuild.errors import ConfigError, SourceError
from gobuild.network import (
    Network,
    basic_auth,
    parse_goauth_output,
    redact,
    redact_text,
    split_userinfo,
)
from gobuild.project.environ import Environment

# -- reading the variables -------------------------------------------------------------------


def test_from_variables_reads_upper_case_first_then_lower_case() -> None:
    net = Network.from_variables(
        {
            "HTTP_PROXY": "upper:1",
            "http_proxy": "lower:1",
            "https_proxy": "lower:2",
            "HTTPS_PROXY": "",  # empty is unset, as in Go
            "no_proxy": "a.example",
            "SSL_CERT_FILE": "/ca.pem",
            "SSL_CERT_DIR": "/a:/b",
        }
    )
    assert (net.http_proxy, net.https_proxy, net.no_proxy) == ("upper:1", "lower:2", "a.example")
    assert (net.ca_file, net.ca_dir) == ("/ca.pem", "/a:/b")


def test_defaults() -> None:
    net = Network.from_variables({"HOME": "/home/me"})
    assert net.goauth == "netrc"  # Go's default
    assert net.netrc == Path("/home/me/.netrc")
    assert Network.from_variables({"HOME": "/h", "NETRC": "/n"}).netrc == Path("/n")
    assert Network.from_variables({}).netrc is None
    plain = Network()
    assert (plain.goauth, plain.netrc, plain.http_proxy, plain.https_proxy) == (
        "off",
        None,
        None,
        None,
    )
    assert plain.credential_for("https://example.com/") is None


def test_environment_network() -> None:
    env = Environment({"HTTPS_PROXY": "proxy.corp:3128", "GOAUTH": "off"})
    assert env.network == Network.from_variables(env.variables)
    assert env.network.proxy_for("https://example.com/") == "http://proxy.corp:3128"


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


# -- CA certificates -------------------------------------------------------------------------


def test_ca_locations(tmp_path: Path) -> None:
    import ssl

    defaults = ssl.get_default_verify_paths()
    system_file = defaults.openssl_cafile if Path(defaults.openssl_cafile).is_file() else None
    system_dir = defaults.openssl_capath if Path(defaults.openssl_capath).is_dir() else None
    assert Network().ca_locations() == (system_file, system_dir)
    both = Network.from_variables({"SSL_CERT_FILE": "/x.pem", "SSL_CERT_DIR": "/d"})
    assert both.ca_locations() == ("/x.pem", "/d")
    # Each variable replaces its own default only (as in OpenSSL and Go).
    assert Network(ca_file="/x.pem").ca_locations() == ("/x.pem", system_dir)
    assert "SSL_CERT_FILE=/x.pem" in Network(ca_file="/x.pem").ca_description()


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


# -- credentials -----------------------------------------------------------------------------


def test_url_userinfo_is_a_credential_for_any_scheme() -> None:
    net = Network()  # GOAUTH off: the URL's own still count
    for url in ("http://u:p@h/", "https://u:p@h/"):
        cred = net.credential_for(url)
        assert cred is not None and cred.source == "the URL"
        assert dict(cred.headers) == {"Authorization": "Basic dTpw"}
    assert "Basic" not in repr(cred)


@pytest.fixture
def netrc(tmp_path: Path) -> Path:
    path = tmp_path / "netrc"
    path.write_text(
        "machine a.example login ua password pa\n"
        "machine b.example:8443 login ub password pb\n"
        "machine c.example:443 login uc password pc\n"
        "machine nopass.example login u\n"
        "# a comment\n"
        "default login d password pd\n"
    )
    return path


def test_netrc_lookup(netrc: Path) -> None:
    net = Network.from_variables({"NETRC": str(netrc)})

    def auth(url: str) -> str | None:
        cred = net.credential_for(url)
        return dict(cred.headers)["Authorization"] if cred else None

    assert auth("https://a.example/x/y") == basic_auth("ua", "pa")
    assert auth("https://A.EXAMPLE/x") == basic_auth("ua", "pa")
    assert auth("https://a.example:8443/x") == basic_auth("ua", "pa")  # any port (curl's rule)
    assert auth("https://b.example:8443/x") == basic_auth("ub", "pb")
    assert auth("https://b.example/x") is None  # a machine with a port wants that port
    assert auth("https://c.example/x") == basic_auth("uc", "pc")  # 443 is https's own
    assert auth("https://nopass.example/") is None  # no password: no entry (Go)
    assert auth("https://elsewhere.example/") is None  # 'default' is ignored (Go)
    assert auth("http://a.example/") is None  # https only
    assert "pa" not in repr(net.credential_for("https://a.example/"))
    assert "no netrc entry for elsewhere.example" in net.why_no_credential(
        "https://elsewhere.example/"
    )


def test_netrc_is_read_once_and_lazily(tmp_path: Path) -> None:
    path = tmp_path / "netrc"
    net = Network.from_variables({"NETRC": str(path)})
    path.write_text("machine a.example login u password p\n")  # written after: still read
    assert net.credential_for("https://a.example/") is not None
    path.write_text("machine a.example login u password changed\n")
    cred = net.credential_for("https://a.example/")
    assert cred is not None and dict(cred.headers)["Authorization"] == basic_auth("u", "p")


def test_missing_netrc_gives_no_credentials(tmp_path: Path) -> None:
    net = Network.from_variables({"NETRC": str(tmp_path / "none")})
    assert net.credential_for("https://a.example/") is None


@pytest.mark.parametrize(
    ("goauth", "message"),
    [
        ("off;netrc", "'off' cannot be combined"),
        ("netrc;", "an empty entry"),
        ("netrc; ;x", "an empty entry"),
        ("cmd 'unterminated", "unterminated ' string"),
    ],
)
def test_malformed_goauth(goauth: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Network.from_variables({"GOAUTH": goauth}).credential_for("https://a.example/")


def test_goauth_git_entries_are_skipped_and_said_so(tmp_path: Path) -> None:
    net = Network.from_variables({"GOAUTH": f"git {tmp_path}"})
    assert net.credential_for("https://a.example/") is None
    assert "'git' entries are not supported" in net.why_no_credential("https://a.example/")


def test_goauth_command_arguments_are_quoted_words(tmp_path: Path) -> None:
    log = tmp_path / "args"
    script = tmp_path / "helper"
    script.write_text(f'#!/bin/sh\nfor a in "$@"; do echo "[$a]"; done > {log}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    net = Network.from_variables({"GOAUTH": f"{script} 'two words' \"x y\"  plain"})
    assert net.credential_for("https://a.example/") is None
    assert log.read_text().splitlines() == ["[two words]", "[x y]", "[plain]"]


def test_goauth_command_runs_with_the_given_environment(tmp_path: Path) -> None:
    script = tmp_path / "helper"
    script.write_text(
        "#!/bin/sh\nprintf 'https://a.example\\n\\nAuthorization: Bearer %s\\n\\n' \"$TOKEN\"\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    net = Network.from_variables({"GOAUTH": str(script), "TOKEN": "from-the-env"})
    cred = net.credential_for("https://a.example/mod/@v/list")
    assert cred is not None
    assert dict(cred.headers) == {"Authorization": "Bearer from-the-env"}
    assert cred.source == "GOAUTH command 'helper'"


def test_parse_goauth_output() -> None:
    # `go help goauth`'s example.
    text = (
        "https://example.com\nhttps://example.net/api/\n\nAuthorization: Basic <token>\n\n"
        "https://another-example.org/\n\nExample: Data\n\n"
    )
    found = parse_goauth_output(text)
    assert set(found) == {"example.com", "example.net/api", "another-example.org"}
    assert found["example.net/api"].headers == (("Authorization", "Basic <token>"),)
    assert found["another-example.org"].headers == (("Example", "Data"),)
    assert parse_goauth_output("") == {}
    # An empty header set: the prefix's credentials are removed.
    assert parse_goauth_output("https://a.example\n\n\n")["a.example"].headers == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("https://a.example\n\nAuthorization: x\n", "missing empty line after headers"),
        ("https://a.example\n", "missing empty line after URLs"),
        ("http://a.example\n\nA: b\n\n", "not an https URL"),
        ("https://u:tok-secret@a.example\n\nA: b\n\n", "not an https URL"),
        ("https://a.example\n\nno colon here\n\n", "invalid header line"),
        ("https://a.example\n\nBad Name: secret-value\n\n", "invalid header line"),
    ],
)
def test_parse_goauth_output_errors(text: str, message: str) -> None:
    with pytest.raises(SourceError, match=message) as caught:
        parse_goauth_output(text)
    assert "secret" not in str(caught.value)

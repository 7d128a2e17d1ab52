"""gobuild.network.config without sockets: the Network the environment's variables
describe, and which CA files verify TLS. Its proxies, credentials and redaction have
their own test_network_*.py; the requests themselves are tests/unit/test_fetch.py's."""

from __future__ import annotations

from pathlib import Path

from gobuild.network.config import Network
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

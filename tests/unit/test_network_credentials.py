"""gobuild.network.credentials through Network.credential_for: a URL's own user
information and the netrc file (GOAUTH's commands are test_network_goauth.py's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gobuild.network.config import Network
from gobuild.network.credentials import basic_auth

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

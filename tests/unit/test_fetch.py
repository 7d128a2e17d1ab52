"""The fetcher over real HTTP on loopback: proxies, TLS, credentials, and secrets kept out
of every message. Servers, proxy and CA are tests/netproxy.py's; nothing of urllib3 is
replaced."""

from __future__ import annotations

import base64
import io
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gobuild.errors import ConfigError, GobuildError, NotFound, SourceError, SourceUnreachable
from gobuild.fetch import Fetcher
from gobuild.network.config import Network
from tests.netproxy import (
    ForwardProxy,
    Origin,
    Reply,
    Seen,
    TestCA,
    dead_port,
    hashed_dir,
    running,
    subject_hash,
)

SECRET = "s3cr3t-T0ken-value"
NAMES = ("localhost", "127.0.0.1", "origin.test", "other.test")


def basic(userinfo: str) -> str:
    return "Basic " + base64.b64encode(userinfo.encode()).decode()


def fetcher(variables: dict[str, str] | None = None, retries: int = 0) -> Fetcher:
    """A fetcher over the network ``variables`` describe, never sleeping between retries."""
    return Fetcher(Network.from_variables(variables or {}), retries=retries, sleep=lambda _: None)


def chain(exc: BaseException) -> str:
    """The text of an exception and of every exception behind it."""
    texts = []
    seen: BaseException | None = exc
    while seen is not None:
        texts += [str(seen), repr(seen)]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(texts)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def origin() -> Iterator[Origin]:
    """A plain-HTTP origin: /hello is public, /private wants Basic u:p."""
    server = Origin()
    server.routes["/hello"] = Reply(body=b"hello\n")
    server.routes["/private"] = _wants(basic("u:p"))
    with running(server):
        yield server


@pytest.fixture
def tls_origin(ca: TestCA) -> Iterator[Origin]:
    """An HTTPS origin with a certificate from the test CA, same routes as ``origin``."""
    server = Origin(ca.server_context(*NAMES))
    server.routes["/hello"] = Reply(body=b"hello over tls\n")
    server.routes["/private"] = _wants(basic("u:p"))
    with running(server):
        yield server


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    """A forward proxy that alone knows origin.test and other.test (loopback)."""
    server = ForwardProxy({"origin.test": "127.0.0.1", "other.test": "127.0.0.1"})
    with running(server):
        yield server


def _wants(authorization: str) -> Callable[[Seen], Reply]:
    def route(seen: Seen) -> Reply:
        if seen.headers.get("Authorization") == authorization:
            return Reply(body=b"welcome\n")
        return Reply(401, b"who are you?\n", {"WWW-Authenticate": 'Basic realm="test"'})

    return route


# -- what was there before: statuses, retries, files ------------------------------------


def test_get_download_and_file_urls(origin: Origin, tmp_path: Path) -> None:
    f = fetcher()
    assert f.get_bytes(origin.url("/hello")) == b"hello\n"
    sink = io.BytesIO()
    assert len(f.download(origin.url("/hello"), sink)) == 64
    assert sink.getvalue() == b"hello\n"
    (tmp_path / "x").write_bytes(b"file body")
    assert f.get_bytes((tmp_path / "x").as_uri()) == b"file body"
    with pytest.raises(NotFound):
        f.get_bytes((tmp_path / "missing").as_uri())


def test_404_is_not_found_and_5xx_is_retried(origin: Origin) -> None:
    with pytest.raises(NotFound, match="HTTP 404"):
        fetcher().get_bytes(origin.url("/nothing"))
    answers = iter([Reply(503), Reply(body=b"second time\n")])
    origin.routes["/flaky"] = lambda _: next(answers)
    assert fetcher(retries=1).get_bytes(origin.url("/flaky")) == b"second time\n"
    origin.routes["/down"] = Reply(502)
    with pytest.raises(SourceUnreachable, match="HTTP 502 .gave up after 3 attempts"):
        fetcher(retries=2).get_bytes(origin.url("/down"))


# -- proxies -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["HTTP_PROXY", "http_proxy"])
def test_http_goes_through_http_proxy(origin: Origin, proxy: ForwardProxy, name: str) -> None:
    url = origin.url("/hello", host="origin.test")
    assert fetcher({name: proxy.url}).get_bytes(url) == b"hello\n"
    assert [(s.method, s.target) for s in proxy.seen()] == [("GET", url)]


def test_proxy_without_a_scheme_means_http(origin: Origin, proxy: ForwardProxy) -> None:
    url = origin.url("/hello", host="origin.test")
    assert fetcher({"HTTP_PROXY": f"127.0.0.1:{proxy.port}"}).get_bytes(url) == b"hello\n"
    assert len(proxy.seen()) == 1


def test_upper_case_wins_over_lower_case(origin: Origin, proxy: ForwardProxy) -> None:
    dead = f"http://127.0.0.1:{dead_port()}"
    url = origin.url("/hello", host="origin.test")
    assert fetcher({"HTTP_PROXY": proxy.url, "http_proxy": dead}).get_bytes(url) == b"hello\n"
    with pytest.raises(SourceUnreachable, match="cannot connect to proxy"):
        fetcher({"HTTP_PROXY": dead, "http_proxy": proxy.url}).get_bytes(url)


@pytest.mark.parametrize(
    "no_proxy",
    [
        {"NO_PROXY": "origin.test"},
        {"NO_PROXY": "example.com, .test"},
        {"NO_PROXY": "*"},
        {"no_proxy": "origin.test"},
        {"NO_PROXY": "*.test"},
    ],
)
def test_no_proxy_goes_direct(
    origin: Origin, proxy: ForwardProxy, no_proxy: dict[str, str]
) -> None:
    # Only the proxy can resolve origin.test: going direct fails to resolve it.
    with pytest.raises(SourceUnreachable, match="cannot resolve host origin.test"):
        fetcher({"HTTP_PROXY": proxy.url, **no_proxy}).get_bytes(
            origin.url("/hello", host="origin.test")
        )
    assert proxy.seen() == []


def test_no_proxy_port_must_match(origin: Origin, proxy: ForwardProxy) -> None:
    url = origin.url("/hello", host="origin.test")
    variables = {"HTTP_PROXY": proxy.url, "NO_PROXY": "origin.test:1"}
    assert fetcher(variables).get_bytes(url) == b"hello\n"
    assert len(proxy.seen()) == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_never_goes_through_a_proxy(origin: Origin, host: str) -> None:
    # As in Go: a dead proxy does not matter for localhost and loopback addresses.
    variables = {"HTTP_PROXY": f"http://127.0.0.1:{dead_port()}"}
    assert fetcher(variables).get_bytes(origin.url("/hello", host=host)) == b"hello\n"


def test_http_proxy_is_not_used_for_https(tls_origin: Origin, proxy: ForwardProxy) -> None:
    with pytest.raises(SourceUnreachable, match="cannot resolve host origin.test"):
        fetcher({"HTTP_PROXY": proxy.url}).get_bytes(tls_origin.url("/hello", host="origin.test"))
    assert proxy.seen() == []


def test_proxy_credentials_are_sent(origin: Origin) -> None:
    guarded = ForwardProxy({"origin.test": "127.0.0.1"}, credentials=f"pu:{SECRET}")
    url = origin.url("/hello", host="origin.test")
    with running(guarded):
        got = fetcher({"HTTP_PROXY": guarded.url_with(f"pu:{SECRET}")}).get_bytes(url)
        assert got == b"hello\n"
        assert guarded.seen()[0].headers["Proxy-Authorization"] == basic(f"pu:{SECRET}")
        # The origin never sees the proxy's credentials.
        assert "Proxy-Authorization" not in origin.seen()[0].headers

        with pytest.raises(SourceError, match="requires credentials") as missing:
            fetcher({"HTTP_PROXY": guarded.url}).get_bytes(url)
        with pytest.raises(SourceError, match="rejected the credentials") as wrong:
            fetcher({"HTTP_PROXY": guarded.url_with("pu:wrong-password")}).get_bytes(url)
    assert "407" in str(missing.value)
    assert "wrong-password" not in chain(wrong.value)
    assert "pu:xxxxx@" in str(wrong.value)


def test_percent_encoded_proxy_credentials_are_decoded(origin: Origin) -> None:
    guarded = ForwardProxy({"origin.test": "127.0.0.1"}, credentials="p@u:a:b/c")
    with running(guarded):
        variables = {"HTTP_PROXY": guarded.url_with("p%40u:a%3Ab%2Fc")}
        got = fetcher(variables).get_bytes(origin.url("/hello", host="origin.test"))
    assert got == b"hello\n"


def test_https_through_a_proxy_tunnels_with_connect(tls_origin: Origin, ca: TestCA) -> None:
    guarded = ForwardProxy({"origin.test": "127.0.0.1"}, credentials=f"pu:{SECRET}")
    url = tls_origin.url("/hello", host="origin.test")
    with running(guarded):
        variables = {"HTTPS_PROXY": guarded.url_with(f"pu:{SECRET}"), "SSL_CERT_FILE": str(ca.pem)}
        assert fetcher(variables).get_bytes(url) == b"hello over tls\n"
        seen = guarded.seen()
        assert [(s.method, s.target) for s in seen] == [
            ("CONNECT", f"origin.test:{tls_origin.port}")
        ]
        assert seen[0].headers["Proxy-Authorization"] == basic(f"pu:{SECRET}")
        with pytest.raises(SourceError, match="requires credentials") as refused:
            fetcher({"HTTPS_PROXY": guarded.url, "SSL_CERT_FILE": str(ca.pem)}).get_bytes(url)
    assert "\n" not in str(refused.value)
    # The origin saw the request itself, through the tunnel.
    assert [s.target for s in tls_origin.seen()] == ["/hello"]


@pytest.mark.parametrize(
    ("value", "message"),
    [("socks5://127.0.0.1:1080", "SOCKS proxies are not supported"), ("ftp://x", "not an http")],
)
def test_unusable_proxy_settings_are_named(origin: Origin, value: str, message: str) -> None:
    with pytest.raises(SourceError, match=message) as caught:
        fetcher({"HTTP_PROXY": value}).get_bytes(origin.url("/hello", host="origin.test"))
    assert "HTTP_PROXY=" in str(caught.value)


# -- TLS ---------------------------------------------------------------------------------


def test_ssl_cert_file_verifies(tls_origin: Origin, ca: TestCA) -> None:
    got = fetcher({"SSL_CERT_FILE": str(ca.pem)}).get_bytes(tls_origin.url("/hello", "localhost"))
    assert got == b"hello over tls\n"


def test_without_the_ca_tls_fails_clearly_and_is_not_retried(tls_origin: Origin) -> None:
    pauses: list[float] = []
    f = Fetcher(Network.from_variables({}), retries=3, sleep=pauses.append)
    with pytest.raises(SourceError) as caught:
        f.get_bytes(tls_origin.url("/hello", "localhost"))
    text = str(caught.value)
    assert "TLS certificate of localhost not trusted" in text
    assert "certificate verify failed" in text
    assert "SSL_CERT_FILE" in text  # says how to trust another CA
    assert "\n" not in text
    assert pauses == []  # a certificate does not become trusted by trying again
    assert tls_origin.seen() == []


def test_ssl_cert_file_replaces_the_system_bundle(tls_origin: Origin, tmp_path: Path) -> None:
    other = TestCA(tmp_path / "other")
    with pytest.raises(SourceError, match=f"SSL_CERT_FILE={other.pem}"):
        fetcher({"SSL_CERT_FILE": str(other.pem)}).get_bytes(tls_origin.url("/hello"))


def test_a_missing_ssl_cert_file_is_named(tls_origin: Origin, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pem"
    with pytest.raises(SourceError, match=f"SSL_CERT_FILE={missing}"):
        fetcher({"SSL_CERT_FILE": str(missing)}).get_bytes(tls_origin.url("/hello"))


def test_ssl_cert_dir_verifies(tls_origin: Origin, ca: TestCA, tmp_path: Path) -> None:
    certs = hashed_dir(ca, tmp_path / "certs")
    assert (certs / f"{subject_hash(ca.cert)}.0").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    variables = {"SSL_CERT_DIR": f"{empty}:{certs}"}  # a list, as OpenSSL and Go read it
    assert fetcher(variables).get_bytes(tls_origin.url("/hello")) == b"hello over tls\n"


def test_subject_hash_is_openssls(ca: TestCA, tmp_path: Path) -> None:
    # The fallback for machines without openssl computes what openssl rehash names.
    import shutil
    import subprocess

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl to compare with")
    out = subprocess.run(
        [openssl, "x509", "-noout", "-subject_hash", "-in", str(ca.pem)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == subject_hash(ca.cert)


# -- credentials: netrc, GOAUTH, the URL ----------------------------------------------------


@pytest.fixture
def netrc_file(tmp_path: Path) -> Path:
    path = tmp_path / "netrc"
    path.write_text(
        f"machine localhost login u password p\nmachine other.example login o password {SECRET}\n"
    )
    return path


def tls_vars(ca: TestCA, **more: str) -> dict[str, str]:
    return {"SSL_CERT_FILE": str(ca.pem), **more}


def test_netrc_credentials_go_to_the_matching_host_only(
    tls_origin: Origin, ca: TestCA, netrc_file: Path
) -> None:
    f = fetcher(tls_vars(ca, NETRC=str(netrc_file)))
    assert f.get_bytes(tls_origin.url("/private", "localhost")) == b"welcome\n"
    assert tls_origin.seen()[-1].headers["Authorization"] == basic("u:p")
    with pytest.raises(SourceError, match="HTTP 401: credentials missing") as caught:
        f.get_bytes(tls_origin.url("/private", "127.0.0.1"))
    assert "Authorization" not in tls_origin.seen()[-1].headers
    assert "no netrc entry for 127.0.0.1" in str(caught.value)


def test_netrc_from_home(tls_origin: Origin, ca: TestCA, netrc_file: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    netrc_file.rename(home / ".netrc")
    got = fetcher(tls_vars(ca, HOME=str(home))).get_bytes(tls_origin.url("/private", "localhost"))
    assert got == b"welcome\n"


def test_netrc_is_not_sent_over_plain_http(origin: Origin, netrc_file: Path) -> None:
    with pytest.raises(SourceError, match="over https only"):
        fetcher({"NETRC": str(netrc_file)}).get_bytes(origin.url("/private", "localhost"))
    assert "Authorization" not in origin.seen()[-1].headers


def test_rejected_netrc_credentials_name_netrc_not_the_password(
    tls_origin: Origin, ca: TestCA, tmp_path: Path
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine localhost\n  login u\n  password {SECRET}\n")
    with pytest.raises(SourceError) as caught:
        fetcher(tls_vars(ca, NETRC=str(netrc))).get_bytes(tls_origin.url("/private", "localhost"))
    text = str(caught.value)
    assert text == (
        f"{tls_origin.url('/private', 'localhost')}: HTTP 401: "
        f"credentials from netrc ({netrc}) were rejected"
    )
    assert SECRET not in chain(caught.value)


def test_goauth_off_sends_nothing(tls_origin: Origin, ca: TestCA, netrc_file: Path) -> None:
    f = fetcher(tls_vars(ca, NETRC=str(netrc_file), GOAUTH="off"))
    with pytest.raises(SourceError, match=r"credentials missing \(GOAUTH=off\)"):
        f.get_bytes(tls_origin.url("/private", "localhost"))
    assert "Authorization" not in tls_origin.seen()[-1].headers


def test_a_malformed_netrc_is_a_config_error_without_its_tokens(
    tls_origin: Origin, ca: TestCA, tmp_path: Path
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine localhost login u password p {SECRET}\n")
    with pytest.raises(ConfigError, match=r"line \d+: malformed netrc") as caught:
        fetcher(tls_vars(ca, NETRC=str(netrc))).get_bytes(tls_origin.url("/private", "localhost"))
    assert SECRET not in chain(caught.value)


def helper(tmp_path: Path, body: str) -> Path:
    """A GOAUTH command: a shell script that logs its arguments, then runs ``body``."""
    script = tmp_path / "goauth-helper"
    log = tmp_path / "goauth.log"
    script.write_text(f'#!/bin/sh\necho "run:$*" >> {log}\n{body}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_goauth_command_headers_apply_to_their_prefix(
    tls_origin: Origin, ca: TestCA, tmp_path: Path
) -> None:
    base = tls_origin.url("/api", "localhost")
    script = helper(tmp_path, f"printf '{base}/\\n\\nX-Token: {SECRET}\\n\\n'")
    tls_origin.routes["/api/v1"] = lambda seen: Reply(
        200 if seen.headers.get("X-Token") == SECRET else 403, b"ok\n"
    )
    f = fetcher(tls_vars(ca, GOAUTH=f"{script} --flag"))
    assert f.get_bytes(tls_origin.url("/api/v1", "localhost")) == b"ok\n"
    assert tls_origin.seen()[-1].headers["X-Token"] == SECRET
    # Outside the prefix: not sent.
    with pytest.raises(NotFound):
        f.get_bytes(tls_origin.url("/apiary", "localhost"))
    assert "X-Token" not in tls_origin.seen()[-1].headers
    # The command ran once with no URL, and once more after the 404 outside its prefix.
    log = (tmp_path / "goauth.log").read_text().splitlines()
    assert log == ["run:--flag", f"run:--flag {tls_origin.url('/apiary', 'localhost')}"]


def test_goauth_command_runs_again_with_the_url_after_a_4xx(
    tls_origin: Origin, ca: TestCA, tmp_path: Path
) -> None:
    # Gives nothing until asked about a URL with a 401 on its input, as go does.
    script = helper(
        tmp_path,
        '[ -z "$1" ] && exit 0\n'
        'read status\ncase "$status" in *401*) ;; *) exit 1;; esac\n'
        f"printf '%s\\n\\nAuthorization: {basic('u:p')}\\n\\n' \"$1\"",
    )
    url = tls_origin.url("/private", "localhost")
    assert fetcher(tls_vars(ca, GOAUTH=str(script))).get_bytes(url) == b"welcome\n"
    assert [s.headers.get("Authorization") for s in tls_origin.seen()] == [None, basic("u:p")]
    log = (tmp_path / "goauth.log").read_text().splitlines()
    assert log == ["run:", f"run:{url}"]


def test_goauth_entries_earlier_win(tls_origin: Origin, ca: TestCA, tmp_path: Path) -> None:
    # For one prefix, the earlier entry's credentials; a longer prefix wins whatever
    # the order (go's credential cache).
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine localhost:{tls_origin.port} login u password wrong\n")
    prefix = tls_origin.url("", "localhost")
    script = helper(tmp_path, f"printf '{prefix}\\n\\nAuthorization: {basic('u:p')}\\n\\n'")
    url = tls_origin.url("/private", "localhost")
    f = fetcher(tls_vars(ca, GOAUTH=f"{script};netrc", NETRC=str(netrc)))
    assert f.get_bytes(url) == b"welcome\n"
    f = fetcher(tls_vars(ca, GOAUTH=f"netrc;{script}", NETRC=str(netrc)))
    with pytest.raises(SourceError, match="credentials from netrc"):
        f.get_bytes(url)
    longer = helper(tmp_path, f"printf '{prefix}/private\\n\\nAuthorization: {basic('u:p')}\\n\\n'")
    f = fetcher(tls_vars(ca, GOAUTH=f"netrc;{longer}", NETRC=str(netrc)))
    assert f.get_bytes(url) == b"welcome\n"


def test_a_failing_goauth_command_is_named_without_its_output(
    tls_origin: Origin, ca: TestCA, tmp_path: Path
) -> None:
    script = helper(tmp_path, f"echo 'Authorization: {SECRET}'; echo {SECRET} >&2; exit 3")
    with pytest.raises(SourceError) as caught:
        fetcher(tls_vars(ca, GOAUTH=str(script))).get_bytes(tls_origin.url("/private"))
    assert "GOAUTH command 'goauth-helper' failed with exit code 3" in str(caught.value)
    assert SECRET not in chain(caught.value)


def test_malformed_goauth_is_a_config_error(tls_origin: Origin, ca: TestCA) -> None:
    with pytest.raises(ConfigError, match="'off' cannot be combined"):
        fetcher(tls_vars(ca, GOAUTH="off;netrc")).get_bytes(tls_origin.url("/private"))


@pytest.mark.parametrize("scheme_origin", ["origin", "tls_origin"])
def test_url_userinfo_is_sent_as_authorization(
    scheme_origin: str, request: pytest.FixtureRequest, ca: TestCA
) -> None:
    server: Origin = request.getfixturevalue(scheme_origin)
    url = server.url("/private", userinfo="u:p")
    assert fetcher(tls_vars(ca)).get_bytes(url) == b"welcome\n"
    assert server.seen()[-1].headers["Authorization"] == basic("u:p")
    assert server.seen()[-1].headers["Host"] == f"127.0.0.1:{server.port}"


# -- redirects -----------------------------------------------------------------------------


@pytest.fixture
def second_tls_origin(ca: TestCA) -> Iterator[Origin]:
    server = Origin(ca.server_context(*NAMES))
    server.routes["/landing"] = Reply(body=b"landed\n")
    with running(server):
        yield server


def test_credentials_do_not_follow_a_redirect_to_another_host(
    tls_origin: Origin, second_tls_origin: Origin, ca: TestCA, netrc_file: Path, tmp_path: Path
) -> None:
    elsewhere = second_tls_origin.url("/landing", "127.0.0.1")
    tls_origin.routes["/moved"] = Reply(302, headers={"Location": elsewhere})
    script = helper(tmp_path, f"printf '{tls_origin.url('', 'localhost')}\\n\\nX-Token: t\\n\\n'")
    variables = tls_vars(ca, NETRC=str(netrc_file), GOAUTH=f"netrc;{script}")
    for url in (
        tls_origin.url("/moved", "localhost"),  # the command's header
        tls_origin.url("/moved", "localhost", userinfo=f"u:{SECRET}"),  # the URL's
    ):
        assert fetcher(variables).get_bytes(url) == b"landed\n"
        first, landed = tls_origin.seen()[-1], second_tls_origin.seen()[-1]
        assert {"Authorization", "X-Token"} & set(first.headers)
        assert "Authorization" not in landed.headers
        assert "X-Token" not in landed.headers


def test_same_host_redirect_keeps_url_credentials(tls_origin: Origin, ca: TestCA) -> None:
    tls_origin.routes["/moved"] = Reply(301, headers={"Location": "/private"})
    url = tls_origin.url("/moved", userinfo="u:p")
    assert fetcher(tls_vars(ca)).get_bytes(url) == b"welcome\n"


def test_https_never_redirects_to_http(tls_origin: Origin, origin: Origin, ca: TestCA) -> None:
    tls_origin.routes["/down"] = Reply(302, headers={"Location": origin.url("/hello")})
    with pytest.raises(SourceError, match="refusing a redirect from https to http://"):
        fetcher(tls_vars(ca)).get_bytes(tls_origin.url("/down"))
    assert origin.seen() == []


def test_redirects_are_limited(origin: Origin) -> None:
    origin.routes["/loop"] = Reply(302, headers={"Location": "/loop"})
    with pytest.raises(SourceError, match="more than 5 redirects"):
        fetcher().get_bytes(origin.url("/loop"))


# -- secrets in messages -------------------------------------------------------------------


def test_no_secret_in_any_message(
    origin: Origin, tls_origin: Origin, ca: TestCA, proxy: ForwardProxy
) -> None:
    dead = dead_port()
    origin.routes["/gone"] = Reply(410)
    origin.routes["/teapot"] = Reply(418)
    origin.routes["/busy"] = Reply(503)
    cases: list[tuple[dict[str, str], str]] = [
        # Retries give up against a dead port.
        ({}, f"http://u:{SECRET}@127.0.0.1:{dead}/x"),
        ({}, f"http://{SECRET}@127.0.0.1:{dead}/x"),
        ({}, origin.url("/private", userinfo=f"u:{SECRET}")),
        ({}, origin.url("/gone", userinfo=f"u:{SECRET}")),
        ({}, origin.url("/teapot", userinfo=f"u:{SECRET}")),
        ({}, origin.url("/busy", userinfo=f"u:{SECRET}")),
        ({}, tls_origin.url("/hello", userinfo=f"u:{SECRET}")),  # untrusted certificate
        ({}, f"http://u:{SECRET}@unresolvable.invalid/x"),
        ({"HTTP_PROXY": f"http://pu:{SECRET}@127.0.0.1:{dead}"}, "http://origin.test/x"),
        ({"HTTP_PROXY": f"http://{SECRET}@127.0.0.1:{dead}"}, "http://origin.test/x"),
        ({"HTTPS_PROXY": f"http://pu:{SECRET}@127.0.0.1:{dead}"}, "https://origin.test/x"),
        ({"HTTP_PROXY": f"socks5://pu:{SECRET}@127.0.0.1:{dead}"}, "http://origin.test/x"),
        ({"HTTPS_PROXY": proxy.url_with(f"pu:{SECRET}")}, "https://nowhere.invalid/x"),
    ]
    for variables, url in cases:
        with pytest.raises(GobuildError) as caught:
            fetcher(variables, retries=2).get_bytes(url)
        text = chain(caught.value)
        assert SECRET not in text, (url, text)
        assert "\n" not in str(caught.value)
        assert "xxxxx" in text or "SOCKS" in text, text


def test_fetcher_redact(ca: TestCA) -> None:
    f = fetcher()
    assert f.redact(f"https://u:{SECRET}@proxy.corp/x") == "https://u:xxxxx@proxy.corp/x"

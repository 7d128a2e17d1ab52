"""Loopback networks for the fetcher's tests: a forward proxy, origin servers, a test CA.

:class:`ForwardProxy` relays plain-HTTP absolute-URI GETs and tunnels CONNECT, may
require a ``Proxy-Authorization`` (answering 407 without it) and logs every request.
It resolves some names itself (``hosts``: ``origin.test`` → ``127.0.0.1``), so a test
can fetch a URL that only the proxy can reach: a request that bypassed the proxy
fails to resolve, one that went through it shows in the log.

:class:`Origin` serves routes over HTTP or, given a certificate, HTTPS, and logs each
request with its headers. :class:`TestCA` issues certificates with ``cryptography``;
:func:`hashed_dir` lays a CA out as ``SSL_CERT_DIR`` wants it (``<hash>.0``).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import http.client
import ipaddress
import select
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Hop-by-hop headers a proxy does not pass on (RFC 9110 7.6.1), and its own.
_HOP = {
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


# -- certificates ------------------------------------------------------------------------


@dataclass
class TestCA:
    """A throwaway certificate authority; :meth:`issue` signs server certificates."""

    __test__ = False  # not a pytest class

    directory: Path
    name: str = "gobuild test ca"
    key: ec.EllipticCurvePrivateKey = field(init=False)
    cert: x509.Certificate = field(init=False)

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.name)])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        self.pem.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    @property
    def pem(self) -> Path:
        """The CA certificate (a bundle of one), for SSL_CERT_FILE."""
        return self.directory / "ca.pem"

    def issue(self, *names: str) -> tuple[Path, Path]:
        """A server certificate for ``names`` (host names or IP addresses): (cert, key) files."""
        key = ec.generate_private_key(ec.SECP256R1())
        alt: list[x509.GeneralName] = []
        for name in names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alt.append(x509.DNSName(name))
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        stem = self.directory / names[0].replace(":", "_")
        cert_path, key_path = stem.with_suffix(".crt"), stem.with_suffix(".key")
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cert_path, key_path

    def server_context(self, *names: str) -> ssl.SSLContext:
        """A TLS server context presenting a certificate for ``names``."""
        cert, key = self.issue(*names)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        return context


def subject_hash(cert: x509.Certificate) -> str:
    """OpenSSL's ``X509_NAME_hash`` of the subject (``openssl x509 -subject_hash``):
    SHA-1 of the canonical encoding (values as lower-case UTF8String, spaces folded,
    the RDN sets without the outer SEQUENCE), first four bytes little-endian."""
    canon = x509.Name(
        [
            x509.RelativeDistinguishedName(
                [
                    x509.NameAttribute(attr.oid, " ".join(str(attr.value).lower().split()))
                    for attr in rdn
                ]
            )
            for rdn in cert.subject.rdns
        ]
    )
    der = canon.public_bytes()
    # Skip the SEQUENCE's tag and length (short or long form).
    length_octets = der[1] & 0x7F if der[1] & 0x80 else 0
    body = der[2 + length_octets :]
    digest = hashlib.sha1(body).digest()  # OpenSSL's name hash: SHA-1 by definition
    return f"{int.from_bytes(digest[:4], 'little'):08x}"


def hashed_dir(ca: TestCA, directory: Path) -> Path:
    """``directory`` holding ``ca`` as SSL_CERT_DIR needs it: ``openssl rehash`` where
    there is an openssl, else the ``<hash>.0`` link made here."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "gobuild-test-ca.pem"
    shutil.copyfile(ca.pem, target)
    openssl = shutil.which("openssl")
    if openssl:
        subprocess.run([openssl, "rehash", str(directory)], check=True, capture_output=True)
    else:
        (directory / f"{subject_hash(ca.cert)}.0").symlink_to(target.name)
    return directory


# -- servers -----------------------------------------------------------------------------


@dataclass
class Seen:
    """One request a server received."""

    method: str
    target: str
    headers: dict[str, str]


@dataclass
class Reply:
    """What a route answers."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Route = Reply | Callable[[Seen], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    tls: ssl.SSLContext | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-request is the client's business

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The handshake happens here, in the request's thread, not in accept(): a
        # client that rejects the certificate must not stall the server.
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        try:
            wrapped = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        with wrapped:
            super().finish_request(wrapped, client_address)


class _Base:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = _Server(("127.0.0.1", 0), handler)
        self.port = self.server.server_address[1]
        self.log: list[Seen] = []
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def record(self, seen: Seen) -> None:
        with self.lock:
            self.log.append(seen)

    def seen(self) -> list[Seen]:
        with self.lock:
            return list(self.log)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Origin(_Base):
    """A server of ``routes`` (path → :class:`Reply` or a function of the request);
    other paths are 404. HTTPS when given a ``tls`` context."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                seen = Seen("GET", self.path, dict(self.headers.items()))
                origin.record(seen)
                route = origin.routes.get(self.path.split("?")[0])
                if route is None:
                    reply = Reply(404, b"not found\n")
                else:
                    reply = route(seen) if callable(route) else route
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

        super().__init__(Handler)
        self.server.tls = tls
        self.scheme = "https" if tls else "http"

    def url(self, path: str = "/", host: str = "127.0.0.1", userinfo: str = "") -> str:
        """This server's URL for ``path``, under the name ``host``."""
        at = f"{userinfo}@" if userinfo else ""
        return f"{self.scheme}://{at}{host}:{self.port}{path}"


class ForwardProxy(_Base):
    """A forward proxy on loopback (see the module's docstring).

    ``credentials`` (``user:password``) makes it require Proxy-Authorization.
    """

    def __init__(self, hosts: dict[str, str] | None = None, credentials: str | None = None) -> None:
        self.hosts = dict(hosts or {})
        self.credentials = credentials
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _admitted(self) -> bool:
                seen = Seen(self.command, self.path, dict(self.headers.items()))
                proxy.record(seen)
                if proxy.credentials is None or proxy.authorization_ok(
                    self.headers.get("Proxy-Authorization")
                ):
                    return True
                self.send_response(407)
                self.send_header("Proxy-Authenticate", 'Basic realm="test"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return False

            def do_GET(self) -> None:
                if not self._admitted():
                    return
                parts = urlsplit(self.path)
                host = proxy.resolve(parts.hostname or "")
                upstream = http.client.HTTPConnection(host, parts.port or 80, timeout=10)
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                try:
                    upstream.request("GET", path or "/", headers=headers)
                    answer = upstream.getresponse()
                    body = answer.read()
                except OSError:
                    self.send_response(502)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                finally:
                    upstream.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in _HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_CONNECT(self) -> None:
                if not self._admitted():
                    return
                name, _, port = self.path.rpartition(":")
                try:
                    upstream = socket.create_connection((proxy.resolve(name), int(port)), 10)
                except (OSError, ValueError):
                    self.send_response(502)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200, "Connection established")
                self.end_headers()
                self.close_connection = True
                with upstream:
                    _relay(self.connection, upstream)

        super().__init__(Handler)

    @property
    def url(self) -> str:
        """The proxy's URL, without credentials."""
        return f"http://127.0.0.1:{self.port}"

    def url_with(self, userinfo: str) -> str:
        """The proxy's URL with ``userinfo`` (``user:password``)."""
        return f"http://{userinfo}@127.0.0.1:{self.port}"

    def resolve(self, name: str) -> str:
        return self.hosts.get(name, name)

    def authorization_ok(self, header: str | None) -> bool:
        import base64

        assert self.credentials is not None
        expected = "Basic " + base64.b64encode(self.credentials.encode()).decode()
        return header == expected


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    sockets = [a, b]
    while True:
        readable, _, broken = select.select(sockets, [], sockets, 30)
        if broken or not readable:
            return
        for source in readable:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                return
            (b if source is a else a).sendall(data)


@contextlib.contextmanager
def running(*servers: _Base) -> Iterator[None]:
    """Run ``servers`` for the block."""
    for server in servers:
        server.start()
    try:
        yield
    finally:
        for server in servers:
            server.stop()


def dead_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port

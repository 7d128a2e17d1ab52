"""A loopback reverse proxy that injects faults between a client and a registry.

:class:`FaultProxy` forwards every request (method, path, query, headers, body; a
chunked request body is decoded and sent on with a Content-Length) to ``upstream``
and relays the answer. It sends ``Host`` as the upstream's own, as reverse proxies
do, and rewrites a ``Location`` naming the upstream to name the proxy instead, so a
client following distribution's absolute upload URLs stays on the proxy.

:meth:`FaultProxy.fail` arms a rule: the next ``times`` requests whose method and
path match are answered with a status without reaching the upstream, or have their
connection closed without any answer (``"drop"``). :attr:`FaultProxy.log` lists
every request as (method, path, status or ``"dropped"``).
"""

from __future__ import annotations

import http.client
import json
import re
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import urlsplit

# Hop-by-hop headers (RFC 9110 7.6.1) stay on their hop; the lengths are recomputed.
_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "host",
    "expect",  # the proxy answered any 100-continue itself, and sends the body whole
}
DROP = "drop"
DROPPED = "dropped"


class Logged(NamedTuple):
    """One request the proxy saw: its method, path (without the query) and what the
    client got: the status, or ``"dropped"``."""

    method: str
    path: str
    status: int | str


@dataclass
class Fault:
    """An armed rule; ``remaining`` counts down as requests match it."""

    method: str
    path: re.Pattern[str]
    remaining: int
    mode: str

    def matches(self, method: str, path: str) -> bool:
        return (
            self.remaining > 0
            and self.method in ("*", method)
            and self.path.search(path) is not None
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    tls: ssl.SSLContext | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-request is the client's business

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake in the request's thread, so one bad client stalls nothing.
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        try:
            wrapped = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        with wrapped:
            super().finish_request(wrapped, client_address)


class FaultProxy:
    """A reverse proxy on 127.0.0.1 in front of ``upstream_url`` (see the module).

    ``cafile`` verifies an https upstream; ``tls`` (a server context) makes the proxy
    itself serve HTTPS. Use as a context manager, or :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        upstream_url: str,
        *,
        cafile: Path | None = None,
        tls: ssl.SSLContext | None = None,
        timeout: float = 60.0,
    ) -> None:
        parts = urlsplit(upstream_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"upstream {upstream_url!r} is not an http(s) URL")
        self.upstream_scheme = parts.scheme
        self.upstream_host = parts.netloc
        self.upstream_port = parts.port or (443 if parts.scheme == "https" else 80)
        self._upstream_hostname = parts.hostname
        self._upstream_context = (
            ssl.create_default_context(cafile=str(cafile) if cafile else None)
            if parts.scheme == "https"
            else None
        )
        self.timeout = timeout
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._log: list[Logged] = []
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._server.tls = tls
        self.port: int = self._server.server_address[1]
        self.scheme = "https" if tls else "http"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """``http(s)://127.0.0.1:PORT``, no trailing slash."""
        return f"{self.scheme}://{self.host}"

    # -- rules and log

    def fail(self, method: str, path_regex: str, times: int = 1, mode: str = "503") -> Fault:
        """Fail the next ``times`` requests with ``method`` (``"*"``: any) whose path
        (without the query) ``re.search``-matches ``path_regex``. ``mode`` is a status
        (``"503"``, ``"500"``, any 4xx or 5xx), answered with a registry-style JSON
        error, or ``"drop"``: the request is read, then the connection closed with no
        answer. Rules are tried in the order they were armed."""
        if mode != DROP and not (mode.isdigit() and 400 <= int(mode) <= 599):
            raise ValueError(f"mode {mode!r}: a 4xx/5xx status or 'drop'")
        fault = Fault(method.upper(), re.compile(path_regex), times, mode)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Disarm every rule."""
        with self._lock:
            self._faults.clear()

    @property
    def log(self) -> list[Logged]:
        """Every request so far, in the order they were answered."""
        with self._lock:
            return list(self._log)

    def _take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    return fault
        return None

    def _record(self, method: str, path: str, status: int | str) -> None:
        with self._lock:
            self._log.append(Logged(method, path, status))

    def rewrite_location(self, location: str) -> str:
        """``location`` with an upstream origin replaced by the proxy's."""
        parts = urlsplit(location)
        if parts.scheme in ("http", "https") and parts.netloc == self.upstream_host:
            return parts._replace(scheme=self.scheme, netloc=self.host).geturl()
        return location

    # -- the exchange

    def _forward(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        """Send the request upstream: (status, reason, headers, body)."""
        conn: http.client.HTTPConnection
        if self.upstream_scheme == "https":
            conn = http.client.HTTPSConnection(
                self._upstream_hostname,
                self.upstream_port,
                timeout=self.timeout,
                context=self._upstream_context,
            )
        else:
            conn = http.client.HTTPConnection(
                self._upstream_hostname, self.upstream_port, timeout=self.timeout
            )
        try:
            # The upstream builds its absolute Locations from Host: it must see its own.
            sent = [(k, v) for k, v in headers if k.lower() not in _HOP]
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", self.upstream_host)
            for name, value in sent:
                conn.putheader(name, value)
            if body or method in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            answer = conn.getresponse()
            data = answer.read()
            return answer.status, answer.reason, answer.getheaders(), data
        finally:
            conn.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    chunks: list[bytes] = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            # Trailers, if any, end with an empty line.
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()  # the CRLF after each chunk
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _send(
                self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes
            ) -> None:
                self.send_response(status, reason)
                length: str | None = None
                for name, value in headers:
                    lower = name.lower()
                    if lower == "content-length":
                        length = value
                    elif lower not in _HOP:
                        rewritten = proxy.rewrite_location(value) if lower == "location" else value
                        self.send_header(name, rewritten)
                # A HEAD answer announces the length of the body it leaves out.
                if self.command == "HEAD" and length is not None:
                    self.send_header("Content-Length", length)
                else:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _relay(self) -> None:
                path = self.path.split("?")[0]
                # Read the body first, whatever happens next: closing a socket with
                # unread input makes the kernel answer RST instead of a clean close.
                body = self._body()
                fault = proxy._take(self.command, path)
                if fault is not None and fault.mode == DROP:
                    proxy._record(self.command, path, DROPPED)
                    self.close_connection = True
                    return
                if fault is not None:
                    status = int(fault.mode)
                    error = {"errors": [{"code": "UNAVAILABLE", "message": "FaultProxy"}]}
                    proxy._record(self.command, path, status)
                    self._send(
                        status,
                        "Injected",
                        [("Content-Type", "application/json")],
                        json.dumps(error).encode(),
                    )
                    return
                try:
                    status, reason, headers, data = proxy._forward(
                        self.command, self.path, list(self.headers.items()), body
                    )
                except OSError as exc:
                    proxy._record(self.command, path, 502)
                    self._send(502, "Bad Gateway", [], f"upstream: {exc}\n".encode())
                    return
                proxy._record(self.command, path, status)
                self._send(status, reason, headers, data)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _relay

        return Handler

    # -- lifecycle

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for a loop that never started
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

"""Fetching URLs (http, https, file) with retries, hashing while downloading.

Retries with exponential backoff on connection errors, truncated bodies, 5xx,
408 and 429 (honouring a short Retry-After); never on other 4xx. Every error
names the URL and, where there is one, the HTTP status; URLs pass through
:func:`gobuild.network.redact.redact` and the library's error texts through
:func:`~gobuild.network.redact.redact_text` first, so no credential reaches a message.

Requests go the way a :class:`~gobuild.network.config.Network` says: through its proxy for
the URL (one urllib3 ``ProxyManager`` per proxy; https through an http proxy tunnels
with CONNECT), verified with its CA certificates, with its credentials. Redirects are
followed here rather than by urllib3, so that each hop gets the proxy and credentials
of its own URL: credentials never follow a redirect to another host (urllib3 would
forward a GOAUTH command's custom headers), and https never redirects to http.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, Protocol
from urllib.parse import urljoin, urlsplit

from gobuild.errors import NotFound, SourceError, SourceUnreachable
from gobuild.progress import Reporter, Silent

if TYPE_CHECKING:
    import urllib3

    from gobuild.network.config import Network
    from gobuild.network.credentials import Credential

# urllib3 and urllib.request are imported where first used: they cost ~0.1 s at
# start-up, and a no-op build (which never downloads) imports this module. So is
# gobuild.network, which a Fetcher needs only once it is made (dataclasses and all).

CHUNK = 1 << 20
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
AUTH_STATUSES = frozenset({401, 403})
MAX_REDIRECTS = 5
MAX_RETRY_AFTER = 30.0
USER_AGENT = "gobuild (+toolchain installer)"


class Sink(Protocol):
    """Where a download goes: a binary file, or a
    :class:`~gobuild.toolchain.archive.gunzip.GunzipSink`."""

    def write(self, data: bytes, /) -> int:
        """Take the next chunk of the body."""

    def tell(self) -> int:
        """Bytes taken so far."""

    def seek(self, offset: int, whence: int = 0, /) -> int:
        """Rewind (to where the download started, before a retry)."""

    def truncate(self, size: int | None = None, /) -> int:
        """Drop what follows the position (a failed attempt's partial body)."""

    def flush(self) -> None:
        """Push buffered bytes on."""


class Fetcher:
    """Fetches with ``retries`` attempts after the first, a per-request
    ``timeout`` and exponential ``backoff``, over ``network`` (None: no proxies, the
    system's CA certificates, no credentials but those written into a URL); one
    connection pool per proxy, and one for direct connections."""

    def __init__(
        self,
        network: Network | None = None,
        retries: int = 4,
        timeout: float = 30.0,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if network is None:
            from gobuild.network.config import Network  # noqa: PLC0415 - see the module note

            network = Network()
        self.network = network
        self.retries = retries
        self.timeout = timeout
        self.backoff = backoff
        self.sleep = sleep
        self._pools: dict[str | None, urllib3.PoolManager] = {}

    def redact(self, url: str) -> str:
        """``url`` fit for a message: its credentials masked
        (:func:`gobuild.network.redact.redact`)."""
        return _shown(url)

    def get_bytes(self, url: str, limit: int = 64 << 20) -> bytes:
        """The whole body of ``url`` (for listings), refusing bodies above ``limit``."""
        chunks: list[bytes] = []
        size = 0
        for chunk in self._attempts(url, Silent()):
            size += len(chunk)
            if size > limit:
                raise SourceError(f"{_shown(url)}: response larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def download(self, url: str, dest: Sink, reporter: Reporter | None = None) -> str:
        """Stream ``url`` into ``dest``, returning the body's sha256 (hex).

        ``dest`` is rewound and truncated before each retry so a partial body
        from a failed attempt never mixes with the next one.
        """
        reporter = reporter or Silent()
        digest = hashlib.sha256()
        start = dest.tell()

        def restart() -> None:
            nonlocal digest
            dest.seek(start)
            dest.truncate()
            digest = hashlib.sha256()

        for chunk in self._attempts(url, reporter, on_retry=restart):
            digest.update(chunk)
            dest.write(chunk)
            reporter.advance(len(chunk))
        dest.flush()
        return digest.hexdigest()

    def _attempts(
        self, url: str, reporter: Reporter, on_retry: Callable[[], None] | None = None
    ) -> Iterator[bytes]:
        shown = _shown(url)
        scheme = urlsplit(url).scheme
        if scheme == "file":
            yield from _read_file(url, shown, reporter)
            return
        if scheme not in ("http", "https"):
            raise SourceError(f"unsupported URL scheme: {shown}")
        attempt = 0
        while True:
            try:
                yield from self._http(url, shown, reporter)
                return
            except _Retryable as exc:
                if attempt >= self.retries:
                    raise SourceUnreachable(
                        f"{shown}: {exc.reason} (gave up after {attempt + 1} attempts)"
                    ) from None
                delay = exc.retry_after or self.backoff * (2**attempt)
                attempt += 1
                if on_retry:
                    on_retry()
                self.sleep(min(delay, MAX_RETRY_AFTER))

    def _http(self, url: str, shown: str, reporter: Reporter) -> Iterator[bytes]:
        import urllib3  # noqa: PLC0415 - see the module note

        from gobuild.network.credentials import url_credential  # noqa: PLC0415
        from gobuild.network.redact import split_userinfo  # noqa: PLC0415

        first, user, password = split_userinfo(url)
        target = first
        # The URL's own user information is for its own host (and port) only.
        origin = _origin(target)
        own = url_credential(user, password) if user is not None else None
        secrets = set(own.all_secrets()) if own else set()
        for _ in range(MAX_REDIRECTS + 1):
            cred = own if own and _origin(target) == origin else self.network.credential_for(target)
            resp = self._request(target, cred, shown, secrets)
            # As the go command does: a 4xx runs GOAUTH's commands again, with the URL
            # and the response, and the request is tried once more (the URL's own
            # credentials are not GOAUTH's to replace).
            if (
                _may_reauthenticate(resp.status, target)
                and (own is None or cred is not own)
                and self.network.reauthenticate(target, _response_text(resp))
            ):
                _discard(resp)
                cred = self.network.credential_for(target)
                resp = self._request(target, cred, shown, secrets)
            if resp.status not in REDIRECT_STATUSES:
                break
            location = resp.headers.get("Location")
            _discard(resp)
            if not location:
                raise SourceError(f"{shown}: HTTP {resp.status} without a Location")
            following = split_userinfo(urljoin(target, location)).url
            if urlsplit(target).scheme == "https" and urlsplit(following).scheme != "https":
                raise SourceError(f"{shown}: refusing a redirect from https to {_shown(following)}")
            target = following
        else:
            raise SourceError(f"{shown}: more than {MAX_REDIRECTS} redirects")
        complete = False
        try:
            self._check_status(resp, shown, target, first, cred)
            length = resp.headers.get("Content-Length")
            reporter.stage("download", int(length) if length and length.isdigit() else None)
            try:
                yield from resp.stream(CHUNK)
            except urllib3.exceptions.HTTPError as exc:
                raise _Retryable(f"transfer interrupted: {_reason(exc, secrets)}") from None
            complete = True
        finally:
            if complete:
                resp.release_conn()
            else:
                _discard(resp)

    def _request(
        self, target: str, cred: Credential | None, shown: str, secrets: set[str]
    ) -> urllib3.BaseHTTPResponse:
        import urllib3  # noqa: PLC0415 - see the module note

        from gobuild.network.redact import split_userinfo  # noqa: PLC0415

        proxy = self.network.proxy_for(target)
        if proxy is not None:
            _, proxy_user, proxy_password = split_userinfo(proxy)
            secrets.update(s for s in (proxy_password or proxy_user,) if s)
        headers = {"User-Agent": USER_AGENT}
        if cred is not None:
            headers.update(cred.headers)
            secrets.update(cred.all_secrets())
        try:
            return self._pool(proxy).request(
                "GET",
                target,
                preload_content=False,
                decode_content=False,
                redirect=False,
                retries=urllib3.Retry(total=0, redirect=False),
                headers=headers,
            )
        except urllib3.exceptions.HTTPError as exc:
            self._failed(exc, target, proxy, shown, secrets)

    def _pool(self, proxy: str | None) -> urllib3.PoolManager:
        pool = self._pools.get(proxy)
        if pool is None:
            pool = self._pools[proxy] = pool_manager(self.network, proxy, self.timeout)
        return pool

    def _failed(
        self, exc: Exception, target: str, proxy: str | None, shown: str, secrets: set[str]
    ) -> NoReturn:
        """Raise what a failed request means: _Retryable for what may pass, else a
        one-line GobuildError."""
        import ssl  # noqa: PLC0415 - see the module note

        import urllib3  # noqa: PLC0415

        errors = urllib3.exceptions
        inner = getattr(exc, "reason", None) or exc
        host = urlsplit(target).hostname
        if isinstance(inner, errors.ProxyError) and proxy is not None:
            via = _shown(proxy)
            cause = getattr(inner, "original_error", None) or inner
            if "407" in str(cause):
                raise SourceError(f"{shown}: {_proxy_refusal(proxy)}") from None
            if isinstance(cause, errors.NameResolutionError):
                proxy_host = urlsplit(proxy).hostname
                raise SourceUnreachable(
                    f"{shown}: cannot resolve host {proxy_host} of proxy {via}"
                ) from None
            raise _Retryable(f"cannot connect to proxy {via}: {_reason(cause, secrets)}") from None
        if isinstance(inner, errors.NameResolutionError):
            # An unknown host (an air-gapped site) will not resolve a second later.
            raise SourceUnreachable(f"{shown}: cannot resolve host {host}") from None
        if isinstance(inner, errors.SSLError):
            cause = inner.args[0] if inner.args else None
            if isinstance(cause, ssl.SSLCertVerificationError | FileNotFoundError):
                raise SourceError(
                    f"{shown}: TLS certificate of {host} not trusted: {_reason(inner, secrets)} "
                    f"(verified with {self.network.ca_description()})"
                ) from None
            raise _Retryable(f"TLS handshake failed: {_reason(inner, secrets)}") from None
        raise _Retryable(f"cannot connect: {_reason(exc, secrets)}") from None

    def _check_status(
        self,
        resp: urllib3.BaseHTTPResponse,
        shown: str,
        target: str,
        first: str,
        cred: Credential | None,
    ) -> None:
        """Raise unless ``resp`` (the last answer for ``target``, where ``first`` led)
        is a 200."""
        status = resp.status
        if status in RETRY_STATUSES:
            raise _Retryable(f"HTTP {status}", _retry_after(resp))
        if status in (404, 410):
            raise NotFound(f"{shown}: HTTP {status}")
        if status in AUTH_STATUSES:
            where = f" (redirected to {_shown(target)})" if target != first else ""
            if cred is not None:
                raise SourceError(
                    f"{shown}: HTTP {status}: credentials from {cred.source} were rejected{where}"
                )
            why = self.network.why_no_credential(target)
            raise SourceError(f"{shown}: HTTP {status}: credentials missing ({why}){where}")
        if status == 407:
            raise SourceError(f"{shown}: {_proxy_refusal(self.network.proxy_for(target))}")
        if status != 200:
            raise SourceError(f"{shown}: HTTP {status}")


def pool_manager(network: Network, proxy: str | None, timeout: float) -> urllib3.PoolManager:
    """Connections over ``network``: direct, or through ``proxy`` (its credentials in a
    header, not inside the URL where urllib3's messages could show them), TLS verified
    with the network's CA certificates."""
    import urllib3  # noqa: PLC0415 - see the module note

    from gobuild.network.credentials import basic_auth  # noqa: PLC0415
    from gobuild.network.redact import split_userinfo  # noqa: PLC0415

    ca_file, ca_dir = network.ca_locations()
    limits = urllib3.Timeout(connect=timeout, read=timeout)
    if proxy is None:
        return urllib3.PoolManager(timeout=limits, ca_certs=ca_file, ca_cert_dir=ca_dir)
    bare, user, password = split_userinfo(proxy)
    auth = {"Proxy-Authorization": basic_auth(user, password)} if user else None
    return urllib3.ProxyManager(
        bare, proxy_headers=auth, timeout=limits, ca_certs=ca_file, ca_cert_dir=ca_dir
    )


def unreachable(network: Network, url: str, timeout: float) -> str | None:
    """Why a HEAD of ``url`` got no HTTP answer within ``timeout`` seconds (one try, no
    credentials), or None when something answered, whatever the status: a probe of a
    service that is up, not of what it will let anyone do."""
    import urllib3  # noqa: PLC0415 - see the module note

    pool = pool_manager(network, network.proxy_for(url), timeout)
    try:
        resp = pool.request("HEAD", url, retries=False, redirect=False, preload_content=False)
    except urllib3.exceptions.HTTPError as exc:
        return _reason(exc, set())
    finally:
        pool.clear()
    _discard(resp)
    return None


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _retry_after(resp: urllib3.BaseHTTPResponse) -> float | None:
    value = resp.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


def _shown(url: str) -> str:
    from gobuild.network.redact import redact  # noqa: PLC0415 - see the module note

    return redact(url)


def _proxy_refusal(proxy: str | None) -> str:
    """What a 407 from ``proxy`` means."""
    if proxy is None:
        return "HTTP 407 from a proxy gobuild was not told of"
    if "@" in urlsplit(proxy).netloc:
        return f"proxy {_shown(proxy)} rejected the credentials in its URL (HTTP 407)"
    return f"proxy {_shown(proxy)} requires credentials: http://user:password@host:port (HTTP 407)"


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _may_reauthenticate(status: int, target: str) -> bool:
    return 400 <= status < 500 and status not in RETRY_STATUSES and target.startswith("https:")


def _response_text(resp: urllib3.BaseHTTPResponse) -> str:
    """The status line and headers, as the go command writes them to a GOAUTH command."""
    version = f"HTTP/{resp.version // 10}.{resp.version % 10}"
    lines = [f"{version} {resp.status} {resp.reason or ''}".rstrip()]
    lines += [f"{k}: {v}" for k, v in resp.headers.items()]
    return "\n".join(lines) + "\n\n"


def _discard(resp: urllib3.BaseHTTPResponse) -> None:
    """Give up a response whose body is not read: its connection is closed, not reused."""
    resp.close()
    resp.release_conn()


def _reason(exc: BaseException, secrets: set[str]) -> str:
    from gobuild.network.redact import redact_text  # noqa: PLC0415 - see the module note

    inner = getattr(exc, "reason", None) or exc
    text = str(inner)
    # urllib3 prefixes the connection object's repr; keep only the OS's words.
    text = text.rsplit(": ", 1)[-1] if "Connection" in text else text
    return redact_text(text, secrets)


def _read_file(url: str, shown: str, reporter: Reporter) -> Iterator[bytes]:
    from urllib.request import url2pathname  # noqa: PLC0415 - see the module note

    path = Path(url2pathname(urlsplit(url).path))
    try:
        f = path.open("rb")
    except FileNotFoundError:
        raise NotFound(f"{shown}: not found") from None
    except OSError as exc:
        raise SourceError(f"{shown}: {exc.strerror}") from None
    with f:
        reporter.stage("download", path.stat().st_size)
        while chunk := f.read(CHUNK):
            yield chunk

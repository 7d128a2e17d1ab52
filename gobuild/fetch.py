"""Fetching URLs (http, https, file) with retries, hashing while downloading.

Retries with exponential backoff on connection errors, truncated bodies, 5xx,
408 and 429 (honouring a short Retry-After); never on other 4xx. Every error
names the URL and, where there is one, the HTTP status.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from gobuild.errors import NotFound, SourceError, SourceUnreachable
from gobuild.progress import Reporter, Silent

if TYPE_CHECKING:
    import urllib3

# urllib3 and urllib.request are imported where first used: they cost ~0.1 s at
# start-up, and a no-op build (which never downloads) imports this module.

CHUNK = 1 << 20
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
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
    ``timeout`` and exponential ``backoff``; one connection pool per fetcher."""

    def __init__(
        self,
        retries: int = 4,
        timeout: float = 30.0,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.retries = retries
        self.timeout = timeout
        self.backoff = backoff
        self.sleep = sleep
        self._pool: urllib3.PoolManager | None = None

    def get_bytes(self, url: str, limit: int = 64 << 20) -> bytes:
        """The whole body of ``url`` (for listings), refusing bodies above ``limit``."""
        chunks: list[bytes] = []
        size = 0
        for chunk in self._attempts(url, Silent()):
            size += len(chunk)
            if size > limit:
                raise SourceError(f"{url}: response larger than {limit} bytes")
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
        scheme = urlsplit(url).scheme
        if scheme == "file":
            yield from _read_file(url, reporter)
            return
        if scheme not in ("http", "https"):
            raise SourceError(f"unsupported URL scheme: {url}")
        attempt = 0
        while True:
            try:
                yield from self._http(url, reporter)
                return
            except _Retryable as exc:
                if attempt >= self.retries:
                    raise SourceUnreachable(
                        f"{url}: {exc.reason} (gave up after {attempt + 1} attempts)"
                    ) from None
                delay = exc.retry_after or self.backoff * (2**attempt)
                attempt += 1
                if on_retry:
                    on_retry()
                self.sleep(min(delay, MAX_RETRY_AFTER))

    def _http(self, url: str, reporter: Reporter) -> Iterator[bytes]:
        import urllib3  # noqa: PLC0415 - see the module note

        if self._pool is None:
            timeout = urllib3.Timeout(connect=self.timeout, read=self.timeout)
            self._pool = urllib3.PoolManager(timeout=timeout)
        try:
            resp = self._pool.request(
                "GET",
                url,
                preload_content=False,
                decode_content=False,
                retries=urllib3.Retry(total=0, redirect=5, raise_on_redirect=True),
                headers={"User-Agent": USER_AGENT},
            )
        except urllib3.exceptions.HTTPError as exc:
            inner = getattr(exc, "reason", exc)
            if isinstance(inner, urllib3.exceptions.NameResolutionError):
                # An unknown host (an air-gapped site) will not resolve a second later.
                host = urlsplit(url).hostname
                raise SourceUnreachable(f"{url}: cannot resolve host {host}") from None
            raise _Retryable(f"cannot connect: {_reason(exc)}") from None
        try:
            if resp.status in RETRY_STATUSES:
                raise _Retryable(f"HTTP {resp.status}", _retry_after(resp))
            if resp.status in (404, 410):
                raise NotFound(f"{url}: HTTP {resp.status}")
            if resp.status != 200:
                raise SourceError(f"{url}: HTTP {resp.status}")
            length = resp.headers.get("Content-Length")
            reporter.stage("download", int(length) if length and length.isdigit() else None)
            try:
                yield from resp.stream(CHUNK)
            except urllib3.exceptions.HTTPError as exc:
                raise _Retryable(f"transfer interrupted: {_reason(exc)}") from None
        finally:
            resp.release_conn()


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _retry_after(resp: urllib3.BaseHTTPResponse) -> float | None:
    value = resp.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


def _reason(exc: BaseException) -> str:
    inner = getattr(exc, "reason", None) or exc
    text = str(inner)
    # urllib3 prefixes the connection object's repr; keep only the OS's words.
    return text.rsplit(": ", 1)[-1] if "Connection" in text else text


def _read_file(url: str, reporter: Reporter) -> Iterator[bytes]:
    from urllib.request import url2pathname  # noqa: PLC0415 - see the module note

    path = Path(url2pathname(urlsplit(url).path))
    try:
        f = path.open("rb")
    except FileNotFoundError:
        raise NotFound(f"{url}: not found") from None
    except OSError as exc:
        raise SourceError(f"{url}: {exc.strerror}") from None
    with f:
        reporter.stage("download", path.stat().st_size)
        while chunk := f.read(CHUNK):
            yield chunk

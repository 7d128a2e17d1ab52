"""The distribution API (OCI distribution spec v1.1): manifests and blobs, pulled and
pushed, through the environment's proxies and CA certificates.

Each request is retried with exponential backoff when the registry answers 408, 429
or 5xx, or the connection fails or drops; never on another 4xx. Authentication
follows the registry's challenge: Basic with the host's credential
(:mod:`gobuild.oci.dockerauth`), or a Bearer token fetched from the realm it names,
for the scope the request needs. Credentials and tokens go only into headers, never a
URL, and are scrubbed from every message; a redirect to another host (a blob store)
is followed without them.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urljoin, urlsplit

from gobuild.errors import GobuildError
from gobuild.network.credentials import Credential
from gobuild.network.redact import redact, redact_text
from gobuild.oci import layout
from gobuild.oci.cache import BlobCache
from gobuild.oci.reference import Reference

if TYPE_CHECKING:
    import urllib3

    from gobuild.network.config import Network

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
USER_AGENT = "gobuild (+release publisher)"
MAX_REDIRECTS = 5
ACCEPT = ", ".join((*layout.INDEX_TYPES, *layout.MANIFEST_TYPES))


class RegistryError(GobuildError):
    """The registry refused a request, or could not be reached after the retries."""

    def __init__(self, message: str, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code  # the distribution error code ("MANIFEST_UNKNOWN", ...)


@dataclass(frozen=True)
class Response:
    """A registry's answer, read whole."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class _Retry(Exception):
    pass


class Client:
    """Speaks to registries for one run: a connection pool per proxy, tokens per scope.

    ``credentials(registry)`` gives the Basic credential for a registry host (or None).
    """

    def __init__(
        self,
        network: Network,
        credentials: Callable[[str], Credential | None],
        *,
        cache: BlobCache | None = None,
        retries: int = 4,
        timeout: float = 60.0,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.network = network
        self.credentials = credentials
        self.cache = cache
        self.retries = retries
        self.timeout = timeout
        self.backoff = backoff
        self.sleep = sleep
        self.retried = 0  # requests sent again, for the report
        self._tokens: dict[tuple[str, str], str] = {}
        self._creds: dict[str, Credential | None] = {}
        self._secrets: set[str] = set()
        self._pools: dict[str | None, urllib3.PoolManager] = {}

    # -- manifests ---------------------------------------------------------------------

    def get_manifest(self, ref: Reference, identifier: str | None = None) -> bytes:
        """The manifest or index ``ref`` names (``identifier``: a tag or digest instead),
        checked against the digest when one names it (and then kept in the cache)."""
        wanted = identifier or ref.identifier
        by_digest = wanted.startswith("sha256:")
        if by_digest and self.cache is not None and (kept := self.cache.get(wanted)):
            return kept
        url = f"{ref.base_url}/manifests/{wanted}"
        resp = self.request("GET", url, ref, "pull", headers={"Accept": ACCEPT})
        self._expect(resp, "GET", url, 200)
        if by_digest:
            actual = layout.sha256_digest(resp.body)
            if actual != wanted:
                raise RegistryError(f"GET {redact(url)}: got {actual}")
            if self.cache is not None:
                self.cache.put(wanted, resp.body)
        return resp.body

    def manifest_digest(self, ref: Reference, tag: str) -> str | None:
        """The digest ``tag`` points to, or None when there is no such tag."""
        url = f"{ref.base_url}/manifests/{tag}"
        resp = self.request("HEAD", url, ref, "pull", headers={"Accept": ACCEPT})
        if resp.status == 404:
            return None
        self._expect(resp, "HEAD", url, 200)
        digest = resp.headers.get("Docker-Content-Digest")
        if digest:
            return digest
        return layout.sha256_digest(self.get_manifest(ref, tag))

    def put_manifest(self, ref: Reference, identifier: str, data: bytes, media_type: str) -> None:
        """Store ``data`` as the manifest ``identifier`` (a tag, or its own digest)."""
        url = f"{ref.base_url}/manifests/{identifier}"
        resp = self.request(
            "PUT", url, ref, "pull,push", headers={"Content-Type": media_type}, body=data
        )
        self._expect(resp, "PUT", url, 201)
        said = resp.headers.get("Docker-Content-Digest")
        ours = layout.sha256_digest(data)
        if said and said != ours:
            raise RegistryError(f"PUT {redact(url)}: the registry stored {said}, not {ours}")

    # -- blobs -------------------------------------------------------------------------

    def has_blob(self, ref: Reference, digest: str) -> bool:
        """Whether the repository holds the blob."""
        url = f"{ref.base_url}/blobs/{digest}"
        resp = self.request("HEAD", url, ref, "pull,push")
        if resp.status == 404:
            return False
        self._expect(resp, "HEAD", url, 200)
        return True

    def blob_bytes(self, ref: Reference, descriptor: layout.Descriptor) -> bytes:
        """A blob's bytes, checked against ``descriptor`` (digest, size); from the cache
        when it has them."""
        kept = self.cache.get(descriptor.digest) if self.cache is not None else None
        if kept is not None and len(kept) == descriptor.size:
            return kept
        url = f"{ref.base_url}/blobs/{descriptor.digest}"
        resp = self.request("GET", url, ref, "pull")
        self._expect(resp, "GET", url, 200)
        data = resp.body
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        if actual != descriptor.digest or len(data) != descriptor.size:
            raise RegistryError(
                f"GET {redact(url)}: got {actual} ({len(data)} bytes), "
                f"expected {descriptor.digest} ({descriptor.size} bytes)"
            )
        if self.cache is not None:
            self.cache.put(descriptor.digest, data)
        return data

    def push_blob(self, ref: Reference, digest: str, data: bytes) -> None:
        """Upload ``data`` as blob ``digest``: one session (POST), one PUT.

        A session the registry lost (a PUT retried after it was half received) starts
        over, as many times as requests are retried.
        """
        start = f"{ref.base_url}/blobs/uploads/"
        for attempt in range(self.retries + 1):
            resp = self.request("POST", start, ref, "pull,push", body=b"")
            self._expect(resp, "POST", start, 202)
            location = resp.headers.get("Location")
            if not location:
                raise RegistryError(f"POST {redact(start)}: HTTP 202 without a Location")
            target = urljoin(start, location)
            target += ("&" if urlsplit(target).query else "?") + urlencode({"digest": digest})
            headers = {"Content-Type": "application/octet-stream"}
            resp = self.request("PUT", target, ref, "pull,push", headers=headers, body=data)
            if resp.status == 404 and attempt < self.retries:
                self.retried += 1
                continue  # BLOB_UPLOAD_UNKNOWN: a new session
            self._expect(resp, "PUT", target.split("?", 1)[0], 201)
            return

    # -- requests ----------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        ref: Reference,
        actions: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        """Send ``method url`` with authentication for ``ref``'s repository and
        ``actions`` ("pull" or "pull,push"), retrying what may pass."""
        attempt = 0
        while True:
            try:
                return self._authenticated(method, url, ref, actions, headers or {}, body)
            except _Retry as exc:
                if attempt >= self.retries:
                    raise RegistryError(
                        f"{method} {redact(url)}: {exc} (gave up after {attempt + 1} attempts)"
                    ) from None
                self.sleep(self.backoff * (2**attempt))
                attempt += 1
                self.retried += 1

    def _authenticated(  # noqa: PLR0917 - one request's every part
        self,
        method: str,
        url: str,
        ref: Reference,
        actions: str,
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> Response:
        scope = f"repository:{ref.repository}:{actions}"
        key = (ref.api_host, scope)
        auth = self._tokens.get(key)
        resp = self._send(method, url, headers, body, auth)
        if resp.status != 401:
            return resp
        challenge = resp.headers.get("WWW-Authenticate", "")
        auth = self._answer(challenge, ref, scope, url)
        self._tokens[key] = auth
        resp = self._send(method, url, headers, body, auth)
        if resp.status == 401:
            cred = self._credential(ref.registry)
            who = f"credentials from {cred.source} were rejected" if cred else "no credentials"
            raise RegistryError(f"{method} {redact(url)}: HTTP 401: {who}", 401, "UNAUTHORIZED")
        return resp

    def _credential(self, registry: str) -> Credential | None:
        if registry not in self._creds:
            cred = self.credentials(registry)
            self._creds[registry] = cred
            if cred is not None:
                self._secrets.update(cred.all_secrets())
        return self._creds[registry]

    def _answer(self, challenge: str, ref: Reference, scope: str, url: str) -> str:
        """The Authorization header that answers ``challenge``."""
        kind, _, rest = challenge.partition(" ")
        params = _challenge_params(rest)
        cred = self._credential(ref.registry)
        basic = dict(cred.headers).get("Authorization") if cred else None
        if kind.lower() == "basic":
            if basic is None:
                raise RegistryError(
                    f"{redact(url)}: HTTP 401: the registry wants credentials and none are "
                    f"set for {ref.registry} (docker login, or GOBUILD_REGISTRY_USERNAME/"
                    "GOBUILD_REGISTRY_PASSWORD)",
                    401,
                    "UNAUTHORIZED",
                )
            return basic
        if kind.lower() != "bearer" or "realm" not in params:
            raise RegistryError(f"{redact(url)}: HTTP 401 with an unknown challenge {kind!r}")
        query = {"service": params.get("service", ""), "scope": params.get("scope", scope)}
        realm = params["realm"] + "?" + urlencode({k: v for k, v in query.items() if v})
        if urlsplit(realm).scheme != "https" and urlsplit(url).scheme == "https":
            raise RegistryError(f"{redact(url)}: refusing a token realm over plain http")
        resp = self._send("GET", realm, {}, None, basic)
        if resp.status != 200:
            who = f"credentials from {cred.source}" if cred else "anonymous"
            raise RegistryError(
                f"token {redact(params['realm'])}: HTTP {resp.status} ({who})", resp.status
            )
        try:
            answer: Any = json.loads(resp.body)
            token = str(answer.get("token") or answer["access_token"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise RegistryError(
                f"token {redact(params['realm'])}: no token in the answer"
            ) from None
        self._secrets.add(token)
        return f"Bearer {token}"

    def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        auth: str | None,
    ) -> Response:
        import urllib3  # noqa: PLC0415 - only a release pulls or pushes

        target = url
        origin = urlsplit(url).netloc
        for _ in range(MAX_REDIRECTS + 1):
            sent = {"User-Agent": USER_AGENT, **headers}
            # Credentials go to the registry's own host only, never to a blob store.
            if auth is not None and urlsplit(target).netloc == origin:
                sent["Authorization"] = auth
            proxy = self.network.proxy_for(target)
            try:
                raw = self._pool(proxy).request(
                    method,
                    target,
                    body=body,
                    headers=sent,
                    redirect=False,
                    retries=urllib3.Retry(total=0, redirect=False),
                    preload_content=True,
                    decode_content=True,
                )
            except urllib3.exceptions.HTTPError as exc:
                inner = getattr(exc, "reason", None) or exc
                raise _Retry(redact_text(f"connection failed: {inner}", self._secrets)) from None
            if raw.status in RETRY_STATUSES:
                raise _Retry(f"HTTP {raw.status}{_error_text(raw.data, self._secrets)}")
            location = raw.headers.get("Location")
            if raw.status in (301, 302, 303, 307, 308) and location and method in ("GET", "HEAD"):
                target = urljoin(target, location)
                continue
            # urllib3's headers: looked up without regard to case, as HTTP has them.
            return Response(raw.status, raw.headers, raw.data or b"")
        raise RegistryError(f"{method} {redact(url)}: more than {MAX_REDIRECTS} redirects")

    def _pool(self, proxy: str | None) -> urllib3.PoolManager:
        from gobuild.fetch import pool_manager  # noqa: PLC0415 - see _send

        pool = self._pools.get(proxy)
        if pool is None:
            pool = self._pools[proxy] = pool_manager(self.network, proxy, self.timeout)
        return pool

    def _expect(self, resp: Response, method: str, url: str, *statuses: int) -> None:
        if resp.status in statuses:
            return
        code, detail = _error_code(resp.body)
        text = redact_text(f"{method} {redact(url)}: HTTP {resp.status}{detail}", self._secrets)
        raise RegistryError(text, resp.status, code)


def _challenge_params(text: str) -> dict[str, str]:
    """``realm="https://auth",service="registry",scope="..."`` as a dict."""
    params: dict[str, str] = {}
    rest = text.strip()
    while rest:
        name, eq, rest = rest.partition("=")
        if not eq:
            break
        if rest.startswith('"'):
            value, _, rest = rest[1:].partition('"')
        else:
            value, _, rest = rest.partition(",")
        params[name.strip().lower()] = value
        rest = rest.lstrip(", ")
    return params


def _error_code(body: bytes) -> tuple[str, str]:
    """The distribution error's code and ``: CODE: message`` for a message."""
    try:
        errors = json.loads(body).get("errors") or []
        first = errors[0]
        code, message = str(first.get("code", "")), str(first.get("message", ""))
    except (ValueError, AttributeError, IndexError, TypeError):
        return "", ""
    return code, f": {code}: {message}"[:300]


def _error_text(body: bytes, secrets: set[str]) -> str:
    return redact_text(_error_code(body)[1], secrets)

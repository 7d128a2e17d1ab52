"""A real OCI registry on loopback, and raw-HTTP helpers that check what was pushed to it.

:class:`Registry` runs Debian's ``docker-registry`` (distribution 2.8) on 127.0.0.1 with
filesystem storage in a test's tmp dir; with ``users`` it demands basic auth (an
htpasswd file of bcrypt hashes, the only kind distribution reads), with ``tls`` (a
:class:`~tests.netproxy.TestCA`) it serves HTTPS. Distribution 2.8 accepts basic auth
over plain HTTP, so TLS is a choice for the tests, not a requirement of auth.

The helpers speak the distribution API with the standard library only and import
nothing from gobuild, so they judge gobuild's publisher independently:
:func:`push_image` pushes a tiny multi-platform base image (deterministic bytes, so
its digests are the same on every call), :func:`manifest`, :func:`blob`,
:func:`tags`, :func:`image_file` and :func:`referrers` read back. Distribution 2.8
has no referrers API (``GET /v2/<repo>/referrers/<digest>`` is a 404 from its router),
so :func:`referrers` falls back to the OCI 1.1 referrers tag schema (tag
``sha256-<hex>``), which :func:`push_artifact` maintains the way a client must on
such a registry.

Every helper takes a :class:`Registry` or an :class:`Endpoint` (the same registry
seen through another URL, e.g. a :class:`~tests.faultproxy.FaultProxy`, or with other
credentials).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import io
import json
import posixpath
import secrets
import ssl
import subprocess
import tarfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from tests.daemons import free_port, stop_group
from tests.netproxy import TestCA

REGISTRY = Path("/usr/bin/docker-registry")

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
INDEXES = (OCI_INDEX, DOCKER_LIST)
ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))
EMPTY_JSON = b"{}"  # the OCI 1.1 empty descriptor's content

# The base image's files: root and distroless' nonroot user (65532), and PATH.
PASSWD = (
    b"root:x:0:0:root:/root:/sbin/nologin\n"
    b"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
)
GROUP = b"root:x:0:\nnonroot:x:65532:\n"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Fixed times, so layers, configs and therefore every digest are stable across calls.
_MTIME = 1700000000
_CREATED = "2023-11-14T22:13:20Z"
_TIMEOUT = 60.0


def unavailable() -> str | None:
    """Why registry tests cannot run here, or None."""
    if not REGISTRY.exists():
        return f"{REGISTRY} is missing (apt-get install docker-registry)"
    return None


class RegistryError(Exception):
    """The registry answered with a status the helper did not expect."""

    def __init__(self, method: str, url: str, status: int, body: bytes) -> None:
        super().__init__(f"{method} {url}: {status} {body[:500].decode(errors='replace')}")
        self.status = status
        self.body = body


# -- where and as whom -------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """A registry as a client sees it: its base URL, basic-auth credentials and the CA
    bundle that verifies its certificate (for https)."""

    url: str
    auth: tuple[str, str] | None = None
    cafile: Path | None = None

    @property
    def host(self) -> str:
        """``host:port``, as image references name the registry."""
        return urlsplit(self.url).netloc

    def through(self, url: str) -> Endpoint:
        """The same registry reached at ``url`` (a proxy in front of it)."""
        return replace(self, url=url.rstrip("/"))

    def as_user(self, user: str, password: str) -> Endpoint:
        """The same registry with other credentials."""
        return replace(self, auth=(user, password))

    def anonymous(self) -> Endpoint:
        """The same registry without credentials."""
        return replace(self, auth=None)


def _yaml(value: Mapping[str, Any], indent: int = 0) -> str:
    """Block YAML for nested mappings of scalars; scalars as JSON (valid YAML)."""
    lines = []
    for key, item in value.items():
        pad = "  " * indent
        if isinstance(item, Mapping):
            lines.append(f"{pad}{key}:\n{_yaml(item, indent + 1)}")
        else:
            lines.append(f"{pad}{key}: {json.dumps(item)}")
    return "\n".join(lines)


class Registry:
    """Debian's docker-registry on 127.0.0.1 (see the module's docstring).

    ``directory`` receives the config, the storage, the htpasswd file and the log.
    ``users`` (name → password) turns on basic auth; ``tls`` serves HTTPS with a
    certificate for 127.0.0.1 from that CA (``cafile`` is then its bundle).
    Use as a context manager, or :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        directory: Path,
        *,
        users: Mapping[str, str] | None = None,
        tls: TestCA | None = None,
        binary: Path = REGISTRY,
    ) -> None:
        self.directory = directory
        self.users = dict(users or {})
        self.tls = tls
        self.binary = binary
        self.storage = directory / "storage"
        self.config_path = directory / "config.yml"
        self.log_path = directory / "registry.log"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    # -- addresses

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """``http(s)://127.0.0.1:PORT``, no trailing slash."""
        return f"{self.scheme}://{self.host}"

    @property
    def cafile(self) -> Path | None:
        """The CA bundle that verifies the registry's certificate (None over HTTP)."""
        return self.tls.pem if self.tls else None

    @property
    def auth(self) -> tuple[str, str] | None:
        """The first user's credentials (the helpers' default), or None without users."""
        return next(iter(self.users.items()), None)

    @property
    def endpoint(self) -> Endpoint:
        """This registry as the helpers reach it: its URL, first user, CA."""
        return Endpoint(self.url, self.auth, self.cafile)

    # -- lifecycle

    def _write_config(self) -> None:
        http: dict[str, Any] = {
            "addr": self.host,
            # A fixed secret silences the startup warning about a generated one.
            "secret": secrets.token_hex(16),
        }
        if self.tls:
            cert, key = self.tls.issue("127.0.0.1", "localhost")
            http["tls"] = {"certificate": str(cert), "key": str(key)}
        config: dict[str, Any] = {
            "log": {"level": "warn"},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage)},
                "delete": {"enabled": True},
            },
            "http": http,
        }
        if self.users:
            import bcrypt  # the test extra; distribution reads only bcrypt entries

            htpasswd = self.directory / "htpasswd"
            htpasswd.write_bytes(
                b"".join(
                    # Cost 4, the minimum: each request is checked against it.
                    name.encode() + b":" + bcrypt.hashpw(pw.encode(), bcrypt.gensalt(4)) + b"\n"
                    for name, pw in self.users.items()
                )
            )
            config["auth"] = {"htpasswd": {"realm": "gobuild-test", "path": str(htpasswd)}}
        self.config_path.write_text(f"version: 0.1\n{_yaml(config)}\n")

    def log_tail(self, lines: int = 30) -> str:
        """The end of the registry's log (its warnings and access log)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def start(self, timeout: float = 30.0) -> None:
        """Start the registry and wait until ``GET /v2/`` answers (200, or 401 with users).
        A port taken between choosing and binding it is retried with another."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.storage.mkdir(exist_ok=True)
        for _attempt in range(3):
            self.port = free_port()
            self._write_config()
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    [str(self.binary), "serve", str(self.config_path)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own group, killed whole by stop()
                )
            try:
                self._wait(timeout)
                return
            except BaseException as error:
                self.stop()
                if not (
                    isinstance(error, RuntimeError) and "address already in use" in self.log_tail()
                ):
                    raise
        raise RuntimeError(f"docker-registry found no free port:\n{self.log_tail()}")

    def _wait(self, timeout: float) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        context = _ssl_context(self.cafile) if self.tls else None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"docker-registry exited {self._process.returncode} at startup:\n"
                    f"{self.log_tail()}"
                )
            try:
                conn = _connection(self.scheme, "127.0.0.1", self.port, context, 2.0)
                try:
                    conn.request("GET", "/v2/")
                    status = conn.getresponse().status
                finally:
                    conn.close()
                if status in (200, 401):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(
            f"docker-registry did not answer GET /v2/ within {timeout}s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Terminate the registry's process group (SIGKILL after 10 s)."""
        process, self._process = self._process, None
        stop_group(process)

    def __enter__(self) -> Registry:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


Target = Registry | Endpoint


def _endpoint(target: Target) -> Endpoint:
    return target.endpoint if isinstance(target, Registry) else target


# -- HTTP --------------------------------------------------------------------------------


@dataclass
class Response:
    """A whole HTTP response; ``headers`` look names up case-insensitively."""

    method: str
    url: str
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def _ssl_context(cafile: Path | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cafile) if cafile else None)


def _connection(
    scheme: str, host: str, port: int, context: ssl.SSLContext | None, timeout: float
) -> http.client.HTTPConnection:
    if scheme == "https":
        return http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    return http.client.HTTPConnection(host, port, timeout=timeout)


def request(
    target: Target,
    method: str,
    url: str,
    body: bytes | Iterable[bytes] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """One request on a fresh connection. ``url`` is a path under the endpoint or an
    absolute URL (a ``Location`` is followed as given, as clients do). Credentials go
    with every request (distribution's basic auth needs no challenge round trip);
    an iterable body is sent chunked."""
    ep = _endpoint(target)
    full = urljoin(ep.url + "/", url)
    parts = urlsplit(full)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    context = _ssl_context(ep.cafile) if parts.scheme == "https" else None
    conn = _connection(parts.scheme, parts.hostname or "127.0.0.1", port, context, _TIMEOUT)
    sent = dict(headers or {})
    if ep.auth:
        token = base64.b64encode(f"{ep.auth[0]}:{ep.auth[1]}".encode()).decode()
        sent["Authorization"] = f"Basic {token}"
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        chunked = body is not None and not isinstance(body, bytes)
        conn.request(method, path or "/", body=body, headers=sent, encode_chunked=chunked)
        answer = conn.getresponse()
        data = answer.read()
    finally:
        conn.close()
    return Response(method, full, answer.status, answer.headers, data)


def _expect(response: Response, *statuses: int) -> Response:
    if response.status not in statuses:
        raise RegistryError(response.method, response.url, response.status, response.body)
    return response


def digest_of(data: bytes) -> str:
    """``sha256:<hex>`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _canonical(value: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


# -- reading -----------------------------------------------------------------------------


def manifest(target: Target, repo: str, ref: str, accept: str = ACCEPT) -> tuple[bytes, str, str]:
    """``GET /v2/<repo>/manifests/<ref>`` (a tag or digest): (body, content type, digest).
    The digest is the body's sha256, checked against Docker-Content-Digest."""
    response = _expect(
        request(target, "GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": accept}), 200
    )
    digest = digest_of(response.body)
    announced = response.headers.get("Docker-Content-Digest")
    if announced and announced != digest:
        raise AssertionError(f"{repo}@{ref}: Docker-Content-Digest {announced}, body {digest}")
    if ref.startswith("sha256:") and ref != digest:
        raise AssertionError(f"{repo}@{ref}: the registry served content of digest {digest}")
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    return response.body, content_type, digest


def blob(target: Target, repo: str, digest: str) -> bytes:
    """``GET /v2/<repo>/blobs/<digest>``, checked against ``digest``."""
    data = _expect(request(target, "GET", f"/v2/{repo}/blobs/{digest}"), 200).body
    if digest.startswith("sha256:") and digest_of(data) != digest:
        raise AssertionError(f"{repo}: blob {digest} came back as {digest_of(data)}")
    return data


def tags(target: Target, repo: str) -> list[str]:
    """The repository's tags (``Link`` pages followed); [] for an unknown repository."""
    found: list[str] = []
    url: str | None = f"/v2/{repo}/tags/list"
    while url:
        response = request(target, "GET", url)
        if response.status == 404 and not found:
            return []
        _expect(response, 200)
        found += json.loads(response.body).get("tags") or []
        link = response.headers.get("Link", "")
        url = link.split(";")[0].strip(" <>") if 'rel="next"' in link else None
    return found


def _platform(platform: str) -> dict[str, str]:
    """``os/arch[/variant]`` as an OCI platform object."""
    parts = platform.split("/")
    if len(parts) not in (2, 3):
        raise ValueError(f"platform {platform!r} is not os/arch[/variant]")
    result = {"os": parts[0], "architecture": parts[1]}
    if len(parts) == 3:
        result["variant"] = parts[2]
    return result


def platform_manifest(
    target: Target, repo: str, ref: str, platform: str
) -> tuple[dict[str, Any], str]:
    """The image manifest ``ref`` names for ``platform`` (through an index if ``ref`` is
    one), parsed, with its digest. A requested variant must match; without one, any."""
    body, content_type, digest = manifest(target, repo, ref)
    document: dict[str, Any] = json.loads(body)
    if content_type not in INDEXES and "manifests" not in document:
        return document, digest
    want = _platform(platform)
    for entry in document.get("manifests", []):
        have = entry.get("platform") or {}
        if all(have.get(key) == value for key, value in want.items()):
            return platform_manifest(target, repo, entry["digest"], platform)
    offered = [
        "/".join(
            filter(None, (m.get("platform", {}).get(k) for k in ("os", "architecture", "variant")))
        )
        for m in document.get("manifests", [])
    ]
    raise LookupError(f"{repo}@{ref}: no manifest for {platform} (index offers {offered})")


def _norm(name: str) -> str:
    name = name.lstrip("/")
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/")


def image_file(target: Target, repo: str, ref: str, platform: str, path: str) -> bytes:
    """The bytes of ``path`` in ``platform``'s filesystem of image ``ref``: the layers
    are read top to bottom and the first that has it wins; a whiteout (``.wh.<name>``
    of the file or a parent) or an opaque directory above it in a higher layer hides
    lower copies. Symbolic links are followed (a few hops). FileNotFoundError if absent."""
    document, digest = platform_manifest(target, repo, ref, platform)
    layers = [blob(target, repo, layer["digest"]) for layer in document.get("layers", [])]
    wanted = _norm(path)
    for _hop in range(8):
        entry = _lookup(layers, wanted)
        if entry is None:
            break
        member, content = entry
        if member.issym():
            base = "" if member.linkname.startswith("/") else posixpath.dirname(wanted)
            wanted = _norm(posixpath.normpath(posixpath.join("/", base, member.linkname)))
            continue
        if content is None:
            raise IsADirectoryError(f"{repo}@{digest} ({platform}): {path} is not a file")
        return content
    raise FileNotFoundError(f"{repo}@{ref} ({platform}): no {path} in the image")


def _lookup(layers: Sequence[bytes], wanted: str) -> tuple[tarfile.TarInfo, bytes | None] | None:
    """The topmost layer's entry for ``wanted`` and its content (None for what is not a
    regular file or hard link), or None if absent or hidden by a whiteout."""
    # A whiteout of the path or of any directory above it, or an opaque marker in any
    # directory above it, hides what lower layers have.
    parts = wanted.split("/")
    hiding = set()
    for i, name in enumerate(parts):
        parent = "/".join(parts[:i])
        hiding.add(posixpath.join(parent, f".wh.{name}"))
        if parent:
            hiding.add(posixpath.join(parent, ".wh..wh..opq"))
    for data in reversed(layers):
        # "r:*" reads tar and tar+gzip; other compressions fail here, loudly.
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            members = {_norm(m.name): m for m in tar.getmembers()}  # a later entry wins
            member = members.get(wanted)
            if member is not None:
                handle = tar.extractfile(member) if member.isfile() or member.islnk() else None
                return member, handle.read() if handle else None
        if hiding & members.keys():
            return None
    return None


def referrers(
    target: Target, repo: str, digest: str, artifact_type: str | None = None
) -> list[dict[str, Any]]:
    """The descriptors of manifests whose ``subject`` is ``digest``: the referrers API
    where the registry has one, else the OCI 1.1 fallback tag ``sha256-<hex>`` (an
    index of them); [] when neither knows any. ``artifact_type`` filters."""
    found: list[dict[str, Any]]
    api = request(target, "GET", f"/v2/{repo}/referrers/{digest}", headers={"Accept": OCI_INDEX})
    content_type = api.headers.get("Content-Type", "").split(";")[0].strip()
    if api.status == 200 and content_type == OCI_INDEX:
        found = json.loads(api.body).get("manifests") or []
    else:
        # distribution 2.8: a plain-text "404 page not found" from its router.
        try:
            body, _, _ = manifest(target, repo, fallback_tag(digest), accept=OCI_INDEX)
        except RegistryError as error:
            if error.status == 404:
                return []
            raise
        found = json.loads(body).get("manifests") or []
    if artifact_type is not None:
        found = [d for d in found if d.get("artifactType") == artifact_type]
    return found


def fallback_tag(digest: str) -> str:
    """The OCI 1.1 referrers tag schema's tag for ``digest``: ``<alg>-<hex>``."""
    algorithm, _, encoded = digest.partition(":")
    return f"{algorithm}-{encoded}"[:128]


# -- writing -----------------------------------------------------------------------------


def push_blob(target: Target, repo: str, data: bytes) -> str:
    """Upload ``data`` unless the repository has it (HEAD): POST an upload, then PUT
    the bytes to its Location with ``?digest=``. Returns the digest."""
    digest = digest_of(data)
    if request(target, "HEAD", f"/v2/{repo}/blobs/{digest}").status == 200:
        return digest
    started = _expect(request(target, "POST", f"/v2/{repo}/blobs/uploads/"), 202)
    location = started.headers.get("Location")
    if not location:
        raise AssertionError(f"POST {started.url}: 202 without a Location")
    location = urljoin(started.url, location)
    separator = "&" if urlsplit(location).query else "?"
    _expect(
        request(
            target,
            "PUT",
            f"{location}{separator}digest={quote(digest)}",
            body=data,
            headers={"Content-Type": "application/octet-stream"},
        ),
        201,
    )
    return digest


def put_manifest(target: Target, repo: str, ref: str, body: bytes, media_type: str) -> str:
    """``PUT /v2/<repo>/manifests/<ref>`` with ``body`` as ``media_type``; the digest,
    checked against the registry's Docker-Content-Digest."""
    response = _expect(
        request(target, "PUT", f"/v2/{repo}/manifests/{ref}", body, {"Content-Type": media_type}),
        201,
    )
    digest = digest_of(body)
    announced = response.headers.get("Docker-Content-Digest")
    if announced and announced != digest:
        raise AssertionError(f"PUT {repo}:{ref}: registry says {announced}, body is {digest}")
    return digest


def layer_tar(files: Mapping[str, bytes | None]) -> bytes:
    """An uncompressed layer tar: each path with its parent directories, root-owned, at a
    fixed mtime, sorted; ``None`` writes a whiteout (``.wh.<name>``) deleting the path."""
    entries: dict[str, bytes | None] = {}
    for raw, data in files.items():
        name = _norm(raw)
        parent, base = posixpath.split(name)
        for i in range(1, len(name.split("/"))):
            entries.setdefault("/".join(name.split("/")[:i]) + "/", None)
        entries[posixpath.join(parent, f".wh.{base}") if data is None else name] = data
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(entries):
            info = tarfile.TarInfo(name.rstrip("/"))
            info.mtime = _MTIME
            content = entries[name]
            if name.endswith("/"):
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                content = content or b""
                info.mode, info.size = 0o644, len(content)
                tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _gzip(data: bytes) -> bytes:
    buffer = io.BytesIO()
    # mtime=0 and no file name: the same bytes on every call.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=6) as out:
        out.write(data)
    return buffer.getvalue()


def base_files(platform: str) -> dict[str, bytes | None]:
    """The base image's files for ``platform``: passwd and group with nonroot (65532)
    and ``etc/platform`` holding the platform string."""
    return {
        "etc/passwd": PASSWD,
        "etc/group": GROUP,
        "etc/platform": f"{platform}\n".encode(),
    }


def push_image(
    target: Target,
    repo: str,
    tag: str,
    platforms: Sequence[str] = ("linux/amd64", "linux/arm64"),
    files: Mapping[str, bytes] | None = None,
    layers: Sequence[Mapping[str, bytes | None]] = (),
) -> str:
    """Push a tiny multi-platform image and tag its OCI index ``tag``; the index's digest.

    Per platform: one gzip layer with :func:`base_files` plus ``files``, then each of
    ``layers`` above it (``None`` deletes a path with a whiteout), an OCI config
    (os, architecture, variant, PATH, diff_ids, history), the manifest by digest.
    Deterministic: the same arguments give the same digests.
    """
    descriptors = []
    for platform in platforms:
        stack = [{**base_files(platform), **(files or {})}, *layers]
        layer_descriptors, diff_ids = [], []
        for contents in stack:
            tar = layer_tar(contents)
            compressed = _gzip(tar)
            diff_ids.append(digest_of(tar))
            layer_descriptors.append(
                {
                    "mediaType": OCI_LAYER_GZIP,
                    "digest": push_blob(target, repo, compressed),
                    "size": len(compressed),
                }
            )
        config = _canonical(
            {
                **_platform(platform),
                "created": _CREATED,
                "config": {"Env": [PATH_ENV]},
                "rootfs": {"type": "layers", "diff_ids": diff_ids},
                "history": [
                    {"created": _CREATED, "created_by": f"tests/registryenv.py layer {i}"}
                    for i in range(len(stack))
                ],
            }
        )
        body = _canonical(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {
                    "mediaType": OCI_CONFIG,
                    "digest": push_blob(target, repo, config),
                    "size": len(config),
                },
                "layers": layer_descriptors,
            }
        )
        digest = put_manifest(target, repo, digest_of(body), body, OCI_MANIFEST)
        descriptors.append(
            {
                "mediaType": OCI_MANIFEST,
                "digest": digest,
                "size": len(body),
                "platform": _platform(platform),
            }
        )
    index = _canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors})
    return put_manifest(target, repo, tag, index, OCI_INDEX)


def push_artifact(
    target: Target,
    repo: str,
    subject: str,
    artifact_type: str,
    blobs: Sequence[tuple[str, bytes]],
    annotations: Mapping[str, str] | None = None,
) -> str:
    """Attach an OCI 1.1 artifact to manifest ``subject`` (a digest in ``repo``): the
    empty config, ``blobs`` as (media type, bytes) layers, ``artifactType`` and
    ``subject``; then add it to the referrers fallback tag's index, as a client must on
    a registry without the referrers API. Returns the artifact manifest's digest."""
    subject_body, subject_type, _ = manifest(target, repo, subject)
    push_blob(target, repo, EMPTY_JSON)
    body = _canonical(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": {"mediaType": OCI_EMPTY, "digest": digest_of(EMPTY_JSON), "size": 2},
            "layers": [
                {"mediaType": kind, "digest": push_blob(target, repo, data), "size": len(data)}
                for kind, data in blobs
            ],
            "subject": {"mediaType": subject_type, "digest": subject, "size": len(subject_body)},
            **({"annotations": dict(annotations)} if annotations else {}),
        }
    )
    digest = put_manifest(target, repo, digest_of(body), body, OCI_MANIFEST)
    descriptor: dict[str, Any] = {
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "digest": digest,
        "size": len(body),
    }
    if annotations:
        descriptor["annotations"] = dict(annotations)
    existing = [d for d in referrers(target, repo, subject) if d.get("digest") != digest]
    index = _canonical(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [*existing, descriptor]}
    )
    put_manifest(target, repo, fallback_tag(subject), index, OCI_INDEX)
    return digest

"""A shared Go build cache on loopback: an S3-compatible server and a GOCACHEPROG plugin.

:class:`S3Server` runs Versity's S3 gateway (``versitygw``, posix backend) on 127.0.0.1
with its objects as plain files under a test's directory and their metadata in a sidecar
directory (no extended attributes needed). It demands SigV4 credentials: a random access
key and secret per server, and anything else is answered 403. The helpers here sign their
own requests (standard library only), so they judge what reached the server independently
of the plugin and of gobuild: :meth:`S3Server.objects` lists, :meth:`S3Server.get` and
:meth:`S3Server.put` go through the API, and :meth:`S3Server.corrupt` and
:meth:`S3Server.rewrite` change an object's bytes on disk behind the gateway's back (a
store that rots or is tampered with: the gateway then serves the new bytes under the old
ETag and checksum).

The plugin is tailscale's go-cache-plugin (``cmd/go-cache-plugin``), the GOCACHEPROG
program that stores the go command's actions and outputs in an S3 bucket through a local
staging directory. :func:`plugin_env` is the environment that makes every go command use
it against an :class:`S3Server`; :func:`plugin_stats` reads the counts it prints at exit
(``--metrics``): the go command's own get requests, hits and misses.

Both programs are built from the Go module proxy at pinned versions, with pinned module
hashes, once per machine into a cache outside the repository (:func:`ensure_cache_plugin`,
:func:`ensure_s3_server`; about 2 and 3.5 minutes cold on two cores). They import
nothing from gobuild, and neither does this module.

Layout of the bucket (go-cache-plugin v0.1.1): ``action/<xx>/<action-id>`` holds
``<output-id> <unix-nanos>``, ``output/<xx>/<output-id>`` the output's bytes, where the
output ID is the SHA-256 of the bytes the go command stored.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tarfile
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from filelock import FileLock

from tests.daemons import free_port, stop_group

GO_VERSION = "1.27.3"  # builds the two programs; tests drive the plain go command with it
REGION = "us-east-1"
BUCKET = "gocache"
PROXY = "https://proxy.golang.org"
_S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
_TIMEOUT = 60.0


@dataclass(frozen=True)
class GoTool:
    """A Go program built from the module proxy: ``package`` of ``module@version``, whose
    zip and go.mod must have the pinned hashes ``h1`` and ``h1_mod``."""

    name: str
    module: str
    version: str
    h1: str
    h1_mod: str
    package: str
    go: str  # the go line of the wrapper module that requires it

    @property
    def binary_name(self) -> str:
        return f"{self.name}-{self.version}"


# tailscale/go-cache-plugin: the only GOCACHEPROG-over-S3 program the module proxy
# serves here (v0.1.1 is its newest tag; later commits only update dependencies).
CACHE_PLUGIN = GoTool(
    name="go-cache-plugin",
    module="github.com/tailscale/go-cache-plugin",
    version="v0.1.1",
    h1="h1:TjdSpOAj9Z90sPE+KQ4//x+GWhCp7dydivFYVXwxJts=",
    h1_mod="h1:OZMdy43CRLgGTAsasypZc9+DH198tnhBDCU2qmETTBc=",
    package="github.com/tailscale/go-cache-plugin/cmd/go-cache-plugin",
    go="1.24.0",
)

# Versity's S3 gateway (Apache-2.0): real SigV4 authentication, a posix backend whose
# objects are files, starts in well under a second.
S3_SERVER = GoTool(
    name="versitygw",
    module="github.com/versity/versitygw",
    version="v1.8.0",
    h1="h1:au+wI+aybno/STsQiSm35Uu6Q6iK5MWReQxgO6SEMFc=",
    h1_mod="h1:OxcWzwHy0xd9yUjfBneYnqmOwOgyq4QpzpobLsXMQRU=",
    package="github.com/versity/versitygw/cmd/versitygw",
    go="1.25.0",
)


# -- where things are kept ---------------------------------------------------------------


def cache_root() -> Path:
    """The per-machine cache of this module: the built programs, their module cache and
    build cache, an unpacked Go (``$GOBUILD_TEST_CACHE/s3env``, else
    ``~/.cache/gobuild-tests/s3env``), kept between test sessions."""
    base = os.environ.get("GOBUILD_TEST_CACHE") or os.path.expanduser("~/.cache/gobuild-tests")
    path = Path(base) / "s3env"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _goproxy() -> str:
    """The first proxy of $GOPROXY (the module proxy unless set)."""
    first = (os.environ.get("GOPROXY") or PROXY).split(",")[0].split("|")[0].strip()
    return PROXY if first in ("", "direct", "off") else first.rstrip("/")


def unavailable(cache_dir: Path | None = None) -> str | None:
    """Why the shared-cache tests cannot run here, or None: both programs already built
    in ``cache_dir`` (default :func:`cache_root`), or the module proxy answering for them."""
    cache_dir = cache_dir or cache_root()
    missing = [
        t for t in (CACHE_PLUGIN, S3_SERVER) if not (cache_dir / "bin" / t.binary_name).is_file()
    ]
    for tool in missing:
        url = f"{_goproxy()}/{tool.module}/@v/{tool.version}.info"
        try:
            with urllib.request.urlopen(url, timeout=15) as response:
                response.read()
        except Exception as error:  # any failure is the reason
            return f"cannot build {tool.name} {tool.version}: {url}: {error}"
    return None


# -- a Go toolchain for the plain go command ---------------------------------------------


def extract_goroot(archive: Path, cache_dir: Path | None = None) -> Path:
    """The GOROOT of a go.dev-layout archive (``go<version>.<os>-<arch>.tar.gz``),
    unpacked once into ``cache_dir`` (default :func:`cache_root`)."""
    cache_dir = cache_dir or cache_root()
    name = archive.name.removesuffix(".tar.gz")
    dest = cache_dir / "goroots" / name
    marker = dest.with_name(name + ".complete")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest.with_name(name + ".lock"))):
        if marker.is_file():
            return dest / "go"
        shutil.rmtree(dest, ignore_errors=True)
        with tarfile.open(archive) as tar:
            tar.extractall(dest, filter="data")
        marker.write_text(str(archive) + "\n")
    return dest / "go"


def go_env(goroot: Path, **extra: str) -> dict[str, str]:
    """A clean environment for ``goroot``'s go command: that Go alone on PATH (never
    /usr/local/go), GOTOOLCHAIN=local, cgo off, no inherited GOFLAGS, GOCACHEPROG or go
    env file and no AWS configuration of the machine; ``extra`` on top."""
    keep = ("HOME", "TMPDIR", "GOPROXY", "GONOSUMDB", "GOSUMDB", "GOPRIVATE", "GONOPROXY")
    env = {k: v for k, v in os.environ.items() if k in keep or k.startswith("LC_")}
    env.setdefault("HOME", "/root")
    env.update(
        {
            "PATH": f"{goroot / 'bin'}:/usr/bin:/bin",
            "GOROOT": str(goroot),
            "GOTOOLCHAIN": "local",
            "CGO_ENABLED": "0",
            "GOFLAGS": "-mod=mod",
            "GOENV": "off",  # no go env -w settings of the machine
            "LANG": "C.UTF-8",
        }
    )
    env.update(extra)
    return env


# -- building the programs ---------------------------------------------------------------


def _go(goroot: Path, env: Mapping[str, str], cwd: Path, *args: str) -> str:
    res = subprocess.run(
        ["nice", "-n", "10", str(goroot / "bin" / "go"), *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if res.returncode != 0:
        raise RuntimeError(f"go {' '.join(args)} failed in {cwd}:\n{res.stdout}\n{res.stderr}")
    return res.stdout


def ensure_tool(tool: GoTool, goroot: Path, cache_dir: Path | None = None) -> Path:
    """``tool`` built once into ``cache_dir/bin`` (default :func:`cache_root`) by
    ``goroot``'s go command, from a wrapper module that requires ``tool.module@version``
    with the pinned hashes and the module's own go.sum (so no checksum-database lookup
    is needed, and the dependency versions are the ones the module was released with).
    ``go install pkg@version`` is not used: it asks the proxy for the version list, which
    this proxy refuses for these modules."""
    cache_dir = cache_dir or cache_root()
    bin_dir = cache_dir / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    binary = bin_dir / tool.binary_name
    with FileLock(str(bin_dir / f".{tool.binary_name}.lock")):
        if binary.is_file():
            return binary
        work = cache_dir / "build" / tool.binary_name
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        env = go_env(
            goroot,
            GOMODCACHE=str(cache_dir / "modcache"),
            GOCACHE=str(cache_dir / "gocache"),
            GOPROXY=_goproxy(),
        )
        (work / "go.mod").write_text(
            f"module gobuild.test/{tool.name}\n\ngo {tool.go}\n\nrequire {tool.module} {tool.version}\n"
        )
        pinned = (
            f"{tool.module} {tool.version} {tool.h1}\n"
            f"{tool.module} {tool.version}/go.mod {tool.h1_mod}\n"
        )
        (work / "go.sum").write_text(pinned)
        info = json.loads(_go(goroot, env, work, "mod", "download", "-json", tool.module))
        if info.get("Sum") != tool.h1 or info.get("GoModSum") != tool.h1_mod:
            raise RuntimeError(f"{tool.module}@{tool.version}: unexpected hashes {info}")
        upstream = (Path(info["Dir"]) / "go.sum").read_text()
        (work / "go.sum").write_text(pinned + upstream)
        started = time.monotonic()
        tmp = bin_dir / f".{tool.binary_name}.{os.getpid()}.tmp"
        _go(goroot, env, work, "build", "-trimpath", "-o", str(tmp), tool.package)
        tmp.replace(binary)
        (bin_dir / f"{tool.binary_name}.json").write_text(
            json.dumps({"build_seconds": round(time.monotonic() - started, 1), "go": str(goroot)})
            + "\n"
        )
    return binary


def ensure_cache_plugin(goroot: Path, cache_dir: Path | None = None) -> Path:
    """go-cache-plugin v0.1.1, built once per machine (see :func:`ensure_tool`)."""
    return ensure_tool(CACHE_PLUGIN, goroot, cache_dir)


def ensure_s3_server(goroot: Path, cache_dir: Path | None = None) -> Path:
    """versitygw v1.8.0, built once per machine (see :func:`ensure_tool`)."""
    return ensure_tool(S3_SERVER, goroot, cache_dir)


# -- SigV4 -------------------------------------------------------------------------------


def _uri(value: str, safe: str = "") -> str:
    return quote(value, safe="-_.~" + safe)


def _sign(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signed_headers(
    method: str,
    host: str,
    path: str,
    query: Mapping[str, str],
    body: bytes,
    access_key: str,
    secret_key: str,
    region: str = REGION,
    now: datetime.datetime | None = None,
) -> dict[str, str]:
    """The headers that sign a path-style S3 request with AWS Signature Version 4."""
    now = now or datetime.datetime.now(datetime.UTC)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    payload = hashlib.sha256(body).hexdigest()
    headers = {"host": host, "x-amz-content-sha256": payload, "x-amz-date": stamp}
    names = ";".join(sorted(headers))
    canonical = "\n".join(
        [
            method,
            _uri(path, "/"),
            "&".join(f"{_uri(k)}={_uri(v)}" for k, v in sorted(query.items())),
            "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)),
            names,
            payload,
        ]
    )
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _sign(
        _sign(_sign(_sign(f"AWS4{secret_key}".encode(), day), region), "s3"), "aws4_request"
    )
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
        f"SignedHeaders={names}, Signature={signature}"
    )
    del headers["host"]  # http.client sends it
    return headers


class S3Error(Exception):
    """The server answered with a status the helper did not expect."""

    def __init__(self, method: str, path: str, status: int, body: bytes) -> None:
        super().__init__(f"{method} {path}: {status} {body[:400].decode(errors='replace')}")
        self.status = status
        self.body = body


# -- the server --------------------------------------------------------------------------


def _random_key(prefix: str, length: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length - len(prefix)))


class S3Server:
    """versitygw's posix backend on 127.0.0.1 (see the module's docstring).

    ``directory`` receives ``data/`` (a directory per bucket, a file per object),
    ``meta/`` (the sidecar metadata), the access log and the server's log. Credentials
    are random unless given; ``bucket`` is created at the first start. :meth:`stop` and
    :meth:`start` again keep the port, the data and the credentials (a remote that went
    away and came back). Use as a context manager, or :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        directory: Path,
        binary: Path,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        bucket: str = BUCKET,
        region: str = REGION,
        address: str = "127.0.0.1",
    ) -> None:
        self.directory = directory.resolve()
        # Where it listens: loopback, or (for image builds, whose RUN steps have their
        # own network) the Docker bridge's address on this machine.
        self.address = address
        self.binary = binary
        self.access_key = access_key or _random_key("GBTEST", 20)
        self.secret_key = secret_key or secrets.token_urlsafe(30)
        self.bucket = bucket
        self.region = region
        self.data = self.directory / "data"
        self.meta = self.directory / "meta"
        self.log_path = self.directory / "versitygw.log"
        self.access_log = self.directory / "access.log"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    # -- addresses

    @property
    def host(self) -> str:
        """``ADDRESS:PORT`` (127.0.0.1 unless another address was given)."""
        return f"{self.address}:{self.port}"

    @property
    def url(self) -> str:
        """``http://ADDRESS:PORT``, the endpoint URL for S3 clients."""
        return f"http://{self.host}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- lifecycle

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def start(self, timeout: float = 30.0) -> None:
        """Start the gateway (on the port it had, if it ran before) and wait until it
        answers; create the bucket unless it exists."""
        self.data.mkdir(parents=True, exist_ok=True)
        self.meta.mkdir(parents=True, exist_ok=True)
        fixed = self.port != 0
        for _attempt in range(1 if fixed else 3):
            if not fixed:
                self.port = free_port()
            argv = [
                str(self.binary),
                "--port", self.host,
                "--region", self.region,
                "--keep-alive",
                "--quiet",
                "--access-log", str(self.access_log),
                "posix",
                "--sidecar", str(self.meta),
                str(self.data),
            ]  # fmt: skip
            env = {
                "PATH": "/usr/bin:/bin",
                "HOME": str(self.directory),
                # The root account through the environment, never on the command line.
                "ROOT_ACCESS_KEY_ID": self.access_key,
                "ROOT_SECRET_ACCESS_KEY": self.secret_key,
            }
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    argv,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            try:
                self._wait(timeout)
                break
            except BaseException as error:
                self.stop()
                if fixed or not (
                    isinstance(error, RuntimeError) and "address already in use" in self.log_tail()
                ):
                    raise
        else:
            raise RuntimeError(f"versitygw found no free port:\n{self.log_tail()}")
        if not (self.data / self.bucket).is_dir():
            self.request("PUT", "", expect=(200,))

    def _wait(self, timeout: float) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"versitygw exited {self._process.returncode} at startup:\n{self.log_tail()}"
                )
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection(self.address, self.port, timeout=2.0)
                try:
                    conn.request("GET", "/")
                    conn.getresponse().read()
                    return  # any answer (403 without credentials) means it serves
                finally:
                    conn.close()
            time.sleep(0.05)
        raise RuntimeError(f"versitygw did not answer within {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Terminate the gateway's process group (SIGKILL after 10 s)."""
        process, self._process = self._process, None
        stop_group(process)

    def clone(self, directory: Path) -> S3Server:
        """A stopped server over a copy of this one's objects and metadata, with the same
        credentials and bucket (a test that corrupts objects works on its own copy)."""
        copy = S3Server(
            directory,
            self.binary,
            access_key=self.access_key,
            secret_key=self.secret_key,
            bucket=self.bucket,
            region=self.region,
        )
        shutil.copytree(self.data, copy.data, symlinks=True)
        shutil.copytree(self.meta, copy.meta, symlinks=True)
        return copy

    def __enter__(self) -> S3Server:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the API, signed

    def request(
        self,
        method: str,
        key: str,
        body: bytes = b"",
        *,
        query: Mapping[str, str] | None = None,
        credentials: tuple[str, str] | None = None,
        anonymous: bool = False,
        expect: tuple[int, ...] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """``method`` on ``key`` of the bucket ("" for the bucket itself), signed with
        this server's credentials (or ``credentials``, or none if ``anonymous``).
        Returns status, headers (lower-case names) and body; raises :class:`S3Error` when
        ``expect`` is given and the status is not in it."""
        path = f"/{self.bucket}/{key}" if key else f"/{self.bucket}"
        query = dict(query or {})
        headers: dict[str, str] = {}
        if not anonymous:
            access, secret = credentials or (self.access_key, self.secret_key)
            headers = signed_headers(
                method, self.host, path, query, body, access, secret, self.region
            )
        target = _uri(path, "/")
        if query:
            target += "?" + "&".join(f"{_uri(k)}={_uri(v)}" for k, v in sorted(query.items()))
        conn = http.client.HTTPConnection(self.address, self.port, timeout=_TIMEOUT)
        try:
            conn.request(method, target, body=body or None, headers=headers)
            response = conn.getresponse()
            data = response.read()
            status = response.status
            got = {k.lower(): v for k, v in response.getheaders()}
        finally:
            conn.close()
        if expect is not None and status not in expect:
            raise S3Error(method, path, status, data)
        return status, got, data

    def objects(self, prefix: str = "") -> dict[str, int]:
        """Every object's key (under ``prefix``) and size, by ListObjectsV2."""
        found: dict[str, int] = {}
        token = ""
        while True:
            query = {"list-type": "2", "prefix": prefix, "max-keys": "1000"}
            if token:
                query["continuation-token"] = token
            _, _, body = self.request("GET", "", query=query, expect=(200,))
            root = ET.fromstring(body)
            for item in root.iter(f"{_S3_NS}Contents"):
                found[item.findtext(f"{_S3_NS}Key", "")] = int(item.findtext(f"{_S3_NS}Size", "0"))
            token = root.findtext(f"{_S3_NS}NextContinuationToken") or ""
            if root.findtext(f"{_S3_NS}IsTruncated") != "true" or not token:
                return found

    def get(self, key: str) -> bytes:
        """An object's bytes through the API."""
        return self.request("GET", key, expect=(200,))[2]

    def put(self, key: str, data: bytes) -> None:
        """Replace an object through the API (a writer holding the credentials)."""
        self.request("PUT", key, data, expect=(200,))

    # -- the store behind the gateway

    def path(self, key: str) -> Path:
        """The file holding an object's bytes."""
        return self.data / self.bucket / key

    def rewrite(self, key: str, change: Callable[[bytes], bytes]) -> bytes:
        """Replace an object's bytes on disk by ``change(old)``, behind the gateway (its
        stored ETag and checksum stay those of the old bytes). Returns the old bytes."""
        target = self.path(key)
        old = target.read_bytes()
        target.write_bytes(change(old))
        return old

    def corrupt(self, key: str, length: int = 64) -> bytes:
        """Invert ``length`` bytes in the middle of an object on disk (its size kept).
        Returns the old bytes."""

        def flip(data: bytes) -> bytes:
            start = max(0, len(data) // 2 - length // 2)
            middle = bytes(b ^ 0xFF for b in data[start : start + length])
            return data[:start] + middle + data[start + length :]

        return self.rewrite(key, flip)

    def keys_containing(self, needle: bytes, prefix: str = "output/") -> list[str]:
        """Keys of the objects (under ``prefix``) whose bytes contain ``needle``."""
        root = self.data / self.bucket
        return sorted(
            p.relative_to(root).as_posix()
            for p in (root / prefix).rglob("*")
            if p.is_file() and needle in p.read_bytes()
        )

    def operations(self) -> Counter[str]:
        """How many requests of each S3 operation (``s3_GetObject``...) the access log
        holds, and with which status: keys like ``s3_GetObject 200``."""
        counts: Counter[str] = Counter()
        with contextlib.suppress(FileNotFoundError):
            for line in self.access_log.read_text(errors="replace").splitlines():
                fields = line.split()
                # "owner bucket [day:time +zone] ip requester request-id operation key
                # uri status ..." (keys and URIs hold no spaces: they are encoded).
                if len(fields) > 10 and fields[7].startswith("s3_"):
                    counts[f"{fields[7]} {fields[10]}"] += 1
        return counts


# -- the plugin's configuration ----------------------------------------------------------


def plugin_command(
    plugin: Path,
    server: S3Server,
    cache_dir: Path,
    *,
    prefix: str = "",
    verbose: bool = False,
    endpoint: str | None = None,
) -> str:
    """The GOCACHEPROG value: the plugin with its staging directory (``cache_dir``, the
    per-machine local cache), the bucket, region, loopback endpoint (path-style, plain
    HTTP; ``endpoint`` overrides the server's URL) and ``--metrics`` (counts on stderr
    at exit). No secret goes here: the go
    command shows GOCACHEPROG in ``go env``, and process listings show it too."""
    args = [
        str(plugin),
        f"--cache-dir={cache_dir}",
        f"--bucket={server.bucket}",
        f"--region={server.region}",
        f"--s3-endpoint-url={endpoint or server.url}",
        "--s3-path-style",
        "--metrics",
    ]
    if prefix:
        args.append(f"--prefix={prefix}")
    if verbose:
        args.append("-v")
    for arg in args:
        if any(c in arg for c in " \t\"'"):
            raise ValueError(f"GOCACHEPROG argument needs quoting: {arg!r}")
    return " ".join(args)


def plugin_env(
    server: S3Server,
    plugin: Path,
    cache_dir: Path,
    *,
    prefix: str = "",
    verbose: bool = False,
    max_attempts: int | None = None,
    credentials: tuple[str, str] | None = None,
    endpoint: str | None = None,
) -> dict[str, str]:
    """The environment a go command needs to use ``server`` through the plugin:
    GOCACHEPROG (see :func:`plugin_command`) and the AWS SDK's settings, credentials only
    through AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; the machine's AWS files and the
    instance metadata service are kept out. ``max_attempts`` sets AWS_MAX_ATTEMPTS (the
    SDK's default 3 attempts with backoff make each request to a remote that is down cost
    about 3 s; 1 fails at once). ``credentials`` overrides the server's (wrong ones, to
    see them refused)."""
    access, secret = credentials or (server.access_key, server.secret_key)
    env = {
        "GOCACHEPROG": plugin_command(
            plugin, server, cache_dir, prefix=prefix, verbose=verbose, endpoint=endpoint
        ),
        "AWS_ACCESS_KEY_ID": access,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    if max_attempts is not None:
        env["AWS_MAX_ATTEMPTS"] = str(max_attempts)
    return env


@dataclass
class PluginStats:
    """What go-cache-plugin printed at exit (``--metrics``), summed over the go commands
    whose stderr it is: ``get_requests`` are the go command's own cache lookups, of which
    ``get_hits`` were answered (``fault_hits`` of them from the remote, ``local_hits``
    from the staging directory), ``get_misses`` were not, ``get_errors`` failed (the go
    command then rebuilds: a failed get is a miss to it)."""

    runs: int = 0
    get_requests: int = 0
    get_hits: int = 0
    get_misses: int = 0
    get_errors: int = 0
    put_requests: int = 0
    put_errors: int = 0
    fault_hits: int = 0
    fault_misses: int = 0
    local_hits: int = 0
    s3_put_errors: int = 0
    raw: list[dict[str, dict[str, int]]] = field(default_factory=list)

    @property
    def hit_ratio(self) -> float:
        return self.get_hits / self.get_requests if self.get_requests else 0.0


def plugin_stats(stderr: str) -> PluginStats:
    """The plugin's ``--metrics`` lines in a go command's stderr, summed."""
    stats = PluginStats()
    for raw in stderr.splitlines():
        line = raw.strip()
        if not (line.startswith("{") and '"server"' in line):
            continue
        data = json.loads(line)
        server, host = data["server"], data.get("host", {})
        stats.runs += 1
        stats.get_requests += server.get("get_requests", 0)
        stats.get_hits += server.get("get_hits", 0)
        stats.get_misses += server.get("get_misses", 0)
        stats.get_errors += server.get("get_errors", 0)
        stats.put_requests += server.get("put_requests", 0)
        stats.put_errors += server.get("put_errors", 0)
        stats.fault_hits += host.get("get_fault_hit", 0)
        stats.fault_misses += host.get("get_fault_miss", 0)
        stats.local_hits += host.get("get_local_hit", 0)
        stats.s3_put_errors += host.get("put_s3_error", 0)
        stats.raw.append(data)
    return stats


# -- what the go command did (its -x trace) ----------------------------------------------

_COMPILE = re.compile(r"/compile (?:.* )?-p (\S+)")


@dataclass(frozen=True)
class GoActions:
    """The tools a go command ran, from its ``-x`` trace on stderr: ``compiled`` lists
    the import path of every package it compiled (``-p``), ``links``, ``vets`` and
    ``cgos`` count the other steps the cache could have saved."""

    compiled: tuple[str, ...]
    links: int
    vets: int
    cgos: int

    @property
    def compiles(self) -> int:
        return len(self.compiled)


def go_actions(trace: str) -> GoActions:
    """What a ``go build -x`` or ``go test -x`` run executed (see :class:`GoActions`)."""
    compiled: list[str] = []
    links = vets = cgos = 0
    for line in trace.splitlines():
        if "/pkg/tool/" not in line:
            continue
        if m := _COMPILE.search(line):
            compiled.append(m.group(1))
        elif "/link " in line:
            links += 1
        elif re.search(r"/vet\s", line):
            vets += 1
        elif "/cgo " in line:
            cgos += 1
    return GoActions(tuple(compiled), links, vets, cgos)


# -- a module with dependencies ----------------------------------------------------------

SAMPLE_MODULE = "example.com/cacheapp"

_SAMPLE_FILES = {
    "go.mod": """\
module example.com/cacheapp

go 1.24

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/google/go-cmp v0.7.0
	github.com/google/uuid v1.6.0
	github.com/spf13/cobra v1.10.2
	github.com/stretchr/testify v1.12.1
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
""",
    "go.sum": """\
github.com/BurntSushi/toml v1.6.0 h1:dRaEfpa2VI55EwlIW72hMRHdWouJeRF7TPYhI+AUQjk=
github.com/BurntSushi/toml v1.6.0/go.mod h1:ukJfTF/6rtPPRCnwkur4qwRxa8vTRFBF0uk2lLoLwho=
github.com/cpuguy83/go-md2man/v2 v2.0.6/go.mod h1:oOW0eioCTA6cOiMLiUPZOpcVxMig6NIQQ7OS05n1F4g=
github.com/google/go-cmp v0.7.0 h1:wk8382ETsv4JYUZwIsn6YpYiWiBsYLSJiTsyBybVuN8=
github.com/google/go-cmp v0.7.0/go.mod h1:pXiqmnSA92OHEEa9HXL2W4E7lf9JzCmGVUdgjX3N/iU=
github.com/google/uuid v1.6.0 h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=
github.com/google/uuid v1.6.0/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=
github.com/inconshreveable/mousetrap v1.1.0 h1:wN+x4NVGpMsO7ErUn/mUI3vEoE6Jt13X2s0bqwp9tc8=
github.com/inconshreveable/mousetrap v1.1.0/go.mod h1:vpF70FUmC8bwa3OWnCshd2FqLfsEA9PFc4w1p2J65bw=
github.com/russross/blackfriday/v2 v2.1.0/go.mod h1:+Rmxgy9KzJVeS9/2gXHxylqXiyQDYRxCVz55jmeOWTM=
github.com/spf13/cobra v1.10.2 h1:DMTTonx5m65Ic0GOoRY2c16WCbHxOOw6xxezuLaBpcU=
github.com/spf13/cobra v1.10.2/go.mod h1:7C1pvHqHw5A4vrJfjNwvOdzYu0Gml16OCs2GRiTUUS4=
github.com/spf13/pflag v1.0.9 h1:9exaQaMOCwffKiiiYk6/BndUBv+iRViNW+4lEMi0PvY=
github.com/spf13/pflag v1.0.9/go.mod h1:McXfInJRrz4CZXVZOBLb0bTZqETkiAhM9Iw0y3An2Bg=
github.com/stretchr/testify v1.12.1 h1:EuwCh5fleGS7H32xRwO3wRGT7DxrDhLAT6FF8MpWDWE=
github.com/stretchr/testify v1.12.1/go.mod h1:MDEgiDPPsNp5cuIrHPPCyornHKgEVbtFUmoNlxoYthg=
go.yaml.in/yaml/v3 v3.0.4/go.mod h1:DhzuOOF2ATzADvBadXxruRBLzYTpT36CKvDb3+aBEFg=
go.yaml.in/yaml/v3 v3.0.5 h1:N6y/pJk8buWs9NY5ERU2HSMfm+IuD/OtfdAnq6kESPw=
go.yaml.in/yaml/v3 v3.0.5/go.mod h1:HVTZu1O7/Vkt2N+BFy8Zza+lnLsABggaTM2ZpNIGuKg=
gopkg.in/check.v1 v0.0.0-20161208181325-20d25e280405 h1:yhCVgyC4o1eVCa2tZl7eS0r+SDo693bJlVdllGtEeKM=
gopkg.in/check.v1 v0.0.0-20161208181325-20d25e280405/go.mod h1:Co6ibVJAznAaIkqp8huTwlJQCZ016jof/cbN4VW5Yz0=
gopkg.in/yaml.v3 v3.0.1 h1:fxVm/GzAzEWqLHuvctI91KS9hhNmmWOoWu0XTYJS7CA=
gopkg.in/yaml.v3 v3.0.1/go.mod h1:K4uyk7z7BCEPqu6E+C64Yfv1cQ7kz7rIZviUmN+EgEM=
""",
    "internal/greet/greet.go": """\
package greet

import (
	"fmt"

	"github.com/BurntSushi/toml"
	"github.com/google/uuid"
	"gopkg.in/yaml.v3"
)

type Config struct {
	Name string `toml:"name" yaml:"name"`
}

func Parse(text string) (Config, error) {
	var c Config
	_, err := toml.Decode(text, &c)
	return c, err
}

func Hello(c Config) string {
	out, _ := yaml.Marshal(c)
	return fmt.Sprintf("hello %s %s %d", c.Name, uuid.NewSHA1(uuid.NameSpaceDNS, []byte(c.Name)), len(out))
}
""",
    "internal/greet/greet_test.go": """\
package greet

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	c, err := Parse(`name = "gopher"`)
	require.NoError(t, err)
	if d := cmp.Diff(Config{Name: "gopher"}, c); d != "" {
		t.Fatal(d)
	}
	require.Contains(t, Hello(c), "hello gopher")
}
""",
    "cmd/app/main.go": """\
package main

import (
	"fmt"
	"os"

	"example.com/cacheapp/internal/greet"
	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use: "app",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := greet.Parse(`name = "world"`)
			if err != nil {
				return err
			}
			fmt.Println(greet.Hello(c))
			return nil
		},
	}
	if err := root.Execute(); err != nil {
		os.Exit(1)
	}
}
""",
}

# What the sample's binary prints (the UUID is SHA-1 based, so fixed).
SAMPLE_OUTPUT = "hello world b3a4c24e-f57a-5448-b81b-a643f6768036 12\n"
# A string in internal/greet's compiled archive (and nowhere else in the cache).
SAMPLE_MARKER = b"hello %s %s %d"


def write_sample_module(dest: Path) -> Path:
    """A module with real dependencies from the module proxy (cobra, pflag, toml, uuid,
    yaml.v3; go-cmp and testify in its test): ``cmd/app`` prints :data:`SAMPLE_OUTPUT`,
    ``internal/greet`` has a test. Returns ``dest``."""
    for name, text in _SAMPLE_FILES.items():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return dest


# -- a remote that accepts connections and never answers ---------------------------------


class Blackhole:
    """A loopback listener that accepts every connection and never answers (a remote
    that hangs rather than refuses). ``url`` is its address; stopped on exit."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self._sock.settimeout(0.2)
        self.port: int = self._sock.getsockname()[1]
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def accepted(self) -> int:
        return len(self._held)

    def _accept(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                conn, _ = self._sock.accept()
                self._held.append(conn)

    def __enter__(self) -> Blackhole:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self._held:
            conn.close()
        self._sock.close()


@contextlib.contextmanager
def stopped(server: S3Server) -> Iterator[S3Server]:
    """``server`` stopped for the block (connections refused), started again after on
    the same port with its data."""
    server.stop()
    try:
        yield server
    finally:
        server.start()


@dataclass(frozen=True)
class GoRun:
    """One go command: its exit code, output, wall time, the plugin's counts and what
    the go command executed."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    stats: PluginStats
    actions: GoActions


def run_go(
    goroot: Path, checkout: Path, gocache: Path, env: Mapping[str, str], *args: str,
    timeout: float = 600,
) -> GoRun:  # fmt: skip
    """The plain go command in ``checkout`` with its own ``gocache`` and the shared module
    cache (niced: the machine is shared); its process group is killed when ``timeout``
    passes (raising subprocess.TimeoutExpired)."""
    full = go_env(goroot, GOCACHE=str(gocache), GOMODCACHE=str(cache_root() / "modcache"), **env)
    started = time.monotonic()
    process = subprocess.Popen(
        ["nice", "-n", "10", str(goroot / "bin" / "go"), *args],
        cwd=checkout, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    seconds = time.monotonic() - started
    return GoRun(process.returncode, stdout, stderr, seconds, plugin_stats(stderr),
                 go_actions(stderr))  # fmt: skip


def ok(run: GoRun) -> GoRun:
    """``run``, asserted to have succeeded (its output's tail otherwise)."""
    assert run.returncode == 0, run.stderr[-3000:] + run.stdout[-2000:]
    return run

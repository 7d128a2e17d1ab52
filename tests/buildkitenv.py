"""A real BuildKit daemon on loopback TCP with mutual TLS, for remote-builder tests.

:func:`ensure_buildkit` builds ``buildkitd`` and ``buildctl`` of :data:`VERSION` from
the Go module proxy once per machine, into a cache keyed by BuildKit and Go version
(``$GOBUILD_TEST_CACHE/buildkit`` or ``~/.cache/gobuild-tests/buildkit``), so a test
session finds them built (a fresh machine spends about 7 minutes on 2 cores, most of
it compiling buildkitd). ``go install PKG@VERSION`` cannot build them: every release
the proxy lists from v0.20.2 on has an ``exclude`` block in its go.mod, which ``go
install`` refuses (the module "must not contain directives that would cause it to be
interpreted differently than if it were the main module"). So the module is
downloaded with ``go mod download`` (checked against the checksum database), copied
out of the module cache and built as the main module with its own go.sum
(``-mod=readonly``), as BuildKit's Dockerfile builds its release binaries: cgo off,
the same build tags, the version stamped in.

:class:`Buildkitd` runs the daemon as root with the OCI worker (Debian's runc) on
``tcp://127.0.0.1:PORT``, demanding a client certificate signed by its
:class:`~tests.netproxy.TestCA`; state directory, config, log and certificates live
in one directory, and :meth:`Buildkitd.buildctl_argv` carries the client's TLS flags.
It reaches loopback registries over plain HTTP without being told.

No registry on the internet is reachable, so base images come from a loopback
registry: :func:`push_rootfs_image` pushes a busybox-static root filesystem (a real
``/bin/sh`` for ``RUN``) with extra files. The Dockerfile frontend is built into
buildkitd (``--frontend dockerfile.v0`` and no ``# syntax=`` line), so nothing else
is pulled.

Nothing here imports gobuild: these helpers judge gobuild's builder independently.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import fcntl
import gzip
import io
import ipaddress
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests import registryenv
from tests.daemons import free_port, stop_group
from tests.netproxy import TestCA

MODULE = "github.com/moby/buildkit"
VERSION = "v0.34.2"
# The Go that builds it (BuildKit v0.34's go.mod asks for 1.26.8).
GO_VERSION = "1.27.3"
# BuildKit's Dockerfile builds buildkitd with these tags and cgo off; buildctl with none.
BUILDKITD_TAGS = ("osusergo", "netgo", "static_build", "seccomp")
RUNC = Path("/usr/sbin/runc")
BUSYBOX = Path("/bin/busybox")
UMOUNT = Path("/usr/bin/umount")
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MARKER = "complete.json"

_MTIME = 1700000000
_CREATED = "2023-11-14T22:13:20Z"
# Environment passed through to the Go build (where modules and checksums come from).
_GO_PASS = (
    "GOPROXY",
    "GOSUMDB",
    "GONOSUMDB",
    "GONOPROXY",
    "GOPRIVATE",
    "GOINSECURE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)
# Why a build of the binaries failed in this process: not retried by every module.
_build_failures: dict[Path, str] = {}


class BuildkitError(Exception):
    """BuildKit could not be built, started or driven; the message says why."""


# -- the binaries ------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildkitBinaries:
    """Built ``buildkitd`` and ``buildctl`` and what built them."""

    buildkitd: Path
    buildctl: Path
    version: str
    go_version: str
    build_seconds: float


def cache_root() -> Path:
    """Where the binaries are kept between test sessions (as tests/godist.py keeps Go)."""
    base = os.environ.get("GOBUILD_TEST_CACHE") or os.path.expanduser("~/.cache/gobuild-tests")
    return Path(base) / "buildkit"


def _read_built(directory: Path) -> BuildkitBinaries | None:
    try:
        record = json.loads((directory / MARKER).read_text())
        binaries = BuildkitBinaries(
            directory / "buildkitd",
            directory / "buildctl",
            record["version"],
            record["go"],
            float(record["seconds"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not (binaries.buildkitd.is_file() and binaries.buildctl.is_file()):
        return None
    return binaries


def _go_env(go: Path, work: Path) -> dict[str, str]:
    env = {
        "PATH": f"{go.parent}:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "GOTOOLCHAIN": "local",
        "GOWORK": "off",
        "GOENV": "off",
        "CGO_ENABLED": "0",
        # Downloads and build cache of their own, dropped after the build; -modcacherw
        # lets the module cache be removed like any directory.
        "GOMODCACHE": str(work / "gomodcache"),
        "GOCACHE": str(work / "gocache"),
        "GOPATH": str(work / "gopath"),
        "GOFLAGS": "-mod=readonly -modcacherw",
    }
    for name in _GO_PASS:
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _run_go(go: Path, args: Sequence[str], cwd: Path, env: Mapping[str, str]) -> str:
    done = subprocess.run(
        ["nice", "-n", "10", str(go), *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        raise BuildkitError(
            f"go {' '.join(args)} exited {done.returncode}:\n{(done.stdout + done.stderr)[-3000:]}"
        )
    return done.stdout


def _build(go_in: Callable[[Path], Path], version: str, go_version: str, target: Path) -> None:
    """Download BuildKit ``version``, build both binaries into ``target`` (a new dir)."""
    work = Path(tempfile.mkdtemp(prefix="build-", dir=target.parent))
    try:
        go = go_in(work / "go")
        env = _go_env(go, work)
        reported = _run_go(go, ["version"], work, env)
        if f"go{go_version} " not in reported:
            raise BuildkitError(f"{go} is not Go {go_version}: {reported.strip()}")
        started = time.monotonic()
        info = json.loads(
            _run_go(go, ["mod", "download", "-json", f"{MODULE}@{version}"], work, env)
        )
        if info.get("Error"):
            raise BuildkitError(f"go mod download {MODULE}@{version}: {info['Error']}")
        source = work / "src"
        shutil.copytree(info["Dir"], source)
        for path in [source, *source.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o200)
        package = f"{MODULE}/version"
        ldflags = (
            f"-X {package}.Version={version} -X {package}.Revision={version} "
            f"-X {package}.Package={MODULE}"
        )
        out = work / "out"
        out.mkdir()
        _run_go(
            go,
            [
                "build",
                "-trimpath",
                "-ldflags",
                ldflags,
                "-o",
                str(out / "buildctl"),
                "./cmd/buildctl",
            ],
            source,
            env,
        )
        _run_go(
            go,
            [
                "build",
                "-trimpath",
                "-ldflags",
                ldflags,
                "-tags",
                " ".join(BUILDKITD_TAGS),
                "-o",
                str(out / "buildkitd"),
                "./cmd/buildkitd",
            ],
            source,
            env,
        )
        seconds = time.monotonic() - started
        record = {
            "module": MODULE,
            "version": version,
            "go": go_version,
            "sum": info.get("Sum"),
            "tags": list(BUILDKITD_TAGS),
            "seconds": round(seconds, 1),
        }
        (out / MARKER).write_text(json.dumps(record, indent=2) + "\n")
        out.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def ensure_buildkit(
    cache_dir: Path,
    go: Callable[[Path], Path],
    *,
    version: str = VERSION,
    go_version: str = GO_VERSION,
) -> BuildkitBinaries:
    """``buildkitd`` and ``buildctl`` of BuildKit ``version``, built by Go ``go_version``.

    Found in ``cache_dir/<version>-go<go_version>`` when a previous session built them;
    else built there (minutes: see the module's docstring) under a file lock, so
    concurrent sessions build once. ``go`` is called only when a build is needed, with
    a scratch directory removed after the build, and returns the ``go`` binary of
    ``go_version`` (e.g. :func:`extract_go` of an archive into it). A failure raises
    :class:`BuildkitError` and is remembered for the rest of the process
    (:func:`unavailable` reports it) rather than retried.
    """
    target = cache_dir / f"{version}-go{go_version}"
    built = _read_built(target)
    if built:
        return built
    if target in _build_failures:
        raise BuildkitError(_build_failures[target])
    cache_dir.mkdir(parents=True, exist_ok=True)
    with (cache_dir / f"{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        built = _read_built(target)
        if built:
            return built
        # What an interrupted earlier attempt left (the lock says none is running).
        shutil.rmtree(target, ignore_errors=True)
        for stale in cache_dir.glob("build-*"):
            shutil.rmtree(stale, ignore_errors=True)
        try:
            _build(go, version, go_version, target)
        except (
            BuildkitError,
            OSError,
            subprocess.SubprocessError,
            tarfile.TarError,
            ValueError,
            KeyError,
        ) as error:
            reason = f"building BuildKit {version} with Go {go_version} failed: {error}"
            _build_failures[target] = reason
            raise BuildkitError(reason) from error
    built = _read_built(target)
    if built is None:
        raise BuildkitError(f"{target}: built, but no {MARKER} or binaries")
    return built


def extract_go(archive: Path, directory: Path) -> Path:
    """The ``go`` binary of a go.dev-layout ``archive`` (``go/...``) unpacked into
    ``directory`` (tests/godist.py's ``real_archive`` makes such archives)."""
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(directory, filter="tar")
    go = directory / "go" / "bin" / "go"
    if not go.is_file():
        raise BuildkitError(f"{archive} has no go/bin/go")
    return go


# -- can it run here ---------------------------------------------------------------------


def _cgroups() -> str | None:
    """Why runc would find no cgroup hierarchy, or None (v2, or v1 with memory/pids)."""
    base = Path("/sys/fs/cgroup")
    if (base / "cgroup.controllers").exists():
        return None
    if (base / "memory").is_dir() or (base / "pids").is_dir():
        return None
    return "no cgroup v1 or v2 hierarchy is mounted at /sys/fs/cgroup (runc needs one)"


def unavailable(binaries: BuildkitBinaries | None = None) -> str | None:
    """Why a rootful buildkitd cannot run here, or None.

    Checked: Linux, root, Debian's runc, busybox-static (the test base images),
    umount, a cgroup hierarchy, and (when asked about ``binaries``) that they run.
    Overlayfs is not required: buildkitd's ``auto`` snapshotter falls back to
    ``native`` (copies) where overlay mounts do not work.
    """
    if os.uname().sysname != "Linux":
        return "buildkitd runs on Linux only"
    if os.geteuid() != 0:
        return "the tests run buildkitd rootful, and this process is not root"
    if not RUNC.exists():
        return f"{RUNC} is missing (apt-get install runc)"
    if not BUSYBOX.exists():
        return f"{BUSYBOX} is missing (apt-get install busybox-static): the test base images"
    if not UMOUNT.exists():
        return f"{UMOUNT} is missing (apt-get install mount)"
    reason = _cgroups()
    if reason:
        return reason
    if _build_failures:
        return next(iter(_build_failures.values()))
    if binaries is not None:
        for binary in (binaries.buildkitd, binaries.buildctl):
            done = subprocess.run(
                [str(binary), "--version"], capture_output=True, text=True, check=False
            )
            if done.returncode != 0 or binaries.version not in done.stdout:
                return f"{binary} --version: {done.returncode} {done.stdout}{done.stderr}"
    return None


# -- certificates ------------------------------------------------------------------------


def issue(
    ca: TestCA, directory: Path, stem: str, *names: str, client: bool = False
) -> tuple[Path, Path]:
    """A certificate from ``ca`` for ``names`` (host names or IP addresses, the first
    also its common name), for a server or, with ``client``, a TLS client (extended key
    usage clientAuth: a Go TLS server refuses a client certificate without it, and
    TestCA.issue makes server certificates only). (cert, key) files
    ``directory/stem.crt`` and ``.key``."""
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
        .sign(ca.key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def issue_client(ca: TestCA, name: str, directory: Path | None = None) -> tuple[Path, Path]:
    """A client certificate for ``name`` from ``ca``: (cert, key) files in ``directory``
    (default the CA's), named ``client-<name>``."""
    return issue(ca, directory or ca.directory, f"client-{name}", name, client=True)


@dataclass(frozen=True)
class ClientTLS:
    """What a buildctl needs to reach the daemon: the CA that signed the daemon's
    certificate and a client certificate and key. ``directory`` holds them as
    ``buildctl --tlsdir`` wants them (ca.pem, cert.pem, key.pem)."""

    ca: Path
    cert: Path
    key: Path
    directory: Path

    def flags(self) -> list[str]:
        return ["--tlscacert", str(self.ca), "--tlscert", str(self.cert), "--tlskey", str(self.key)]


def client_tls(ca: TestCA, name: str, directory: Path) -> ClientTLS:
    """A client certificate for ``name`` laid out in ``directory`` (see :class:`ClientTLS`)."""
    cert, key = issue_client(ca, name, directory)
    for source, target in ((ca.pem, "ca.pem"), (cert, "cert.pem"), (key, "key.pem")):
        shutil.copyfile(source, directory / target)
    return ClientTLS(directory / "ca.pem", directory / "cert.pem", directory / "key.pem", directory)


def docker_config(directory: Path, logins: Mapping[str, tuple[str, str]]) -> dict[str, str]:
    """A Docker client config in ``directory`` with ``logins`` (``host:port`` → (user,
    password)); the environment naming it (DOCKER_CONFIG). buildctl reads registry
    credentials from there and hands them to the daemon over its session ("[auth]
    sharing credentials" in the progress): the daemon itself holds none."""
    directory.mkdir(parents=True, exist_ok=True)
    auths = {
        host: {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
        for host, (user, password) in logins.items()
    }
    (directory / "config.json").write_text(json.dumps({"auths": auths}, indent=2) + "\n")
    return {"DOCKER_CONFIG": str(directory)}


def tls_refusal(
    port: int, ca: Path, cert: Path | None = None, key: Path | None = None, timeout: float = 5
) -> str | None:
    """How a TLS server on 127.0.0.1:``port`` refuses a client presenting ``cert`` (none
    without one), or None when it accepts it. Read after the handshake, not written:
    in TLS 1.3 the server's verdict on the client's certificate arrives after the
    client's handshake is done, so what a writing client (buildctl) sees races between
    the alert and a broken pipe; a reader gets the alert itself. A gRPC server that
    accepts sends its HTTP/2 settings first, so data (or silence) means accepted."""
    context = ssl.create_default_context(cafile=str(ca))
    if cert is not None:
        context.load_cert_chain(cert, key)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        try:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.recv(1)
        except ssl.SSLError as error:
            return str(error)
        except (TimeoutError, ConnectionResetError):
            return None
    return None


# -- the daemon --------------------------------------------------------------------------


def _mounts_under(directory: Path) -> list[str]:
    """Mount points at or below ``directory`` (deepest first), from mountinfo."""
    prefix = str(directory.resolve()).rstrip("/") + "/"
    found = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split(" ")[4].encode().decode("unicode_escape")
            if point.startswith(prefix):
                found.append(point)
    return sorted(found, key=len, reverse=True)


_STEP = re.compile(r"^#(\d+) (.*)$")


@dataclass
class BuildRun:
    """One ``buildctl build``: exit status, plain progress output (stderr), stdout, time."""

    argv: list[str]
    returncode: int
    progress: str
    stdout: str
    seconds: float

    def steps(self) -> list[tuple[str, str]]:
        """Each vertex, in order of first appearance, as (name, how it ended): ``CACHED``,
        ``DONE``, ``ERROR``, or '' where the output says none of them (a base image
        another platform's vertex resolved, say), from ``--progress=plain`` output. Two
        vertices may share a name (one "load build context" per platform)."""
        names: dict[str, str] = {}
        states: dict[str, str] = {}
        for line in self.progress.splitlines():
            match = _STEP.match(line)
            if not match:
                continue
            number, rest = match.groups()
            if number not in names:
                names[number] = rest
                states[number] = ""
            elif rest == "CACHED" or rest.startswith(("DONE", "ERROR")):
                states[number] = rest.split(" ")[0].rstrip(":")
        return [(names[n], states[n]) for n in names]

    def state(self, fragment: str) -> str:
        """How the one vertex whose name contains ``fragment`` ended (see :meth:`steps`);
        AssertionError, with the output, unless exactly one does."""
        matches = [state for name, state in self.steps() if fragment in name]
        if len(matches) != 1:
            raise AssertionError(
                f"{len(matches)} build steps name {fragment!r}:\n{self.progress[-4000:]}"
            )
        return matches[0]


@dataclass
class Buildkitd:
    """A rootful buildkitd on ``tcp://127.0.0.1:PORT`` with mutual TLS (see the module).

    ``directory`` receives the state directory (``root/``, the ``--root``), the config
    (``buildkitd.toml``), the log (``buildkitd.log``), the daemon's certificate for
    127.0.0.1 (``server/``) and a client's (``client/``, :attr:`tls`). ``ca`` signs
    both, or a new one is made in ``directory/ca``; a client certificate from another
    CA is refused, as is a client without one. Registries: buildkitd speaks plain HTTP to loopback ones
    (``127.0.0.1:PORT``, ``localhost:PORT``) unless told otherwise, so the registries of
    tests/registryenv.py work as they are; ``http_registries`` (``host:port``) says so
    explicitly (``http = true``, ``insecure = true`` in its config), ``registry_cas``
    (``host:port`` → CA bundle) makes it speak HTTPS to a registry with a test CA's
    certificate. ``snapshotter`` is the OCI worker's (``auto``: overlayfs where an
    overlay mount works, else native). Use as a context manager, or :meth:`start` and
    :meth:`stop`.
    """

    binaries: BuildkitBinaries
    directory: Path
    ca: TestCA | None = None
    http_registries: Sequence[str] = ()
    registry_cas: Mapping[str, Path] = field(default_factory=dict)
    snapshotter: str = "auto"
    runc: Path = RUNC
    debug: bool = False
    port: int = 0
    tls: ClientTLS = field(init=False)
    server_cert: tuple[Path, Path] = field(init=False)
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _sockets: Path | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.ca is None:
            self.ca = TestCA(self.directory / "ca", name="buildkit test ca")
        self.tls = client_tls(self.ca, "gobuild-test-client", self.directory / "client")
        self.server_cert = issue(self.ca, self.directory / "server", "server", "127.0.0.1")

    # -- where

    @property
    def root(self) -> Path:
        """The state directory (``--root``)."""
        return self.directory / "root"

    @property
    def config_path(self) -> Path:
        return self.directory / "buildkitd.toml"

    @property
    def log_path(self) -> Path:
        return self.directory / "buildkitd.log"

    @property
    def address(self) -> str:
        """``tcp://127.0.0.1:PORT``, as BUILDKIT_HOST and ``buildctl --addr`` take it."""
        return f"tcp://127.0.0.1:{self.port}"

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (else os.environ) with BUILDKIT_HOST naming this daemon. buildctl
        reads no TLS settings from the environment: see :meth:`buildctl_argv`."""
        return {**(os.environ if base is None else base), "BUILDKIT_HOST": self.address}

    def buildctl_argv(
        self, *args: str, tls: ClientTLS | None = None, addr: bool = True
    ) -> list[str]:
        """``buildctl --addr ADDRESS --tlscacert .. --tlscert .. --tlskey .. ARGS``; ``tls``
        another client's files; ``addr=False`` leaves the address to BUILDKIT_HOST."""
        head = [str(self.binaries.buildctl)]
        if addr:
            head += ["--addr", self.address]
        return [*head, *(tls or self.tls).flags(), *args]

    def buildctl(
        self, *args: str, tls: ClientTLS | None = None, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """Run buildctl against this daemon; failures show the output."""
        argv = self.buildctl_argv(*args, tls=tls)
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, check=False, env=self.env()
        )
        if check and done.returncode != 0:
            raise BuildkitError(
                f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout[-3000:]}\n"
                f"{done.stderr[-5000:]}\nbuildkitd's log:\n{self.log_tail()}"
            )
        return done

    def build(
        self,
        context: Path,
        dockerfile: Path | None = None,
        *,
        opts: Mapping[str, str] | None = None,
        outputs: Sequence[str] = (),
        export_cache: Sequence[str] = (),
        import_cache: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float = 900,
    ) -> BuildRun:
        """``buildctl build`` with the built-in Dockerfile frontend, plain progress:
        ``context`` and the directory of ``dockerfile`` (default ``context/Dockerfile``)
        as the local sources, ``opts`` as ``--opt``, then the outputs and cache flags.
        ``env`` adds to buildctl's environment (DOCKER_CONFIG: :func:`docker_config`)."""
        dockerfile = dockerfile or context / "Dockerfile"
        args = [
            "build",
            "--progress=plain",
            "--frontend=dockerfile.v0",
            "--local",
            f"context={context}",
            "--local",
            f"dockerfile={dockerfile.parent}",
            "--opt",
            f"filename={dockerfile.name}",
        ]
        for key, value in (opts or {}).items():
            args += ["--opt", f"{key}={value}"]
        for output in outputs:
            args += ["--output", output]
        for spec in export_cache:
            args += ["--export-cache", spec]
        for spec in import_cache:
            args += ["--import-cache", spec]
        argv = self.buildctl_argv(*args)
        started = time.monotonic()
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**self.env(), **(env or {})},
        )
        run = BuildRun(argv, done.returncode, done.stderr, done.stdout, time.monotonic() - started)
        if check and done.returncode != 0:
            raise BuildkitError(
                f"buildctl build exited {done.returncode}:\n{done.stderr[-6000:]}\n"
                f"buildkitd's log:\n{self.log_tail()}"
            )
        return run

    def workers(self) -> list[dict[str, object]]:
        """``buildctl debug workers --format '{{json .}}'``: the daemon's workers."""
        text = self.buildctl("debug", "workers", "--format", "{{json .}}", timeout=30).stdout
        parsed: list[dict[str, object]] = json.loads(text)
        return parsed

    def cache_records(self) -> list[dict[str, object]]:
        """``buildctl du --format '{{json .}}'``: the daemon's build cache records."""
        text = self.buildctl("du", "--format", "{{json .}}", timeout=60).stdout.strip()
        parsed: list[dict[str, object]] = json.loads(text) if text else []
        return parsed or []

    def snapshotter_in_use(self) -> str:
        """The snapshotter the OCI worker chose (``overlayfs`` or ``native``)."""
        for worker in self.workers():
            labels = worker.get("labels") or worker.get("Labels") or {}
            if isinstance(labels, dict):
                name = labels.get("org.mobyproject.buildkit.worker.snapshotter")
                if isinstance(name, str):
                    return name
        raise BuildkitError(f"no worker reports a snapshotter: {self.workers()}")

    # -- lifecycle

    def _socket_dir(self) -> Path:
        """A directory for buildkitd's own unix socket (its OTel trace socket, at a fixed
        /run path by default: two daemons would fight over it), short enough for
        sun_path (108 bytes)."""
        if len(str(self.directory / "otel-grpc.sock")) < 100:
            return self.directory
        if self._sockets is None:
            self._sockets = Path(tempfile.mkdtemp(prefix="bk-"))
        return self._sockets

    def _write_config(self) -> None:
        """The config file: only what has no flag, the registries (see the class)."""
        lines = []
        for host in self.http_registries:
            lines += [f"[registry.{json.dumps(host)}]", "  http = true", "  insecure = true", ""]
        for host, cafile in self.registry_cas.items():
            lines += [
                f"[registry.{json.dumps(host)}]",
                "  http = false",
                f"  ca = [{json.dumps(str(cafile))}]",
                "",
            ]
        self.config_path.write_text("\n".join(lines))

    def argv(self) -> list[str]:
        """The daemon's command line. ``--config`` is always given (the registries; and
        a host's /etc/buildkit/buildkitd.toml never applies). The OCI worker runs
        Debian's runc with host networking (no CNI here); the containerd worker is off
        (dockerd's containerd is not ours); the OTel trace socket, at a fixed /run path
        by default, is the daemon's own, or two daemons would fight over it; no GC
        during a test; no CDI device scanning."""
        assert self.ca is not None
        cert, key = self.server_cert
        return [
            str(self.binaries.buildkitd),
            "--config",
            str(self.config_path),
            "--root",
            str(self.root),
            "--addr",
            self.address,
            "--tlscacert",
            str(self.ca.pem),
            "--tlscert",
            str(cert),
            "--tlskey",
            str(key),
            "--oci-worker=true",
            f"--oci-worker-binary={self.runc}",
            f"--oci-worker-snapshotter={self.snapshotter}",
            "--oci-worker-net=host",
            "--oci-worker-gc=false",
            "--containerd-worker=false",
            "--cdi-disabled",
            f"--otel-socket-path={self._socket_dir() / 'otel-grpc.sock'}",
            *(["--debug"] if self.debug else []),
        ]

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def start(self, timeout: float = 60.0) -> None:
        """Start buildkitd and wait until ``buildctl debug workers`` answers over mTLS.
        A port taken between choosing and binding it is retried with another."""
        self.root.mkdir(parents=True, exist_ok=True)
        for _attempt in range(3):
            self.port = free_port()
            self._write_config()
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    self.argv(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own group, killed whole by stop()
                    env={**os.environ, "PATH": f"{self.runc.parent}:/usr/bin:/bin"},
                )
            try:
                self._wait(timeout)
                return
            except BaseException as error:
                self.stop()
                if not (
                    isinstance(error, BuildkitError) and "address already in use" in self.log_tail()
                ):
                    raise
        raise BuildkitError(f"buildkitd found no free port:\n{self.log_tail()}")

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise BuildkitError(
                    f"buildkitd exited {self._process.returncode} at startup:\n{self.log_tail()}"
                )
            done = self.buildctl("debug", "workers", check=False, timeout=30)
            if done.returncode == 0 and done.stdout.strip().count("\n") >= 1:
                return
            last = done.stderr.strip()[-500:]
            time.sleep(0.2)
        raise BuildkitError(
            f"buildkitd did not answer within {timeout}s ({last}):\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """SIGTERM the daemon's process group (SIGKILL after 30 s), then unmount what
        it left mounted under its directory so the directory can be removed."""
        process, self._process = self._process, None
        stop_group(process, grace=30)
        for point in _mounts_under(self.directory):
            subprocess.run([str(UMOUNT), "-l", point], capture_output=True, check=False)
        if self._sockets is not None:
            shutil.rmtree(self._sockets, ignore_errors=True)
            self._sockets = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> Buildkitd:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# -- base images -------------------------------------------------------------------------

FileSpec = bytes | tuple[bytes, int]
PASSWD = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = b"root:x:0:\nnobody:x:65534:\n"


def _gzip(data: bytes) -> bytes:
    buffer = io.BytesIO()
    # mtime=0 and no file name: the same bytes on every call.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as out:
        out.write(data)
    return buffer.getvalue()


def _canonical(value: object) -> bytes:
    """Deterministic JSON bytes (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def host_platform() -> str:
    machine = os.uname().machine
    arch = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine)
    return f"linux/{arch}"


def rootfs_tar(files: Mapping[str, FileSpec] | None = None) -> bytes:
    """An uncompressed layer tar of a busybox-static root filesystem: /bin/busybox with
    a link per applet (so /bin/sh), /etc/passwd and group, /tmp, /root; then ``files``
    (path → bytes, mode 0644, or (bytes, mode)). Root-owned, fixed mtime, sorted."""
    entries: dict[str, tuple[str, bytes, int]] = {}  # name → (kind, data or link, mode)

    def directory(name: str, mode: int = 0o755) -> None:
        entries.setdefault(name, ("dir", b"", mode))

    for name in ("bin", "dev", "etc", "proc", "root", "sys", "usr", "usr/bin", "var"):
        directory(name, 0o700 if name == "root" else 0o755)
    directory("tmp", 0o1777)
    entries["bin/busybox"] = ("file", BUSYBOX.read_bytes(), 0o755)
    applets = subprocess.run(
        [str(BUSYBOX), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    for applet in applets:
        if applet != "busybox":
            entries[f"bin/{applet}"] = ("link", b"busybox", 0o777)
    entries["etc/passwd"] = ("file", PASSWD, 0o644)
    entries["etc/group"] = ("file", GROUP, 0o644)
    for raw, spec in (files or {}).items():
        name = raw.strip("/")
        parts = name.split("/")
        for i in range(1, len(parts)):
            directory("/".join(parts[:i]))
        data, mode = spec if isinstance(spec, tuple) else (spec, 0o644)
        entries[name] = ("file", data, mode)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(entries):
            kind, data, mode = entries[name]
            info = tarfile.TarInfo(name)
            info.mtime, info.mode = _MTIME, mode
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, data.decode()
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def push_rootfs_image(
    target: registryenv.Target,
    repo: str,
    tag: str,
    files: Mapping[str, FileSpec] | None = None,
    *,
    env: Sequence[str] = (),
) -> str:
    """Push a runnable base image for the host's platform and tag its OCI index ``tag``:
    one gzip layer of :func:`rootfs_tar` (busybox-static, ``files``), a config with
    PATH and ``env`` (``NAME=value``), ``/bin/sh`` as its command. Deterministic for the
    same arguments. Returns the index's digest."""
    platform = host_platform()
    tar = rootfs_tar(files)
    compressed = _gzip(tar)
    os_name, arch = platform.split("/")
    config = _canonical(
        {
            "os": os_name,
            "architecture": arch,
            "created": _CREATED,
            "config": {"Env": [PATH_ENV, *env], "Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": [registryenv.digest_of(tar)]},
            "history": [{"created": _CREATED, "created_by": "tests/buildkitenv.py rootfs"}],
        }
    )
    body = _canonical(
        {
            "schemaVersion": 2,
            "mediaType": registryenv.OCI_MANIFEST,
            "config": {
                "mediaType": registryenv.OCI_CONFIG,
                "digest": registryenv.push_blob(target, repo, config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": registryenv.OCI_LAYER_GZIP,
                    "digest": registryenv.push_blob(target, repo, compressed),
                    "size": len(compressed),
                }
            ],
        }
    )
    digest = registryenv.put_manifest(
        target, repo, registryenv.digest_of(body), body, registryenv.OCI_MANIFEST
    )
    index = _canonical(
        {
            "schemaVersion": 2,
            "mediaType": registryenv.OCI_INDEX,
            "manifests": [
                {
                    "mediaType": registryenv.OCI_MANIFEST,
                    "digest": digest,
                    "size": len(body),
                    "platform": {"os": os_name, "architecture": arch},
                }
            ],
        }
    )
    return registryenv.put_manifest(target, repo, tag, index, registryenv.OCI_INDEX)

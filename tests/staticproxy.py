"""A loopback module proxy for tests: files served from a directory, chosen paths failing.

The GOPROXY protocol is static files (``golang.org/toolchain/@v/VERSION.zip``), so a
directory laid out like a proxy is one. Tests pick an HTTP status for a path
(``proxy.fail(path, 500)``: every request of it gets that answer until cleared) and
may require Basic credentials, as an authenticated corporate proxy would. Every
request is logged with the status sent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import threading
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from gobuild.modules.dirhash import hash1, hash_zip


@dataclass
class Proxy:
    """State shared with the request handler threads."""

    root: Path
    url: str = ""
    faults: dict[str, int] = field(default_factory=dict)
    # "user:password" the proxy demands (Basic), or None for an open proxy.
    credentials: str | None = None
    log: list[tuple[str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, path: str, status: int) -> None:
        """Answer ``status`` to every request of ``path`` (``/golang.org/…``)."""
        with self.lock:
            self.faults[path] = status

    def requests(self) -> list[tuple[str, int]]:
        """(path, status) of every request so far."""
        with self.lock:
            return list(self.log)


def toolchain_path(zip_name: str) -> str:
    """The URL path of a ``golang.org/toolchain`` zip on a proxy."""
    return f"/golang.org/toolchain/@v/{zip_name}"


def publish(root: Path, zip_file: Path) -> Path:
    """Lay ``zip_file`` out under ``root`` as a proxy serves it (a symbolic link, no copy)."""
    target = root / toolchain_path(zip_file.name).lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(zip_file)
    return root


def _handler(state: Proxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            path = unquote(urlsplit(self.path).path)
            if state.credentials is not None:
                wanted = "Basic " + base64.b64encode(state.credentials.encode()).decode()
                if self.headers.get("Authorization") != wanted:
                    self._status(path, 401, {"WWW-Authenticate": 'Basic realm="proxy"'})
                    return
            with state.lock:
                fault = state.faults.get(path)
            if fault is not None:
                self._status(path, fault)
                return
            # Only names under the root (whose symbolic links may point anywhere: the cache).
            file = state.root / path.lstrip("/")
            if ".." in path.split("/") or not file.is_file():
                self._status(path, 404)
                return
            self._log(path, 200)
            size = file.stat().st_size
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.send_header("Content-Type", "application/zip")
            self.end_headers()
            try:
                with file.open("rb") as f:
                    shutil.copyfileobj(f, self.wfile, 1 << 20)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _log(self, path: str, status: int) -> None:
            with state.lock:
                state.log.append((path, status))

        def _status(self, path: str, code: int, headers: dict[str, str] | None = None) -> None:
            self._log(path, code)
            body = f"status {code}\n".encode()
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class ProxyServer:
    """Runs a :class:`Proxy` for ``root`` on 127.0.0.1 in a background thread."""

    def __init__(self, root: Path, credentials: str | None = None) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.state = Proxy(root, credentials=credentials)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.httpd.daemon_threads = True
        self.state.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Proxy:
        self.thread.start()
        return self.state

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def publish_module(root: Path, path: str, version: str, files: dict[str, str]) -> list[str]:
    """Lay a module version out as a GOPROXY serves it; its go.sum lines."""
    at = root / path / "@v"
    at.mkdir(parents=True)
    (at / "list").write_text(f"{version}\n")
    (at / f"{version}.info").write_text(json.dumps({"Version": version}))
    (at / f"{version}.mod").write_text(files["go.mod"])
    zipped = at / f"{version}.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for name, text in files.items():
            zf.writestr(f"{path}@{version}/{name}", text)
    mod_h1 = hash1({"go.mod": hashlib.sha256(files["go.mod"].encode()).hexdigest()})
    return [f"{path} {version} {hash_zip(zipped)}", f"{path} {version}/go.mod {mod_h1}"]


# A tiny published module for tests whose app needs one dependency from the proxy.
GREET = "example.com/greet"
GREET_FILES = {
    "go.mod": f"module {GREET}\n\ngo 1.21\n",
    "greet.go": 'package greet\n\nfunc Word() string { return "hello" }\n',
}


def greeting_app(dest: Path, sums: list[str], main: str) -> Path:
    """An app module at ``dest`` requiring greet v1.0.0 (``sums``: its go.sum lines)."""
    dest.mkdir(parents=True)
    (dest / "go.mod").write_text(f"module example.com/app\n\ngo 1.21\n\nrequire {GREET} v1.0.0\n")
    (dest / "go.sum").write_text("\n".join(sums) + "\n")
    (dest / "main.go").write_text(main)
    return dest

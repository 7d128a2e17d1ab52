"""A loopback HTTP server with go.dev's download layout, and fault injection.

Serves the listing at ``/dl/?mode=json&include=all`` (and ``/dl/index.json``)
and archives at ``/dl/FILENAME``. Tests queue per-path faults: an HTTP status,
``truncate`` (promise the full length, send half, close), ``slow`` (trickle
the body), ``retry-after`` (429 with Retry-After: 0). Every request is logged.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gobuild.project.platforms import host

LISTING = "listing"


@dataclass
class Entry:
    version: str
    filename: str
    data: bytes | Path
    sha256: str
    size: int
    stable: bool


@dataclass
class Mirror:
    """State shared with the request handler threads."""

    entries: dict[str, Entry] = field(default_factory=dict)
    faults: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    log: list[tuple[str, str]] = field(default_factory=list)
    bytes_sent: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    slow_delay: float = 0.05
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self,
        version: str,
        data: bytes | Path,
        *,
        stable: bool = True,
        filename: str | None = None,
        sha256: str | None = None,
    ) -> Entry:
        """Publish an archive for ``version`` on the host platform."""
        filename = filename or f"go{version}.{host().key}.tar.gz"
        raw = data.read_bytes() if isinstance(data, Path) else data
        entry = Entry(
            version, filename, data, sha256 or hashlib.sha256(raw).hexdigest(), len(raw), stable
        )
        self.entries[filename] = entry
        return entry

    def fail(self, path_key: str, *actions: str) -> None:
        """Queue actions for the next requests of ``path_key`` (a filename or LISTING)."""
        self.faults[path_key].extend(actions)

    def requests(self, path_key: str | None = None) -> list[tuple[str, str]]:
        with self.lock:
            return [r for r in self.log if path_key is None or r[0] == path_key]

    def listing(self) -> list[dict[str, Any]]:
        plat = host()
        by_version: dict[str, list[Entry]] = defaultdict(list)
        for e in self.entries.values():
            by_version[e.version].append(e)
        out = []
        for version, entries in by_version.items():
            out.append(
                {
                    "version": f"go{version}",
                    "stable": all(e.stable for e in entries),
                    "files": [
                        {
                            "filename": e.filename,
                            "os": plat.goos,
                            "arch": plat.goarch,
                            "version": f"go{version}",
                            "sha256": e.sha256,
                            "size": e.size,
                            "kind": "archive",
                        }
                        for e in entries
                    ]
                    + [
                        {
                            "filename": f"go{version}.src.tar.gz",
                            "os": "",
                            "arch": "",
                            "version": f"go{version}",
                            "sha256": "0" * 64,
                            "size": 1,
                            "kind": "source",
                        }
                    ],
                }
            )
        return out


def make_handler(state: Mirror) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if (
                parts.path == "/dl/" and "mode=json" in parts.query
            ) or parts.path == "/dl/index.json":
                key = LISTING
                body = json.dumps(state.listing()).encode()
            elif parts.path.startswith("/dl/") and parts.path[4:] in state.entries:
                key = parts.path[4:]
                data = state.entries[key].data
                body = data.read_bytes() if isinstance(data, Path) else data
            else:
                self._log(parts.path, "404")
                self._status(404)
                return
            with state.lock:
                action = state.faults[key].popleft() if state.faults[key] else "ok"
            self._log(key, action)
            if action.isdigit():
                self._status(int(action))
            elif action == "retry-after":
                self._status(429, {"Retry-After": "0"})
            elif action == "truncate":
                self._send(key, body, len(body) // 2, declared=len(body))
                self.close_connection = True
            elif action == "slow":
                self._send(key, body, len(body), trickle=True)
            else:
                self._send(key, body, len(body))

        def _log(self, key: str, action: str) -> None:
            with state.lock:
                state.log.append((key, action))

        def _status(self, code: int, headers: dict[str, str] | None = None) -> None:
            msg = f"status {code}\n".encode()
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)

        def _send(
            self,
            key: str,
            body: bytes,
            count: int,
            declared: int | None = None,
            trickle: bool = False,
        ) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(declared or len(body)))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            step = 64 * 1024 if trickle else 1 << 20
            try:
                for i in range(0, count, step):
                    chunk = body[i : min(i + step, count)]
                    self.wfile.write(chunk)
                    with state.lock:
                        state.bytes_sent[key] += len(chunk)
                    if trickle:
                        self.wfile.flush()
                        time.sleep(state.slow_delay)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return Handler


class MirrorServer:
    """Runs a :class:`Mirror` on 127.0.0.1 in a background thread."""

    def __init__(self) -> None:
        self.state = Mirror()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(self.state))
        self.httpd.daemon_threads = True
        self.state.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Mirror:
        self.thread.start()
        return self.state

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

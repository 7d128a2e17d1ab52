"""A loopback Go checksum database for tests: a real tlog, signed tree heads, faults.

Written from the protocol (golang.org/design/25530-sumdb) independently of
gobuild.modules, so the client is tested against a second implementation; the
functional tests check the go command accepts it (its formats are Go's).

``SumDB`` holds records (``add``), keeps every stored hash of the Merkle tree
(appending a record costs one leaf hash and one node hash per completed subtree,
so a tree of 70 000 records builds in a fraction of a second) and answers
``respond(path)`` for ``/lookup/...``, ``/tile/...``, ``/latest`` and ``/supported``,
so any server can mount it (a test GOPROXY under ``/sumdb/<name>/``).
``serve()`` runs it on 127.0.0.1; ``Loopback`` serves any responder with a request log.

Faults: ``sign_with_other_key`` (another key, its own key hash: an unknown signer),
``forge_signature`` (another key's signature under the right key hash), ``fork(i)``
(record i rewritten: every later tree has another history), ``lie(path, version)``
(the lookup answers a record text the tree does not hold), ``present(size)`` (serve
the signed head of an older size).
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HEIGHT = 8
Responder = Callable[[str], tuple[int, bytes]]


def _leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


@dataclass
class Key:
    """An Ed25519 note key: ``vkey`` is ``name+hash+base64(0x01 || public key)``."""

    name: str
    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def public(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def hash(self) -> int:
        digest = hashlib.sha256(self.name.encode() + b"\n\x01" + self.public).digest()
        return int.from_bytes(digest[:4], "big")

    @property
    def vkey(self) -> str:
        pub = base64.b64encode(b"\x01" + self.public).decode()
        return f"{self.name}+{self.hash:08x}+{pub}"

    def sign(self, text: str, *, claim: int | None = None) -> bytes:
        """``text`` as a signed note; ``claim`` puts another key hash on the line."""
        sig = self.private.sign(text.encode())
        blob = base64.b64encode((self.hash if claim is None else claim).to_bytes(4, "big") + sig)
        return f"{text}\n— {self.name} {blob.decode()}\n".encode()


def record_text(path: str, version: str, zip_h1: str, mod_h1: str) -> bytes:
    """A record as sum.golang.org writes it: the go.sum lines of one version."""
    return f"{path} {version} {zip_h1}\n{path} {version}/go.mod {mod_h1}\n".encode()


def unescape(escaped: str) -> str:
    """``!x`` back to ``X`` (module.UnescapePath, without the validation)."""
    out = []
    bang = False
    for c in escaped:
        if bang:
            out.append(c.upper())
            bang = False
        elif c == "!":
            bang = True
        else:
            out.append(c)
    return "".join(out)


class SumDB:
    """An in-memory checksum database named ``name`` with a fresh test key."""

    def __init__(self, name: str = "sumdb.test") -> None:
        self.name = name
        self.key = Key(name)
        self.records: list[bytes] = []
        self.ids: dict[tuple[str, str], int] = {}
        # levels[k][i]: the hash of the complete subtree of 2**k records starting at i * 2**k.
        self.levels: list[list[bytes]] = [[]]
        self.lock = threading.Lock()
        self.log: list[str] = []
        self.presented: int | None = None  # serve an older signed head (None: the newest)
        self.sign_with_other_key = False
        self.forge_signature = False
        self.lies: dict[tuple[str, str], bytes] = {}
        self.other_key = Key(name)

    @property
    def vkey(self) -> str:
        """The verifier key a client needs (GOSUMDB's ``name+hash+key``)."""
        return self.key.vkey

    @property
    def size(self) -> int:
        return len(self.records)

    def add(self, path: str, version: str, zip_h1: str, mod_h1: str) -> int:
        """Append the record of ``path@version``; its id."""
        with self.lock:
            self.ids[(path, version)] = len(self.records)
            self._append(record_text(path, version, zip_h1, mod_h1))
            return len(self.records) - 1

    def add_filler(self, count: int, prefix: str = "example.com/filler") -> None:
        """Append ``count`` records of made-up modules (to reach tile boundaries)."""
        fake = "h1:" + base64.b64encode(bytes(32)).decode()
        for i in range(count):
            self.add(f"{prefix}{self.size}", f"v1.0.{i}", fake, fake)

    def _append(self, text: bytes) -> None:
        self.records.append(text)
        h = _leaf(text)
        self.levels[0].append(h)
        level = 0
        # Each completed pair of subtrees makes a node one level up.
        while len(self.levels[level]) % 2 == 0:
            pair = self.levels[level][-2:]
            h = _node(pair[0], pair[1])
            level += 1
            if len(self.levels) == level:
                self.levels.append([])
            self.levels[level].append(h)

    def fork(self, index: int, text: bytes | None = None) -> None:
        """Rewrite record ``index`` (another history from there on)."""
        with self.lock:
            records = self.records
            records[index] = text or records[index].replace(b"h1:", b"h1:X", 1)
            self.records = []
            self.levels = [[]]
            for r in records:
                self._append(r)

    def lie(self, path: str, version: str, text: bytes) -> None:
        """Answer lookups of ``path@version`` with ``text`` instead of the tree's record."""
        self.lies[(path, version)] = text

    def present(self, size: int | None) -> None:
        """Serve the signed head of the first ``size`` records (None: all)."""
        self.presented = size

    # The tree.

    def tree_hash(self, size: int) -> bytes:
        """The root hash of the first ``size`` records."""
        if size == 0:
            return hashlib.sha256(b"").digest()
        # Complete subtrees from the left, largest first; folded from the right.
        hashes = []
        start = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size & (1 << level):
                hashes.append(self.levels[level][start >> level])
                start += 1 << level
        root = hashes[-1]
        for h in reversed(hashes[:-1]):
            root = _node(h, root)
        return root

    def signed_tree(self) -> bytes:
        size = self.size if self.presented is None else self.presented
        text = f"go.sum database tree\n{size}\n{base64.b64encode(self.tree_hash(size)).decode()}\n"
        if self.sign_with_other_key:
            return self.other_key.sign(text)
        if self.forge_signature:
            return self.other_key.sign(text, claim=self.key.hash)
        return self.key.sign(text)

    def tile(self, level: int, n: int, width: int) -> bytes | None:
        """Tile data: ``width`` hashes of tree level 8*level from 256*n, if they exist."""
        hashes = self.levels[HEIGHT * level] if HEIGHT * level < len(self.levels) else []
        start = n << HEIGHT
        if start + width > len(hashes):
            return None
        return b"".join(hashes[start : start + width])

    # The protocol.

    def respond(self, path: str) -> tuple[int, bytes]:
        """Answer a GET of ``path`` (relative to the database's root)."""
        with self.lock:
            self.log.append(path)
            if path == "/supported":
                return 200, b""
            if path == "/latest":
                return 200, self.signed_tree()
            if path.startswith("/lookup/"):
                return self._lookup(path.removeprefix("/lookup/"))
            if path.startswith("/tile/"):
                return self._tile(path.removeprefix("/tile/"))
            return 404, b"not found\n"

    def _lookup(self, what: str) -> tuple[int, bytes]:
        escaped_path, _, escaped_version = what.rpartition("@")
        key = (unescape(escaped_path), unescape(escaped_version))
        if key not in self.ids:
            return 404, f"not found: {key[0]}@{key[1]}\n".encode()
        rid = self.ids[key]
        text = self.lies.get(key, self.records[rid])
        return 200, f"{rid}\n".encode() + text + b"\n" + self.signed_tree()

    def _tile(self, rest: str) -> tuple[int, bytes]:
        parts = rest.split("/")
        width = 1 << HEIGHT
        if len(parts) >= 3 and parts[-2].endswith(".p"):
            width = int(parts[-1])
            parts = [*parts[:-2], parts[-2].removesuffix(".p")]
        if len(parts) < 3 or parts[0] != str(HEIGHT) or parts[1] == "data":
            return 404, b"no such tile\n"
        n = 0
        for p in parts[2:]:
            n = n * 1000 + int(p.removeprefix("x"))
        data = self.tile(int(parts[1]), n, width)
        return (200, data) if data is not None else (404, b"no such tile\n")

    @contextmanager
    def serve(self, prefix: str = "") -> Iterator[Loopback]:
        """Run on 127.0.0.1 with the database at ``prefix`` (``/sumdb/<name>`` for a
        proxy); other paths answer 404."""

        def respond(path: str) -> tuple[int, bytes]:
            if prefix and not path.startswith(prefix + "/"):
                return 404, b"not found\n"
            return self.respond(path.removeprefix(prefix))

        with Loopback(respond) as server:
            yield server


class Loopback:
    """A ThreadingHTTPServer on 127.0.0.1 answering GETs with ``responder(path)``;
    ``log`` holds every path asked, ``url`` the base URL once started."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.log: list[str] = []
        self.url = ""
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.log.append(self.path)
                status, body = server.responder(self.path)
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Loopback:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

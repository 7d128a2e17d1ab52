"""Signed notes (golang.org/x/mod/sumdb/note): verifier keys and signature checks.

A note is UTF-8 text ending in a newline, a blank line, then one line per
signature: ``— <name> <base64(key hash (4 bytes, big-endian) || signature)>``.
A verifier key is ``<name>+<key hash, 8 hex digits>+<base64(0x01 || Ed25519 public key)>``;
the key hash is the first 4 bytes of sha256(name + "\\n" + 0x01 || public key), so a
signature line says which key made it. Signatures by keys the reader does not know
are skipped; at least one known key's signature is required, and a known key's
bad signature rejects the note.

Ed25519 comes from ``cryptography``, imported when a signature is first checked
(it costs ~20 ms, which a no-op build must not pay).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from gobuild.errors import IntegrityError, SourceError

ALG_ED25519 = 1
SIG_PREFIX = "— "
_MAX_SIGNATURES = 100  # as Go: a note is small; refuse a flood of lines


def key_hash(name: str, key: bytes) -> int:
    """The 32-bit key hash of ``key`` (algorithm byte included) under ``name``."""
    digest = hashlib.sha256(name.encode() + b"\n" + key).digest()
    return int.from_bytes(digest[:4], "big")


def valid_name(name: str) -> bool:
    """A key name: non-empty, no white space, no ``+``."""
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


@dataclass(frozen=True)
class Verifier:
    """A verifier key: who signs (``name``), which key (``key_hash``), and its Ed25519
    public key (32 bytes)."""

    name: str
    key_hash: int
    public_key: bytes

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        """Read ``name+hash+base64key``; ValueError says what is wrong with it."""
        name, _, rest = vkey.partition("+")
        hash16, _, key64 = rest.partition("+")
        try:
            claimed = int(hash16, 16) if len(hash16) == 8 and _is_hex(hash16) else None
            key = base64.b64decode(key64, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("malformed verifier key") from None
        if claimed is None or not valid_name(name) or not key:
            raise ValueError("malformed verifier key")
        if claimed != key_hash(name, key):
            raise ValueError("verifier key's hash does not match its key")
        if key[0] != ALG_ED25519:
            raise ValueError("unknown verifier algorithm")
        if len(key) != 33:
            raise ValueError("malformed verifier key (not an Ed25519 key)")
        return cls(name, claimed, key[1:])

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's Ed25519 signature of ``message``."""
        from cryptography.exceptions import InvalidSignature  # noqa: PLC0415 - module note
        from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
            Ed25519PublicKey,
        )

        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __str__(self) -> str:
        key = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_hash:08x}+{key}"


@dataclass(frozen=True)
class Note:
    """A note whose signature checked out: its text and who signed it (known keys only)."""

    text: str
    signers: tuple[str, ...]


def open_note(message: bytes, verifiers: Sequence[Verifier]) -> Note:
    """Check ``message``'s signatures against ``verifiers`` (note.Open).

    Raises :class:`~gobuild.errors.SourceError` for a malformed note and
    :class:`~gobuild.errors.IntegrityError` when a known key's signature is wrong
    or no known key signed it.
    """
    try:
        decoded = message.decode("utf-8")
    except UnicodeDecodeError:
        raise SourceError("malformed signed note (not UTF-8)") from None
    if any(c < " " and c != "\n" for c in decoded):
        raise SourceError("malformed signed note (control characters)")
    split = message.rfind(b"\n\n")
    if split < 0:
        raise SourceError("malformed signed note (no signatures)")
    text = message[: split + 1]
    lines = message[split + 2 :].decode("utf-8")
    if not lines.endswith("\n"):
        raise SourceError("malformed signed note (no signatures)")
    known = {(v.name, v.key_hash): v for v in verifiers}
    signers: list[str] = []
    seen: set[tuple[str, int]] = set()
    sig_lines = lines[:-1].split("\n")
    if len(sig_lines) > _MAX_SIGNATURES:
        raise SourceError("malformed signed note (too many signatures)")
    for line in sig_lines:
        name, hash_, sig = _parse_signature(line)
        verifier = known.get((name, hash_))
        if verifier is None or (name, hash_) in seen:
            continue  # an unknown signer, or a key already checked
        seen.add((name, hash_))
        if not verifier.verify(text, sig):
            raise IntegrityError(f"invalid signature for key {name}+{hash_:08x}")
        signers.append(name)
    if not signers:
        keys = ", ".join(str(v) for v in verifiers) or "none"
        raise IntegrityError(f"note has no verifiable signatures (known keys: {keys})")
    return Note(text.decode("utf-8"), tuple(signers))


def _parse_signature(line: str) -> tuple[str, int, bytes]:
    if not line.startswith(SIG_PREFIX):
        raise SourceError("malformed signed note (a signature line lacks '— ')")
    name, _, b64 = line[len(SIG_PREFIX) :].partition(" ")
    try:
        blob = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        blob = b""
    if not valid_name(name) or len(blob) < 5:
        raise SourceError("malformed signed note (bad signature line)")
    return name, int.from_bytes(blob[:4], "big"), blob[4:]


def _is_hex(s: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in s)

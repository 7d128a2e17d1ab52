"""Signing a release: Ed25519 keys and DSSE envelopes.

The private key comes from ``[release] signing_key``: ``env:VAR`` (the PEM in that
variable, as CI secrets are given) or a PEM file outside the repository; a key inside the
project is refused, so it is never committed. A DSSE envelope signs its payload's type
and bytes together (the pre-authentication encoding); Ed25519 signatures are
deterministic, so the same release signed with the same key gives the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gobuild.errors import ConfigError, GobuildError

PAYLOAD_TYPE = "application/vnd.in-toto+json"


def load_signing_key(spec: str, root: Path, environ: dict[str, str] | Any) -> Ed25519PrivateKey:
    """The private key ``spec`` names (``env:VAR`` or a path; relative to ``root``)."""
    if spec.startswith("env:"):
        name = spec[4:]
        pem = environ.get(name)
        if not pem:
            raise ConfigError(f"release.signing_key: the variable {name} is not set")
        data, where = pem.encode(), f"${name}"
    else:
        path = (root / Path(spec).expanduser()).resolve()
        if path.is_relative_to(root.resolve()):
            raise ConfigError(
                f"release.signing_key: {spec} is inside the project: keep private keys out of "
                "the repository (a path elsewhere, or env:VAR)"
            )
        try:
            data, where = path.read_bytes(), str(path)
        except OSError as exc:
            raise ConfigError(f"release.signing_key: {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"release.signing_key: {where} is not an unencrypted PEM key ({exc})"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"release.signing_key: {where} is not an Ed25519 key")
    return key


def load_verify_key(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key in the PEM file ``path``."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise GobuildError(f"{path}: {exc.strerror}") from None
    except ValueError as exc:
        raise GobuildError(f"{path}: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise GobuildError(f"{path}: not an Ed25519 public key")
    return key


def keyid(public: Ed25519PublicKey) -> str:
    """The key's id: the sha256 of its raw 32 bytes, in hex."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what is signed."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def envelope(payload: bytes, key: Ed25519PrivateKey) -> dict[str, Any]:
    """A DSSE envelope of ``payload`` (an in-toto statement) signed with ``key``."""
    signature = key.sign(pae(PAYLOAD_TYPE, payload))
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [
            {"keyid": keyid(key.public_key()), "sig": base64.b64encode(signature).decode()}
        ],
    }


def open_envelope(document: dict[str, Any], public: Ed25519PublicKey) -> bytes:
    """The payload of a DSSE envelope that ``public`` signed; GobuildError saying why not."""
    try:
        kind = str(document["payloadType"])
        payload = base64.b64decode(document["payload"], validate=True)
        signatures = list(document["signatures"])
    except (KeyError, TypeError, ValueError) as exc:
        raise GobuildError(f"not a DSSE envelope ({exc})") from None
    wanted = keyid(public)
    for entry in signatures:
        if not isinstance(entry, dict) or entry.get("keyid") != wanted:
            continue
        try:
            public.verify(base64.b64decode(str(entry["sig"])), pae(kind, payload))
        except (InvalidSignature, ValueError, KeyError):
            raise GobuildError(f"the signature by key {wanted[:16]} does not verify") from None
        return payload
    raise GobuildError(f"no signature by key {wanted[:16]} (the verify key)")


def dumps(document: dict[str, Any]) -> str:
    """An envelope's file text."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"

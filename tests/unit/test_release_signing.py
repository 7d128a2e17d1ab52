"""Release signing: Ed25519 keys from outside the repository, DSSE envelopes that verify
only with their key and only unchanged, and verify's checks of a signed provenance."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key

from gobuild.errors import ConfigError, GobuildError
from gobuild.release import signing


def pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())  # fmt: skip


def public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)  # fmt: skip


def test_an_envelope_verifies_with_its_key_and_is_deterministic(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    first = signing.envelope(b'{"a":1}', key)
    assert first == signing.envelope(b'{"a":1}', key)  # Ed25519: same bytes, same signature
    (tmp_path / "k.pub").write_bytes(public_pem(key))
    public = signing.load_verify_key(tmp_path / "k.pub")
    assert signing.open_envelope(first, public) == b'{"a":1}'
    assert first["payloadType"] == "application/vnd.in-toto+json"
    assert signing.pae("t", b"xy") == b"DSSEv1 1 t 2 xy"


def test_a_changed_payload_or_signature_or_key_does_not_verify(tmp_path: Path) -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    doc = signing.envelope(b'{"a":1}', key)
    changed = {**doc, "payload": base64.b64encode(b'{"a":2}').decode()}
    with pytest.raises(GobuildError, match="does not verify"):
        signing.open_envelope(changed, key.public_key())
    sig = bytearray(base64.b64decode(doc["signatures"][0]["sig"]))
    sig[0] ^= 1
    bad = {
        **doc,
        "signatures": [{**doc["signatures"][0], "sig": base64.b64encode(bytes(sig)).decode()}],
    }
    with pytest.raises(GobuildError, match="does not verify"):
        signing.open_envelope(bad, key.public_key())
    with pytest.raises(GobuildError, match="no signature by key"):
        signing.open_envelope(doc, other.public_key())


def test_signing_keys_come_from_outside_the_repository(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    key = Ed25519PrivateKey.generate()
    (root / "release.key").write_bytes(pem(key))
    with pytest.raises(ConfigError, match="inside the project"):
        signing.load_signing_key("release.key", root, {})
    (tmp_path / "release.key").write_bytes(pem(key))
    loaded = signing.load_signing_key(str(tmp_path / "release.key"), root, {})
    assert signing.keyid(loaded.public_key()) == signing.keyid(key.public_key())
    from_env = signing.load_signing_key("env:KEY", root, {"KEY": pem(key).decode()})
    assert signing.keyid(from_env.public_key()) == signing.keyid(key.public_key())
    with pytest.raises(ConfigError, match="the variable KEY is not set"):
        signing.load_signing_key("env:KEY", root, {})


def test_a_key_that_is_not_ed25519_is_refused(tmp_path: Path) -> None:
    rsa = generate_private_key(public_exponent=65537, key_size=2048)
    data = rsa.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())  # fmt: skip
    with pytest.raises(ConfigError, match="not an Ed25519 key"):
        signing.load_signing_key("env:K", tmp_path, {"K": data.decode()})
    with pytest.raises(ConfigError, match="not an unencrypted PEM key"):
        signing.load_signing_key("env:K", tmp_path, {"K": "garbage"})


def test_the_envelope_file_is_stable_json(tmp_path: Path) -> None:
    doc = signing.envelope(b"{}", Ed25519PrivateKey.generate())
    text = signing.dumps(doc)
    assert json.loads(text) == doc and text.endswith("}\n")

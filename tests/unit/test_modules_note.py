"""Signed notes: verifier keys, signatures by known, unknown and forged keys.

Notes are signed by tests/sumdbserver.py's Key (written from the note format, apart
from gobuild.modules.note); the functional tests check the go command accepts them.
"""

from __future__ import annotations

import base64

import pytest

from gobuild.errors import IntegrityError, SourceError
from gobuild.modules.note import Verifier, key_hash, open_note
from tests.sumdbserver import Key

TEXT = "go.sum database tree\n5\nnND75yJ0vUwYSgVe+5NC3MUBP2AYRhvQg8TbRZZ5cIM=\n"
# x/mod's note_test.go key (PeterNeumann), and the signature it documents.
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_NOTE = (
    b"If you think cryptography is the answer to your problem,\n"
    b"then you don't know what your problem is.\n"
    b"\n"
    b"\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_go_documented_note_verifies() -> None:
    note = open_note(PETER_NOTE, [Verifier.parse(PETER_VKEY)])
    assert note.text.startswith("If you think cryptography")
    assert note.signers == ("PeterNeumann",)


def test_verifier_parse_round_trips_and_checks_the_key_hash() -> None:
    key = Key("sumdb.test")
    v = Verifier.parse(key.vkey)
    assert (v.name, v.key_hash, v.public_key) == ("sumdb.test", key.hash, key.public)
    assert str(v) == key.vkey
    assert key_hash("sumdb.test", b"\x01" + key.public) == key.hash


@pytest.mark.parametrize(
    "vkey",
    [
        "",
        "name",
        "name+12345678",
        "na me+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong hash
        "PeterNeumann+0xc74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",  # bad base64
        # The key the issue quoted for sum.golang.org: not base64 of 33 bytes.
        "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ako/jq9qe4u8MO0Jw",
    ],
)
def test_verifier_parse_refuses(vkey: str) -> None:
    with pytest.raises(ValueError):
        Verifier.parse(vkey)


def test_verifier_parse_refuses_other_algorithms() -> None:
    key = b"\x02" + bytes(32)
    vkey = f"x+{key_hash('x', key):08x}+{base64.b64encode(key).decode()}"
    with pytest.raises(ValueError, match="algorithm"):
        Verifier.parse(vkey)


def test_good_signature() -> None:
    key = Key("sumdb.test")
    note = open_note(key.sign(TEXT), [Verifier.parse(key.vkey)])
    assert note.text == TEXT
    assert note.signers == ("sumdb.test",)


def test_bad_signature_is_refused() -> None:
    key, other = Key("sumdb.test"), Key("sumdb.test")
    forged = other.sign(TEXT, claim=key.hash)  # the right key's hash, another key's signature
    with pytest.raises(
        IntegrityError, match=f"invalid signature for key sumdb.test\\+{key.hash:08x}"
    ):
        open_note(forged, [Verifier.parse(key.vkey)])
    tampered = key.sign(TEXT).replace(b"\n5\n", b"\n6\n")
    with pytest.raises(IntegrityError, match="invalid signature"):
        open_note(tampered, [Verifier.parse(key.vkey)])


def test_wrong_key_name_is_an_unknown_signer() -> None:
    key = Key("sumdb.test")
    renamed = Key("other.test", key.private)
    with pytest.raises(IntegrityError, match="no verifiable signatures"):
        open_note(renamed.sign(TEXT), [Verifier.parse(key.vkey)])


def test_unknown_signers_are_skipped_but_not_enough() -> None:
    key, stranger = Key("sumdb.test"), Key("witness.test")
    with pytest.raises(IntegrityError, match="no verifiable signatures"):
        open_note(stranger.sign(TEXT), [Verifier.parse(key.vkey)])
    # A cosigner the reader does not know is ignored beside the known signature.
    both = key.sign(TEXT) + stranger.sign(TEXT).split(b"\n\n", 1)[1]
    assert open_note(both, [Verifier.parse(key.vkey)]).signers == ("sumdb.test",)
    # ... and so is an unknown signer's garbage signature.
    garbage = key.sign(TEXT) + "— witness.test AAAAAAAAAAAAAAA=\n".encode()
    assert open_note(garbage, [Verifier.parse(key.vkey)]).signers == ("sumdb.test",)


@pytest.mark.parametrize(
    "message",
    [
        b"",
        b"text\n",
        b"text\n\n",  # no signature lines
        b"text\n\n- sumdb.test AAAAAAAA\n",  # a hyphen, not an em dash
        b"text\n\n\xe2\x80\x94 sumdb.test AAAA\n",  # fewer than 5 bytes
        b"text\n\n\xe2\x80\x94 sumdb.test AAAAAAAA",  # no final newline
        b"te\x01xt\n\n\xe2\x80\x94 sumdb.test AAAAAAAA\n",  # a control character
        b"te\xffxt\n\n\xe2\x80\x94 sumdb.test AAAAAAAA\n",  # not UTF-8
    ],
)
def test_malformed_notes(message: bytes) -> None:
    key = Key("sumdb.test")
    with pytest.raises(SourceError, match="malformed signed note"):
        open_note(message, [Verifier.parse(key.vkey)])

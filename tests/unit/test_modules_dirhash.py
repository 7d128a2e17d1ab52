"""dirhash: h1: hashes of zips and trees. The expected values were computed by Go's
golang.org/x/mod/sumdb/dirhash on the same files; tests/functional/test_sumdb.py
checks hash_zip and hash_dir against the go command on real modules."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import pytest

from gobuild.errors import ArchiveError, IntegrityError
from gobuild.modules.dirhash import h1_hex, hash1, hash_dir, hash_zip, zip_name


def write_zip(
    path: Path, entries: list[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED
) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = compression
            zf.writestr(info, data)
    return path


def patch_names(path: Path, old: bytes, new: bytes, *, clear_utf8_flag: bool = False) -> None:
    """Rewrite a name in the local header and the central directory (zipfile cannot
    write names that are not UTF-8, nor UTF-8 names without the flag)."""
    raw = bytearray(path.read_bytes())
    assert raw.count(old) == 2
    raw = raw.replace(old, new)
    if clear_utf8_flag:
        # General-purpose flags: offset 6 (local header), 8 (central directory);
        # bit 11 (names are UTF-8) is bit 3 of the flags' second byte.
        for signature, offset in ((b"PK\x03\x04", 7), (b"PK\x01\x02", 9)):
            i = raw.find(signature)
            while i >= 0:
                raw[i + offset] &= ~0x08
                i = raw.find(signature, i + 4)
    path.write_bytes(bytes(raw))


def summary_h1(lines: list[tuple[bytes, bytes]]) -> str:
    text = b"".join(
        hashlib.sha256(data).hexdigest().encode() + b"  " + name + b"\n" for name, data in lines
    )
    return "h1:" + base64.b64encode(hashlib.sha256(text).digest()).decode()


def test_hash_zip_is_hash1_of_names_and_contents(tmp_path: Path) -> None:
    # x/mod's TestHashZip, and its definition spelled out.
    z = write_zip(
        tmp_path / "m.zip", [("prefix/xyz", b"data for xyz"), ("prefix/abc", b"data for abc")]
    )
    want = summary_h1([(b"prefix/abc", b"data for abc"), (b"prefix/xyz", b"data for xyz")])
    assert hash_zip(z) == want == "h1:rLyfpGMAgqOnGE2aKOY5Xb6cOc0/YQhPjHBHBwkblhs="


def test_hash_zip_ignores_compression_and_order(tmp_path: Path) -> None:
    entries = [("m@v1/b", b"1"), ("m@v1/a", b"2")]
    stored = write_zip(tmp_path / "s.zip", entries, zipfile.ZIP_STORED)
    deflated = write_zip(tmp_path / "d.zip", entries[::-1])
    assert hash_zip(stored) == hash_zip(deflated)


def test_hash_zip_sorts_names_bytewise(tmp_path: Path) -> None:
    z = write_zip(
        tmp_path / "m.zip",
        [
            ("m@v1/b", b"1"),
            ("m@v1/B", b"2"),
            ("m@v1/a/b", b"3"),
            ("m@v1/a-b", b"4"),
            ("m@v1/é", b"5"),
            ("m@v1/z", b""),
        ],
        zipfile.ZIP_STORED,
    )
    assert hash_zip(z) == "h1:UFP4RGdVzFGVrLX2eBdd8BFiqsP5HGaZe3giGaJsUY4="  # Go's


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_hash_zip_repeated_name_hashes_the_last_entry_twice(tmp_path: Path) -> None:
    z = write_zip(
        tmp_path / "m.zip", [("m@v1/x", b"first"), ("m@v1/y", b"y"), ("m@v1/x", b"second")]
    )
    assert hash_zip(z) == "h1:jFvdvL9UaUG9OkcLf0K67gAbD2RAErB5uTaVdBXJEvk="  # Go's
    assert hash_zip(z) == summary_h1(
        [(b"m@v1/x", b"second"), (b"m@v1/x", b"second"), (b"m@v1/y", b"y")]
    )


def test_hash_zip_counts_directory_entries_as_empty_files(tmp_path: Path) -> None:
    z = write_zip(tmp_path / "m.zip", [("m@v1/", b""), ("m@v1/d/", b""), ("m@v1/d/f", b"f")])
    assert hash_zip(z) == "h1:47i6S5cAyVI+v6uHVgUlQGkz5XMHYf0NVdaBm7HlSBo="  # Go's


def test_hash_zip_hashes_names_as_stored_bytes(tmp_path: Path) -> None:
    # Not UTF-8 at all: Python reads the name as cp437; Go hashes the bytes.
    raw = write_zip(tmp_path / "raw.zip", [("m@v1/@@@", b"raw"), ("m@v1/ok", b"ok")])
    patch_names(raw, b"m@v1/@@@", b"m@v1/\xff\xfe\x80")
    assert hash_zip(raw) == "h1:4fmq2zOe83b3GsvdUKuVC7sbm876RxvQz2glQ29juzg="  # Go's
    # UTF-8 bytes without the UTF-8 flag: the same bytes are hashed.
    noflag = write_zip(tmp_path / "noflag.zip", [("m@v1/été", b"summer")])
    patch_names(noflag, "m@v1/été".encode(), "m@v1/été".encode(), clear_utf8_flag=True)
    with zipfile.ZipFile(noflag) as zf:
        assert zf.infolist()[0].flag_bits & 0x800 == 0
    assert hash_zip(noflag) == "h1:MYnCTYt4KHyZpChPbijj4PeOXiTb0LCm2dX3j3UEmeg="  # Go's
    assert hash_zip(noflag) == summary_h1([("m@v1/été".encode(), b"summer")])


def test_hash_zip_refuses_newlines_in_names(tmp_path: Path) -> None:
    z = write_zip(tmp_path / "m.zip", [("m@v1/a\nb", b"x")])
    with pytest.raises(ArchiveError, match="newlines"):
        hash_zip(z)


def test_hash_zip_refuses_corrupt_zips(tmp_path: Path) -> None:
    (tmp_path / "not.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ArchiveError, match="not a readable zip"):
        hash_zip(tmp_path / "not.zip")
    z = write_zip(tmp_path / "m.zip", [("m@v1/f", b"content " * 100)])
    raw = bytearray(z.read_bytes())
    raw[60] ^= 0xFF  # inside the deflated data: a CRC or inflate error
    z.write_bytes(bytes(raw))
    with pytest.raises(ArchiveError):
        hash_zip(z)
    with pytest.raises(ArchiveError):
        hash_zip(tmp_path / "missing.zip")


def test_hash_zip_streams_large_members(tmp_path: Path) -> None:
    big = bytes(range(256)) * (3 << 12)  # 3 MiB: several read chunks
    z = write_zip(tmp_path / "m.zip", [("m@v1/big", big)])
    assert hash_zip(z) == summary_h1([(b"m@v1/big", big)])


def test_hash_dir_matches_the_zip(tmp_path: Path) -> None:
    # x/mod's TestHashDir: the tree hashes like a zip of prefix/...
    root = tmp_path / "tree"
    root.mkdir()
    (root / "xyz").write_bytes(b"data for xyz")
    (root / "abc").write_bytes(b"data for abc")
    assert hash_dir(root, "prefix") == "h1:rLyfpGMAgqOnGE2aKOY5Xb6cOc0/YQhPjHBHBwkblhs="


def test_hash_dir_walks_like_go(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    (root / "a" / "b").mkdir(parents=True)
    (root / "B").mkdir()
    (root / "a" / "b" / "f").write_bytes(b"one")
    (root / "B" / "g").write_bytes(b"two")
    (root / "empty").write_bytes(b"")
    (root / "link").symlink_to("a/b/f")  # a link to a file is hashed as the file
    (root / "\udcff\udcfename").write_bytes(b"raw")  # bytes 0xff 0xfe: not UTF-8
    # Go's HashDir over the same tree:
    assert (
        hash_dir(root, "example.com/m@v1.0.0") == "h1:aEZJdlvspC5H7clOnlkHLLcGUnjhLscU/DaC7FgRj1w="
    )
    assert hash_dir(root, "") == "h1:UIf3jaD5QXz5UMbWaCjAbkIHUXXKQi4Af+1klu/Ojos="


def test_hash_dir_refuses(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(ArchiveError, match="not a directory"):
        hash_dir(tmp_path / "file", "p")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a\nb").write_bytes(b"")
    with pytest.raises(ArchiveError, match="newlines"):
        hash_dir(tree, "p")
    (tree / "a\nb").unlink()
    (tree / "dirlink").symlink_to(tmp_path)  # a link to a directory cannot be read as a file
    with pytest.raises(ArchiveError, match="cannot read"):
        hash_dir(tree, "p")


def test_h1_hex() -> None:
    digest = hashlib.sha256(b"x").digest()
    assert h1_hex("h1:" + base64.b64encode(digest).decode()) == digest.hex()
    for bad in (
        "",
        "h2:" + base64.b64encode(digest).decode(),
        "h1:!!!!",
        "h1:" + base64.b64encode(digest[:31]).decode(),
        "h1:abc",
    ):
        with pytest.raises(IntegrityError):
            h1_hex(bad)


def test_hash1_from_known_digests(tmp_path: Path) -> None:
    def sha(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    # The same value as x/mod's TestHash1/TestHashZip, from digests computed elsewhere.
    digests = {"prefix/xyz": sha(b"data for xyz"), "prefix/abc": sha(b"data for abc")}
    assert hash1(digests) == "h1:rLyfpGMAgqOnGE2aKOY5Xb6cOc0/YQhPjHBHBwkblhs="
    assert hash1({k.encode(): v for k, v in digests.items()}) == hash1(digests)
    with pytest.raises(ArchiveError, match="newlines"):
        hash1({"a\nb": sha(b"")})


def test_zip_name_is_the_stored_bytes(tmp_path: Path) -> None:
    noflag = write_zip(tmp_path / "noflag.zip", [("m@v1/été", b"summer")])
    patch_names(noflag, "m@v1/été".encode(), "m@v1/été".encode(), clear_utf8_flag=True)
    flagged = write_zip(tmp_path / "flagged.zip", [("m@v1/été", b"summer")])
    for z in (noflag, flagged):
        with zipfile.ZipFile(z) as zf:
            assert [zip_name(i) for i in zf.infolist()] == ["m@v1/été".encode()]

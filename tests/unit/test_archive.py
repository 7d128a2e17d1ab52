"""Tests for gobuild.archive: the allowlist extractor and remove_tree."""

from __future__ import annotations

import gzip
import io
import os
import random
import stat
import struct
import tarfile
import warnings
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from gobuild.atomic import remove_tree
from gobuild.errors import ArchiveError
from gobuild.toolchain.archive.allowlist import Limits
from gobuild.toolchain.archive.extract import Stats, extract

VERSION = b"go1.22.10\ntime 2024-12-03T17:59:27Z\n"
GO_BIN = b"\x7fELF" + bytes(range(256)) * 2


# --- tar builders -------------------------------------------------------------------

TarMember = tuple[tarfile.TarInfo, bytes | None]


def tdir(name: str, mode: int = 0o755) -> TarMember:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    return info, None


def tfile(name: str, data: bytes = b"data\n", mode: int = 0o644) -> TarMember:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    return info, data


def tspecial(name: str, kind: bytes, linkname: str = "") -> TarMember:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = 0o644
    if kind == tarfile.CHRTYPE:
        info.devmajor, info.devminor = 1, 3
    return info, None


def valid_tar_members() -> list[TarMember]:
    return [
        tdir("go/"),
        tdir("go/bin/"),
        tfile("go/VERSION", VERSION),
        tfile("go/bin/go", GO_BIN, 0o755),
    ]


def tar_gz(members: Sequence[TarMember]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


# --- zip builders -------------------------------------------------------------------

ZipMember = tuple[zipfile.ZipInfo, bytes]


def zentry(name: str, data: bytes = b"data\n", mode: int | None = None) -> ZipMember:
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    if mode is None:
        mode = (stat.S_IFDIR | 0o755) if name.endswith("/") else (stat.S_IFREG | 0o644)
    info.external_attr = mode << 16
    return info, data


def valid_zip_members() -> list[ZipMember]:
    return [
        zentry("go/", b""),
        zentry("go/bin/", b""),
        zentry("go/VERSION", VERSION),
        zentry("go/bin/go", GO_BIN, stat.S_IFREG | 0o755),
    ]


def zip_bytes(members: Sequence[ZipMember], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # zipfile warns about duplicate names but writes them: some tests want that.
        warnings.simplefilter("ignore", UserWarning)
        with zipfile.ZipFile(buf, "w", compression=compression) as zf:
            for info, data in members:
                info.compress_type = compression
                zf.writestr(info, data)
    return buf.getvalue()


# --- helpers ----------------------------------------------------------------------------


def snapshot(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


class Layout:
    """An archive under ``tmp_path/in`` and a destination under ``tmp_path/out``."""

    def __init__(self, tmp_path: Path, filename: str, data: bytes) -> None:
        self.tmp_path = tmp_path
        (tmp_path / "in").mkdir(exist_ok=True)
        (tmp_path / "out").mkdir(exist_ok=True)
        self.archive = tmp_path / "in" / filename
        self.archive.write_bytes(data)
        self.dest = tmp_path / "out" / "dest"

    def extract(
        self, *, limits: Limits | None = None, skip: Callable[[str], bool] | None = None
    ) -> Stats:
        return extract(self.archive, self.dest, limits=limits, skip=skip)

    def rejected(
        self,
        *,
        limits: Limits | None = None,
        skip: Callable[[str], bool] | None = None,
    ) -> str:
        """Extract, expecting ArchiveError; check nothing was left anywhere; return the message."""
        before = snapshot(self.tmp_path)
        with pytest.raises(ArchiveError) as exc_info:
            self.extract(limits=limits, skip=skip)
        assert not self.dest.exists()
        assert snapshot(self.tmp_path) == before
        message = str(exc_info.value)
        assert self.archive.name in message
        return message


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


# --- valid archives -----------------------------------------------------------------------


def test_extract_valid_tar_gz(tmp_path: Path) -> None:
    layout = Layout(tmp_path, "go1.22.10.linux-amd64.tar.gz", tar_gz(valid_tar_members()))
    stats = layout.extract()
    dest = layout.dest
    assert snapshot(dest) == {"go", "go/bin", "go/VERSION", "go/bin/go"}
    assert (dest / "go" / "VERSION").read_bytes() == VERSION
    assert (dest / "go" / "bin" / "go").read_bytes() == GO_BIN
    assert (dest / "go" / "bin").is_dir()
    assert mode_of(dest / "go" / "bin" / "go") == 0o555  # exec kept, read-only
    assert mode_of(dest / "go" / "VERSION") == 0o444
    assert stats == Stats(entries=4, bytes=len(VERSION) + len(GO_BIN))


def test_extract_valid_tgz_and_dot_prefix(tmp_path: Path) -> None:
    members = [tdir("./go/"), tfile("./go/VERSION", VERSION), tfile("./go/bin/go", GO_BIN, 0o755)]
    layout = Layout(tmp_path, "go.tgz", tar_gz(members))
    stats = layout.extract()
    assert snapshot(layout.dest) == {"go", "go/bin", "go/VERSION", "go/bin/go"}
    assert mode_of(layout.dest / "go" / "bin" / "go") & 0o111 == 0o111
    assert stats.entries == 3


@pytest.mark.parametrize("suffix", [".zip", ".whl"])
def test_extract_valid_zip(tmp_path: Path, suffix: str) -> None:
    layout = Layout(tmp_path, f"go-1.22.10{suffix}", zip_bytes(valid_zip_members()))
    stats = layout.extract()
    dest = layout.dest
    assert snapshot(dest) == {"go", "go/bin", "go/VERSION", "go/bin/go"}
    assert (dest / "go" / "VERSION").read_bytes() == VERSION
    assert (dest / "go" / "bin" / "go").read_bytes() == GO_BIN
    assert mode_of(dest / "go" / "bin" / "go") == 0o555  # exec kept, read-only
    assert mode_of(dest / "go" / "VERSION") == 0o444
    assert stats == Stats(entries=4, bytes=len(VERSION) + len(GO_BIN))


def test_extract_zip_without_directory_entries_or_modes(tmp_path: Path) -> None:
    # Zips written on other systems may lack directory entries and Unix modes.
    members = [zentry("go/VERSION", VERSION, 0), zentry("go/bin/go", GO_BIN, 0)]
    layout = Layout(tmp_path, "go.zip", zip_bytes(members, zipfile.ZIP_STORED))
    layout.extract()
    assert (layout.dest / "go" / "bin" / "go").read_bytes() == GO_BIN
    assert mode_of(layout.dest / "go" / "bin" / "go") == 0o444


def test_extract_refuses_existing_destination(tmp_path: Path) -> None:
    layout = Layout(tmp_path, "go.tar.gz", tar_gz(valid_tar_members()))
    layout.dest.mkdir()
    (layout.dest / "keep").write_text("mine")
    with pytest.raises(FileExistsError):
        layout.extract()
    assert (layout.dest / "keep").read_text() == "mine"


# --- hostile tar archives -------------------------------------------------------------------

HOSTILE_TAR: list[tuple[str, TarMember, str]] = [
    ("absolute", tfile("/etc/x"), "absolute path"),
    ("dotdot-inside-go", tfile("go/../../evil"), "'..' in path"),
    ("dotdot", tfile("../evil"), "'..' in path"),
    ("symlink", tspecial("go/link", tarfile.SYMTYPE, "/etc/passwd"), "symlink"),
    ("relative-symlink", tspecial("go/up", tarfile.SYMTYPE, "../../.."), "symlink"),
    ("hardlink", tspecial("go/hard", tarfile.LNKTYPE, "go/VERSION"), "hardlink"),
    ("chardev", tspecial("go/null", tarfile.CHRTYPE), "device"),
    ("blockdev", tspecial("go/sda", tarfile.BLKTYPE), "device"),
    ("fifo", tspecial("go/fifo", tarfile.FIFOTYPE), "fifo"),
    ("setuid", tfile("go/bin/suid", b"x", 0o4755), "setuid, setgid or sticky bit"),
    ("setgid", tfile("go/bin/sgid", b"x", 0o2755), "setuid, setgid or sticky bit"),
    ("sticky-dir", tdir("go/tmp", 0o1777), "setuid, setgid or sticky bit"),
    ("duplicate", tfile("go/VERSION", b"go9.9.9\n"), "duplicate name"),
    ("duplicate-normalised", tfile("./go/bin/go", b"evil"), "duplicate name"),
    ("outside-go", tfile("other/file"), "outside the go/ folder"),
    ("go-prefix-lookalike", tfile("gopher/file"), "outside the go/ folder"),
    ("backslash", tfile("go\\..\\..\\evil"), "illegal character"),
]


@pytest.mark.parametrize(
    ("member", "reason"),
    [pytest.param(m, r, id=i) for i, m, r in HOSTILE_TAR],
)
def test_tar_hostile_member(tmp_path: Path, member: TarMember, reason: str) -> None:
    etc_x_existed = Path("/etc/x").exists()
    layout = Layout(tmp_path, "go.tar.gz", tar_gz([*valid_tar_members(), member]))
    message = layout.rejected()
    assert f"rejected member {member[0].name!r}" in message
    assert reason in message
    assert Path("/etc/x").exists() == etc_x_existed
    assert not (tmp_path / "evil").exists()


def test_tar_absolute_name_inside_tmp_path(tmp_path: Path) -> None:
    target = tmp_path / "planted"
    layout = Layout(tmp_path, "go.tar.gz", tar_gz([*valid_tar_members(), tfile(str(target))]))
    message = layout.rejected()
    assert repr(str(target)) in message
    assert "absolute path" in message
    assert not target.exists()


@pytest.mark.parametrize(
    ("limits", "members", "bad", "reason"),
    [
        pytest.param(
            Limits(max_entries=3), valid_tar_members(), "go/bin/go", "more than 3 entries", id="n"
        ),
        pytest.param(
            Limits(max_total_bytes=50, max_file_bytes=40),
            [tdir("go/"), tfile("go/a", b"a" * 30), tfile("go/b", b"b" * 30)],
            "go/b",
            "archive expands beyond 50 bytes",
            id="total",
        ),
        pytest.param(
            Limits(max_file_bytes=len(GO_BIN) - 1),
            valid_tar_members(),
            "go/bin/go",
            f"larger than {len(GO_BIN) - 1} bytes",
            id="file",
        ),
    ],
)
def test_tar_limits(
    tmp_path: Path, limits: Limits, members: list[TarMember], bad: str, reason: str
) -> None:
    layout = Layout(tmp_path, "go.tar.gz", tar_gz(members))
    message = layout.rejected(limits=limits)
    assert f"rejected member {bad!r}" in message
    assert reason in message


def test_tar_limits_exactly_at_the_bound_pass(tmp_path: Path) -> None:
    layout = Layout(tmp_path, "go.tar.gz", tar_gz(valid_tar_members()))
    total = len(VERSION) + len(GO_BIN)
    stats = layout.extract(
        limits=Limits(max_entries=4, max_total_bytes=total, max_file_bytes=len(GO_BIN))
    )
    assert stats == Stats(entries=4, bytes=total)


def test_tar_hostile_member_after_many_valid_ones(tmp_path: Path) -> None:
    members = valid_tar_members()
    members += [tfile(f"go/src/pkg{i}/file{i}.go", b"package p\n" * 50) for i in range(300)]
    members.append(tspecial("go/src/evil", tarfile.SYMTYPE, "/etc/shadow"))
    layout = Layout(tmp_path, "go.tar.gz", tar_gz(members))
    message = layout.rejected()
    assert "'go/src/evil'" in message


def _random_payload(n: int) -> bytes:
    return random.Random(42).randbytes(n)


def _gzip_prefix_at_next_member(members: Sequence[TarMember], name: str) -> bytes:
    """A .tar.gz cut off, on a compressed-byte boundary, just before member ``name``.

    A sync flush makes the deflate stream end exactly there, so the cut is the
    same whatever the zlib version: what a download that stopped early looks like.
    """
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    with tarfile.open(fileobj=io.BytesIO(raw.getvalue())) as tar:
        cut = tar.getmember(name).offset
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = deflate.compress(raw.getvalue()[:cut]) + deflate.flush(zlib.Z_SYNC_FLUSH)
    return header + body


def _truncated(how: str) -> bytes:
    if how == "at-member-boundary":
        return _gzip_prefix_at_next_member(valid_tar_members(), "go/bin/go")
    if how == "mid-member":
        # Incompressible contents, cut inside go/bin/go's data.
        members = [*valid_tar_members()[:3], tfile("go/bin/go", _random_payload(200_000), 0o755)]
        data = tar_gz(members)
        return data[: len(data) // 2]
    data = tar_gz(valid_tar_members())
    if how == "half":
        return data[: len(data) // 2]
    if how == "no-gzip-trailer":
        return data[:-8]  # the CRC-32 and length that end every gzip member
    if how == "bad-gzip-crc":
        damaged = bytearray(data)
        damaged[-8] ^= 0xFF
        return bytes(damaged)
    raise AssertionError(how)


@pytest.mark.parametrize(
    "how", ["half", "mid-member", "at-member-boundary", "no-gzip-trailer", "bad-gzip-crc"]
)
def test_tar_truncated_or_corrupt(tmp_path: Path, how: str) -> None:
    layout = Layout(tmp_path, "go.tar.gz", _truncated(how))
    message = layout.rejected()
    assert "corrupt" in message


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"this is not a gzip file\n" * 20, id="text"),
        pytest.param(b"", id="empty-file"),
        pytest.param(zip_bytes(valid_zip_members()), id="zip-named-tar-gz"),
    ],
)
def test_tar_not_gzip(tmp_path: Path, data: bytes) -> None:
    layout = Layout(tmp_path, "go.tar.gz", data)
    message = layout.rejected()
    assert "corrupt or truncated archive" in message


def test_tar_gzip_of_garbage(tmp_path: Path) -> None:
    layout = Layout(tmp_path, "go.tar.gz", gzip.compress(b"\x01garbage, not tar" * 100))
    message = layout.rejected()
    assert "corrupt" in message


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        pytest.param("go.tar.gz", tar_gz([]), id="empty-tar"),
        pytest.param("go.zip", zip_bytes([]), id="empty-zip"),
    ],
)
def test_no_go_folder(tmp_path: Path, filename: str, data: bytes) -> None:
    layout = Layout(tmp_path, filename, data)
    message = layout.rejected()
    assert "no go/ folder in the archive" in message


def test_no_go_folder_when_everything_is_skipped(tmp_path: Path) -> None:
    layout = Layout(tmp_path, "go.tar.gz", tar_gz(valid_tar_members()))
    message = layout.rejected(skip=lambda name: True)
    assert "no go/ folder in the archive" in message


def test_unknown_format(tmp_path: Path) -> None:
    layout = Layout(tmp_path, "go.tar.xz", tar_gz(valid_tar_members()))
    message = layout.rejected()
    assert "unknown archive format" in message


# --- hostile zip archives ------------------------------------------------------------------

HOSTILE_ZIP: list[tuple[str, ZipMember, str]] = [
    ("symlink", zentry("go/link", b"/etc/passwd", stat.S_IFLNK | 0o777), "symlink"),
    ("fifo", zentry("go/fifo", b"", stat.S_IFIFO | 0o644), "fifo"),
    ("chardev", zentry("go/null", b"", stat.S_IFCHR | 0o644), "device"),
    ("setuid", zentry("go/bin/suid", b"x", stat.S_IFREG | 0o4755), "setuid"),
    ("setgid", zentry("go/bin/sgid", b"x", stat.S_IFREG | 0o2755), "setgid"),
    ("dotdot", zentry("../x"), "'..' in path"),
    ("dotdot-inside-go", zentry("go/../../x"), "'..' in path"),
    ("absolute", zentry("/etc/x"), "absolute path"),
    ("drive-letter", zentry("C:/x"), "absolute path"),
    ("duplicate", zentry("go/VERSION", b"go9.9.9\n"), "duplicate name"),
    ("outside-go", zentry("other/file"), "outside the go/ folder"),
    ("dist-info-not-skipped", zentry("pkg.dist-info/RECORD"), "outside the go/ folder"),
]


@pytest.mark.parametrize(
    ("member", "reason"),
    [pytest.param(m, r, id=i) for i, m, r in HOSTILE_ZIP],
)
def test_zip_hostile_member(tmp_path: Path, member: ZipMember, reason: str) -> None:
    etc_x_existed = Path("/etc/x").exists()
    layout = Layout(tmp_path, "go.whl", zip_bytes([*valid_zip_members(), member]))
    message = layout.rejected()
    assert f"rejected member {member[0].filename!r}" in message
    assert reason in message
    assert Path("/etc/x").exists() == etc_x_existed
    assert not (tmp_path / "x").exists()


def test_zip_duplicate_is_really_in_the_archive() -> None:
    # Guard for the duplicate-name case above: zipfile must have kept both entries.
    data = zip_bytes([*valid_zip_members(), zentry("go/VERSION", b"go9.9.9\n")])
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert [i.filename for i in zf.infolist()].count("go/VERSION") == 2


@pytest.mark.parametrize(
    ("limits", "bad", "reason"),
    [
        pytest.param(Limits(max_entries=3), "go/bin/go", "more than 3 entries", id="n"),
        pytest.param(
            Limits(max_total_bytes=len(VERSION) + len(GO_BIN) - 1),
            "go/bin/go",
            "archive expands beyond",
            id="total",
        ),
        pytest.param(Limits(max_file_bytes=len(VERSION)), "go/bin/go", "larger than", id="file"),
    ],
)
def test_zip_limits(tmp_path: Path, limits: Limits, bad: str, reason: str) -> None:
    layout = Layout(tmp_path, "go.zip", zip_bytes(valid_zip_members()))
    message = layout.rejected(limits=limits)
    assert f"rejected member {bad!r}" in message
    assert reason in message


def test_zip_hostile_member_after_many_valid_ones(tmp_path: Path) -> None:
    members = valid_zip_members()
    members += [zentry(f"go/src/pkg{i}/file{i}.go", b"package p\n" * 50) for i in range(300)]
    members.append(zentry("go/src/evil", b"/etc/shadow", stat.S_IFLNK | 0o777))
    layout = Layout(tmp_path, "go.zip", zip_bytes(members))
    message = layout.rejected()
    assert "'go/src/evil'" in message


def _patch_uncompressed_size(data: bytes, name: bytes, new_size: int) -> bytes:
    """Rewrite the declared uncompressed size of ``name`` in both zip headers."""
    out = bytearray(data)
    patched = 0
    # Local file header: signature, then uncompressed size at offset 22, name at 30.
    # Central directory header: uncompressed size at offset 24, name at 46.
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = 0
        while (i := out.find(signature, start)) != -1:
            if out[i + name_at : i + name_at + len(name)] == name:
                struct.pack_into("<I", out, i + size_at, new_size)
                patched += 1
            start = i + 4
    assert patched == 2
    return bytes(out)


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_zip_member_larger_than_declared(tmp_path: Path, compression: int) -> None:
    real = _random_payload(100_000)
    data = zip_bytes([*valid_zip_members(), zentry("go/big", real)], compression)
    data = _patch_uncompressed_size(data, b"go/big", 10)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.getinfo("go/big").file_size == 10
    layout = Layout(tmp_path, "go.zip", data)
    # The declared size passes the per-file limit; the real data does not.
    message = layout.rejected(limits=Limits(max_file_bytes=1000))
    assert "'go/big'" in message


def test_zip_not_a_zip(tmp_path: Path) -> None:
    layout = Layout(tmp_path, "go.zip", b"PK but not really a zip file" * 10)
    message = layout.rejected()
    assert "corrupt archive" in message


def test_zip_corrupt_member_data(tmp_path: Path) -> None:
    data = bytearray(zip_bytes(valid_zip_members(), zipfile.ZIP_STORED))
    offset = bytes(data).index(GO_BIN)
    data[offset + 100] ^= 0xFF  # the stored CRC no longer matches
    layout = Layout(tmp_path, "go.zip", bytes(data))
    message = layout.rejected()
    assert "'go/bin/go'" in message


def test_zip_skip_callback_ignores_dist_info(tmp_path: Path) -> None:
    members = [
        *valid_zip_members(),
        zentry("pkg.dist-info/", b""),
        zentry("pkg.dist-info/METADATA", b"Metadata-Version: 2.1\nName: pkg\n"),
        zentry("pkg.dist-info/RECORD", b"go/VERSION,,\n"),
        # Skipped members are not checked, so even a symlink there is ignored.
        zentry("pkg.dist-info/link", b"/etc/passwd", stat.S_IFLNK | 0o777),
    ]
    layout = Layout(tmp_path, "go-1.22.10-py3-none-manylinux.whl", zip_bytes(members))
    seen: list[str] = []

    def skip(name: str) -> bool:
        seen.append(name)
        return name.startswith("pkg.dist-info/")

    stats = layout.extract(skip=skip)
    assert snapshot(layout.dest) == {"go", "go/bin", "go/VERSION", "go/bin/go"}
    assert stats == Stats(entries=4, bytes=len(VERSION) + len(GO_BIN))
    assert "pkg.dist-info/METADATA" in seen
    assert "go/VERSION" in seen


def test_tar_skip_callback(tmp_path: Path) -> None:
    members = [*valid_tar_members(), tfile("pkg.dist-info/RECORD")]
    layout = Layout(tmp_path, "go.tar.gz", tar_gz(members))
    stats = layout.extract(skip=lambda name: name.startswith("pkg.dist-info/"))
    assert stats.entries == 4
    assert not (layout.dest / "pkg.dist-info").exists()


# --- read-only results and remove_tree ------------------------------------------------------


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_extracted_tree_is_read_only_and_keeps_exec_bits(tmp_path: Path, kind: str) -> None:
    if kind == "tar":
        layout = Layout(tmp_path, "go.tar.gz", tar_gz(valid_tar_members()))
    else:
        layout = Layout(tmp_path, "go.whl", zip_bytes(valid_zip_members()))
    layout.extract()
    paths = [layout.dest, *layout.dest.rglob("*")]
    for p in paths:
        mode = mode_of(p)
        assert mode & 0o222 == 0, f"{p} is writable: {oct(mode)}"
        if p.is_dir():
            assert mode == 0o555, f"{p}: {oct(mode)}"
    assert mode_of(layout.dest / "go" / "bin" / "go") == 0o555  # still executable
    assert mode_of(layout.dest / "go" / "VERSION") == 0o444
    assert (layout.dest / "go" / "VERSION").read_bytes() == VERSION


def test_remove_tree_extracted_read_only_toolchain(tmp_path: Path) -> None:
    layout = Layout(tmp_path, "go.tar.gz", tar_gz(valid_tar_members()))
    layout.extract()
    assert mode_of(layout.dest / "go" / "bin") == 0o555
    remove_tree(layout.dest)
    assert not layout.dest.exists()
    assert (tmp_path / "out").is_dir()


def test_remove_tree_missing_is_a_no_op(tmp_path: Path) -> None:
    remove_tree(tmp_path / "missing")
    assert not (tmp_path / "missing").exists()


def test_remove_tree_file(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    f.chmod(0o444)
    remove_tree(f)
    assert not f.exists()


def test_remove_tree_symlink_removes_only_the_link(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (target / "keep").write_text("x")
    link = tmp_path / "link"
    link.symlink_to(target, target_is_directory=True)
    remove_tree(link)
    assert not link.is_symlink()
    assert (target / "keep").read_text() == "x"
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    remove_tree(dangling)
    assert not os.path.lexists(dangling)


# --- several writers (helper processes) ------------------------------------------------------


def many_members() -> list[TarMember]:
    """A tree of 4 directories and 60 files, some executable, sizes 0 to ~200 KiB."""
    members = [*valid_tar_members()]
    rng = random.Random(7)
    for d in ("src", "src/net", "pkg/tool", "misc"):
        members.append(tdir(f"go/{d}/"))
        for i in range(15):
            size = rng.choice([0, 1, 511, 512, 513, 4096, 200_000])
            mode = 0o755 if i % 4 == 0 else 0o644
            members.append(tfile(f"go/{d}/f{i}", rng.randbytes(size), mode))
    return members


def tree_of(root: Path) -> dict[str, tuple[int, bytes | None]]:
    return {
        p.relative_to(root).as_posix(): (mode_of(p), p.read_bytes() if p.is_file() else None)
        for p in root.rglob("*")
    }


@pytest.mark.parametrize("writers", [2, 3])
def test_helper_writers_write_the_same_tree_as_one_writer(tmp_path: Path, writers: int) -> None:
    data = tar_gz(many_members())
    (tmp_path / "one").mkdir()
    (tmp_path / "many").mkdir()
    one = Layout(tmp_path / "one", "go.tar.gz", data)
    many = Layout(tmp_path / "many", "go.tar.gz", data)
    stats_one = extract(one.archive, one.dest, writers=1)
    stats_many = extract(many.archive, many.dest, writers=writers)
    assert stats_one == stats_many
    assert tree_of(one.dest) == tree_of(many.dest)
    assert len(tree_of(many.dest)) == len(many_members()) + 1  # and go/pkg, for go/pkg/tool
    assert mode_of(many.dest / "go" / "src") == 0o555  # sealed after the helpers finished
    # No temp .tar left beside the tree.
    assert snapshot(tmp_path / "many" / "out") == {"dest"} | {
        f"dest/{p}" for p in snapshot(many.dest)
    }


@pytest.mark.parametrize("writers", [1, 2, 3])
def test_conflicting_entries_rejected_by_any_writer(tmp_path: Path, writers: int) -> None:
    # go/x is a file, and go/x/y needs it to be a directory: the allowlist cannot see
    # that (different names), creating the tree does, in whichever writer gets there.
    members = [*many_members(), tfile("go/x", b"file"), tfile("go/x/y", b"under a file")]
    layout = Layout(tmp_path, "go.tar.gz", tar_gz(members))
    before = snapshot(tmp_path)
    with pytest.raises(ArchiveError, match="conflicting entries"):
        extract(layout.archive, layout.dest, writers=writers)
    assert not layout.dest.exists()
    assert snapshot(tmp_path) == before

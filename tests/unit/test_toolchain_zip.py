"""Extracting golang.org/toolchain module zips (archive.extract.extract_toolchain_zip)."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from gobuild.errors import ArchiveError
from gobuild.modules.dirhash import hash_zip
from gobuild.toolchain.archive.extract import extract_toolchain_zip

PREFIX = "golang.org/toolchain@v0.0.1-go1.22.10.linux-amd64"


def make_zip(path: Path, files: dict[str, bytes], mode: int = 0) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


def toolchain_files(extra: int = 0) -> dict[str, bytes]:
    files = {
        f"{PREFIX}/VERSION": b"go1.22.10\n",
        f"{PREFIX}/bin/go": b"\x7fELF go",
        f"{PREFIX}/bin/gofmt": b"\x7fELF gofmt",
        f"{PREFIX}/pkg/tool/linux_amd64/compile": b"\x7fELF compile",
        f"{PREFIX}/lib/wasm/go_js_wasm_exec": b"#!/bin/sh\n",
        f"{PREFIX}/lib/time/zoneinfo.zip": b"zones",
        f"{PREFIX}/src/_go.mod": b"module std\n",
        f"{PREFIX}/src/cmd/_go.mod": b"module cmd\n",
        f"{PREFIX}/src/fmt/print.go": b"package fmt\n",
    }
    files.update({f"{PREFIX}/src/x/f{i}.go": f"package x // {i}\n".encode() for i in range(extra)})
    return files


@pytest.mark.parametrize("writers", [1, 2])
def test_tree_modes_go_mod_and_h1(tmp_path: Path, writers: int) -> None:
    archive = make_zip(tmp_path / "t.zip", toolchain_files(extra=200))
    stats, h1 = extract_toolchain_zip(archive, tmp_path / "out", prefix=PREFIX, writers=writers)
    goroot = tmp_path / "out" / "go"
    assert h1 == hash_zip(archive)  # computed from what was written, equal to Go's dirhash
    assert stats.entries == len(toolchain_files(extra=200))

    def executable(rel: str) -> bool:
        return bool((goroot / rel).stat().st_mode & stat.S_IXUSR)

    for rel in ("bin/go", "bin/gofmt", "pkg/tool/linux_amd64/compile", "lib/wasm/go_js_wasm_exec"):
        assert executable(rel), rel
    for rel in ("VERSION", "lib/time/zoneinfo.zip", "src/fmt/print.go", "src/go.mod"):
        assert not executable(rel), rel
    # Every _go.mod keeps its name (it is part of the hashed tree) and gets its go.mod back.
    assert (goroot / "src/go.mod").read_bytes() == b"module std\n"
    assert (goroot / "src/cmd/go.mod").read_bytes() == b"module cmd\n"
    assert (goroot / "src/_go.mod").exists()
    # Read-only, as every installed toolchain.
    assert not (goroot / "src/fmt/print.go").stat().st_mode & 0o222
    assert not (goroot / "src").stat().st_mode & 0o222


@pytest.mark.parametrize(
    ("files", "mode", "why"),
    [
        ({"golang.org/toolchain@v0.0.1-go1.21.0.linux-amd64/bin/go": b"x"}, 0, "outside"),
        ({f"{PREFIX}/../evil": b"x"}, 0, "'..'"),
        ({f"{PREFIX}/bin/go": b"x"}, stat.S_IFLNK | 0o777, "not a regular file"),
        ({f"{PREFIX}/bin/go": b"x"}, stat.S_IFREG | stat.S_ISUID | 0o755, "setuid"),
    ],
)
def test_rejected_members_leave_nothing(
    tmp_path: Path, files: dict[str, bytes], mode: int, why: str
) -> None:
    archive = make_zip(tmp_path / "t.zip", files, mode)
    with pytest.raises(ArchiveError, match=why):
        extract_toolchain_zip(archive, tmp_path / "out", prefix=PREFIX)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("writers", [1, 2])
def test_member_that_is_not_its_declared_size_is_refused(tmp_path: Path, writers: int) -> None:
    archive = make_zip(tmp_path / "t.zip", toolchain_files(extra=50))
    raw = bytearray(archive.read_bytes())
    # Declare VERSION (10 bytes) as 5 in its central-directory entry (name at +46, size at +24).
    header = raw.find(f"{PREFIX}/VERSION".encode(), raw.find(b"PK\x01\x02")) - 46
    assert raw[header : header + 4] == b"PK\x01\x02"
    raw[header + 24 : header + 28] = (5).to_bytes(4, "little")
    archive.write_bytes(bytes(raw))
    with pytest.raises(ArchiveError, match="corrupt member"):
        extract_toolchain_zip(archive, tmp_path / "out", prefix=PREFIX, writers=writers)
    assert not (tmp_path / "out").exists()


def test_corrupt_zip(tmp_path: Path) -> None:
    archive = tmp_path / "t.zip"
    archive.write_bytes(b"not a zip at all")
    with pytest.raises(ArchiveError, match="corrupt"):
        extract_toolchain_zip(archive, tmp_path / "out", prefix=PREFIX)


def test_no_files_under_prefix(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "t.zip", {})
    with pytest.raises(ArchiveError, match="no files"):
        extract_toolchain_zip(archive, tmp_path / "out", prefix=PREFIX)

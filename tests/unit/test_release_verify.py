"""gobuild release verify: a release directory against its record and SHA256SUMS.

Releases written here by hand in the record's format (tests/functional/test_release.py
makes real ones); each tampering is named in one line and fails the command."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest

from gobuild.cli import main as cli
from gobuild.release import record
from gobuild.release.verify import verify

FILES = {"a_1.0.0_linux_amd64.tar.gz": b"archive-a", "b_1.0.0_windows_amd64.zip": b"zip-b"}


def write_release(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name, data in FILES.items():
        (folder / name).write_bytes(data)
    sums = "".join(f"{hashlib.sha256(d).hexdigest()}  {n}\n" for n, d in sorted(FILES.items()))
    (folder / "SHA256SUMS").write_text(sums)
    listed = [record.artifact(folder / n, "archive", n[0], "linux/amd64") for n in FILES]
    listed.append(record.artifact(folder / "SHA256SUMS", "checksums"))
    made = record.Record("example.com/m", "v1.0.0", "c" * 40, "2024-01-01T00:00:00Z",
                         False, "1.22.10", tuple(listed))  # fmt: skip
    record.write(folder, made)
    return folder


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_a_whole_release_verifies(tmp_path: Path) -> None:
    folder = write_release(tmp_path / "rel")
    verdict = verify(folder)
    assert verdict.ok and sorted(verdict.checked) == sorted([*FILES, "SHA256SUMS"])
    code, out, err = run("release", "verify", str(folder))
    assert (code, err) == (0, "") and out == f"{folder}: 3 artifacts verified\n"


def test_a_changed_byte_is_named_with_both_digests(tmp_path: Path) -> None:
    folder = write_release(tmp_path / "rel")
    name = "a_1.0.0_linux_amd64.tar.gz"
    (folder / name).write_bytes(b"archive-A")
    code, _, err = run("release", "verify", str(folder))
    assert code == 1
    lines = err.splitlines()
    expected = hashlib.sha256(b"archive-A").hexdigest()
    assert lines[0] == (
        f"gobuild: {name}: sha256 {expected} (9 bytes), the record says "
        f"{hashlib.sha256(b'archive-a').hexdigest()} (9 bytes)"
    )
    assert lines[-1] == f"gobuild: {folder}: 1 problem(s)"


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (
            lambda f: (f / "b_1.0.0_windows_amd64.zip").unlink(),
            "b_1.0.0_windows_amd64.zip: missing",
        ),
        (lambda f: (f / "extra.txt").write_text("x"), "extra.txt: not in the record"),
        (
            lambda f: (f / "SHA256SUMS").write_text("0" * 64 + "  a_1.0.0_linux_amd64.tar.gz\n"),
            "SHA256SUMS: sha256",
        ),
    ],
)
def test_each_tampering_is_one_line(tmp_path: Path, tamper: object, problem: str) -> None:
    folder = write_release(tmp_path / "rel")
    assert callable(tamper)
    tamper(folder)
    verdict = verify(folder)
    assert not verdict.ok
    assert any(p.startswith(problem) for p in verdict.problems), verdict.problems


def test_sums_that_disagree_with_the_record_are_named(tmp_path: Path) -> None:
    folder = write_release(tmp_path / "rel")
    data = json.loads((folder / "release.json").read_text())
    for entry in data["artifacts"]:
        if entry["name"] == "SHA256SUMS":
            bad = "0" * 64 + "  a_1.0.0_linux_amd64.tar.gz\n"
            (folder / "SHA256SUMS").write_text(bad)
            entry["sha256"] = hashlib.sha256(bad.encode()).hexdigest()
            entry["size"] = len(bad)
    (folder / "release.json").write_text(json.dumps(data))
    verdict = verify(folder)
    assert verdict.problems == (
        f"SHA256SUMS line 1: a_1.0.0_linux_amd64.tar.gz {'0' * 64}, the record says "
        f"{hashlib.sha256(b'archive-a').hexdigest()}",
    )


def test_no_record_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, _, err = run("release", "verify", str(tmp_path / "empty"))
    assert code == 1
    assert (
        err
        == f"gobuild: error: {tmp_path / 'empty' / 'release.json'} does not exist: not a gobuild release\n"
    )

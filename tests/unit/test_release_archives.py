"""What each release archive holds and is called (no Go: the plans alone; the bytes are
tests/functional/test_release.py's)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gobuild.builds.plan import dist_plans
from gobuild.errors import ConfigError
from gobuild.project.config import Project, load_project
from gobuild.project.environ import Environment
from gobuild.release.archives import Member, archive_plans, release_files, version_label
from tests.buildenv import FIXTURES


def project(tmp_path: Path, extra: str = "") -> Project:
    root = tmp_path / "proj"
    shutil.copytree(FIXTURES / "twobin", root)
    (root / "LICENSE").write_text("MIT\n")
    (root / "gobuild.toml").write_text(
        '[go]\nversion = "1.22.10"\n\n[dist]\n'
        'platforms = ["linux/amd64", "linux/amd64/v3", "windows/arm64"]\n' + extra
    )
    return load_project(root, Environment({"GOBUILD_CACHE": str(tmp_path / "cache")}))


def test_one_archive_per_dist_binary_named_with_version_and_platform(tmp_path: Path) -> None:
    p = project(tmp_path)
    plans = archive_plans(p, dist_plans(p, "1.22.10"))
    assert [a.name_for("1.2.3") for a in plans] == [
        "a_1.2.3_linux_amd64.tar.gz",
        "a_1.2.3_linux_amd64_v3.tar.gz",
        "a_1.2.3_windows_arm64.zip",
        "b_1.2.3_linux_amd64.tar.gz",
        "b_1.2.3_linux_amd64_v3.tar.gz",
        "b_1.2.3_windows_arm64.zip",
    ]
    assert [a.platform for a in plans[:3]] == ["linux/amd64", "linux/amd64/v3", "windows/arm64"]
    assert plans[2].members == (
        Member(0o755, "a.exe", "dist/a_windows_arm64.exe"),
        Member(0o644, "LICENSE", "LICENSE"),
        Member(0o644, "README.md", "README.md"),
    )
    assert plans[1].members[0] == Member(0o755, "a", "dist/a_linux_amd64_v3")
    assert plans[0].members[0].operand(Path("/r")) == "0755:a=/r/dist/a_linux_amd64"


def test_default_files_are_what_the_project_has(tmp_path: Path) -> None:
    p = project(tmp_path)
    assert release_files(p) == ["LICENSE", "README.md"]
    (p.root / "LICENSE").unlink()
    assert release_files(p) == ["README.md"]


def test_configured_files_must_each_match(tmp_path: Path) -> None:
    p = project(tmp_path, '\n[release]\nfiles = ["LICENSE", "docs/*.md"]\n')
    with pytest.raises(ConfigError, match=r"release\.files: 'docs/\*\.md' matches no file"):
        release_files(p)
    (p.root / "docs").mkdir()
    (p.root / "docs" / "USAGE.md").write_text("use it\n")
    assert release_files(p) == ["LICENSE", "docs/USAGE.md"]
    plan = archive_plans(p, dist_plans(p, "1.22.10"))[0]
    assert [m.name for m in plan.members] == ["a", "LICENSE", "USAGE.md"]


def test_two_files_of_one_name_are_refused(tmp_path: Path) -> None:
    p = project(tmp_path, '\n[release]\nfiles = ["LICENSE", "docs/LICENSE"]\n')
    (p.root / "docs").mkdir()
    (p.root / "docs" / "LICENSE").write_text("other\n")
    with pytest.raises(ConfigError, match="two files named alike"):
        archive_plans(p, dist_plans(p, "1.22.10"))


def test_a_path_outside_the_project_is_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="a path inside the project"):
        project(tmp_path, '\n[release]\nfiles = ["../secret"]\n').settings  # noqa: B018


@pytest.mark.parametrize(
    ("version", "label"),
    [("v1.2.3", "1.2.3"), ("v1.2.3-4-gabcdef0-dirty", "1.2.3-4-gabcdef0-dirty"),
     ("release-7", "release-7"), ("vNext", "vNext")],
)  # fmt: skip
def test_the_version_label_drops_a_v_before_a_digit(version: str, label: str) -> None:
    assert version_label(version) == label

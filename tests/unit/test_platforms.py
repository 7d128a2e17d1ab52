"""Host GOOS/GOARCH detection and platform parsing."""

from __future__ import annotations

import pytest

from gobuild.errors import GobuildError
from gobuild.project.platforms import Platform, Target, host


@pytest.mark.parametrize(
    ("system", "machine", "want"),
    [
        ("Linux", "x86_64", "linux/amd64"),
        ("Linux", "aarch64", "linux/arm64"),
        ("Darwin", "arm64", "darwin/arm64"),
        ("Darwin", "x86_64", "darwin/amd64"),
    ],
)
def test_host_detection(system: str, machine: str, want: str) -> None:
    assert str(host(system, machine)) == want


@pytest.mark.parametrize(
    ("system", "machine"), [("Windows", "AMD64"), ("Linux", "s390x"), ("SunOS", "i86pc")]
)
def test_unsupported_host_is_a_clear_error(system: str, machine: str) -> None:
    with pytest.raises(GobuildError, match=r"unsupported host .*linux and darwin"):
        host(system, machine)


def test_platform_parse_and_key() -> None:
    p = Platform.parse("linux/arm64")
    assert (p.goos, p.goarch, p.key, str(p)) == ("linux", "arm64", "linux-arm64", "linux/arm64")
    for bad in ("linux", "linux/", "/amd64", "Linux/amd64", "linux/amd64/v3", "linux amd64"):
        with pytest.raises(GobuildError, match="invalid platform"):
            Platform.parse(bad)


@pytest.mark.parametrize(
    ("target", "image"),
    [
        ("linux/amd64", "linux/amd64"),
        ("linux/amd64/v1", "linux/amd64"),  # GOAMD64's default: BuildKit drops v1 too
        ("linux/amd64/v3", "linux/amd64/v3"),
        ("linux/arm64", "linux/arm64"),
        ("linux/arm", "linux/arm/v7"),  # Go's default GOARM, and BuildKit's for linux/arm
        ("linux/arm/7", "linux/arm/v7"),
        ("linux/arm/5", "linux/arm/v5"),
        ("linux/386", "linux/386"),
        ("linux/386/softfloat", "linux/386"),  # images have no 386 variants
        ("linux/riscv64", "linux/riscv64"),
        ("darwin/arm64", None),
        ("windows/amd64/v3", None),
    ],
)
def test_image_platform_is_buildkits_normal_form(target: str, image: str | None) -> None:
    assert Target.parse(target).image_platform() == image

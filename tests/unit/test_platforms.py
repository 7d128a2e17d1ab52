"""Host GOOS/GOARCH detection and platform parsing."""

from __future__ import annotations

import pytest

from gobuild.errors import GobuildError
from gobuild.project.platforms import Platform, host


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

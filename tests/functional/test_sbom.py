"""The SBOM of a real binary: built by `doit build` with the pinned Go (1.22.10 and
1.27.3) from a module whose dependency comes from a loopback module proxy, read back by
the pinned go command's `go version -m`, written as CycloneDX 1.6. Two clean checkouts of
the tagged commit, built apart, give the same binary and the same SBOM bytes."""

from __future__ import annotations

import base64
import json
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from gobuild.builds.goenv import go_environ
from gobuild.digest import sha256_file
from gobuild.errors import GobuildError
from gobuild.project.platforms import host
from gobuild.release.buildinfo import DEVEL, Module, read_buildinfo
from gobuild.release.sbom import SUM, sbom_json
from tests.buildenv import GoEnv, doit, git, make_repo
from tests.staticproxy import GREET, GREET_FILES, ProxyServer, greeting_app, publish_module

pytestmark = pytest.mark.skipif(host().key != "linux-amd64", reason="real archives are linux/amd64")

APP = """package main

import (
\t"fmt"

\t"example.com/greet"
)

func main() { fmt.Println(greet.Word()) }
"""


def pinned_go(go: GoEnv, pin: str) -> Path:
    return go.cache / "toolchains" / f"go{pin}.linux-amd64" / "go"


@pytest.mark.slow
@pytest.mark.parametrize(("pin", "main_version"), [("1.22.10", DEVEL), ("1.27.3", "v1.2.3")])
def test_two_checkouts_give_the_same_sbom_of_what_the_binary_links(
    tmp_path: Path, go: GoEnv, pin: str, main_version: str
) -> None:
    proxy_root = tmp_path / "proxy"
    sums = publish_module(proxy_root, GREET, "v1.0.0", GREET_FILES)
    greet_h1 = sums[0].split()[2]
    source = greeting_app(tmp_path / "source", sums, APP)
    one = make_repo(tmp_path / "one", str(source), go, pin=pin)  # tagged v1.2.3
    two = tmp_path / "elsewhere" / "deeper" / "two"
    subprocess.run(["git", "clone", "-q", str(one), str(two)], check=True)
    with ProxyServer(proxy_root) as proxy:
        for n, root in enumerate((one, two)):
            doit(root, go, "build", GOPROXY=proxy.url, GOSUMDB="off", GOFLAGS="",
                 GOMODCACHE=str(tmp_path / f"modcache{n}"), GOCACHE=str(tmp_path / f"cache{n}"))  # fmt: skip

    goroot = pinned_go(go, pin)
    env = go_environ(goroot, {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    commit = git(one, "rev-parse", "HEAD")
    when = datetime.fromisoformat(git(one, "log", "-1", "--format=%cI"))
    documents = []
    for root in (one, two):
        binary = root / "dist" / "app"
        info = read_buildinfo(goroot / "bin" / "go", binary, env)
        assert info.go_version == f"go{pin}"
        assert info.path == "example.com/app"
        # Go 1.24 and later stamp the main module's version from the tag.
        assert info.main == Module("example.com/app", main_version)
        # The dependency as the proxy served it, by the h1 of its zip.
        assert info.deps == (Module(GREET, "v1.0.0", greet_h1),)
        assert info.setting("vcs.revision") == commit
        assert info.setting("vcs.modified") == "false"
        assert (info.setting("-trimpath"), info.setting("CGO_ENABLED")) == ("true", "0")
        digest = sha256_file(binary)
        documents.append(
            sbom_json(info, name="app", version="1.2.3", binary_sha256=digest, timestamp=when)
        )
    assert sha256_file(one / "dist" / "app") == sha256_file(two / "dist" / "app")
    assert documents[0] == documents[1]

    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(documents[0]) is None
    doc = json.loads(documents[0])
    assert doc["metadata"]["timestamp"] == "2024-05-01T12:00:00+00:00"
    assert doc["metadata"]["component"]["hashes"] == [
        {"alg": "SHA-256", "content": sha256_file(one / "dist" / "app")}
    ]
    by_ref = {c["bom-ref"]: c for c in doc["components"]}
    main_ref = "pkg:golang/example.com/app" + ("" if main_version == DEVEL else "@v1.2.3")
    greet_ref = "pkg:golang/example.com/greet@v1.0.0"
    assert sorted(by_ref) == sorted([main_ref, greet_ref, f"pkg:golang/std@go{pin}"])
    greet = by_ref[greet_ref]
    assert greet["hashes"] == [{"alg": "SHA-256", "content": base64.b64decode(greet_h1[3:]).hex()}]
    assert {"name": SUM, "value": greet_h1} in greet["properties"]
    settings = {p["name"]: p["value"] for p in doc["metadata"]["component"]["properties"]}
    assert settings["gobuild:go:build:vcs.revision"] == commit
    assert settings["cdx:gomod:build:env:GOVERSION"] == f"go{pin}"


def test_what_is_not_a_go_binary_is_one_error_naming_it(tmp_path: Path, go: GoEnv) -> None:
    make_repo(tmp_path / "r", "twobin", go, init_git=False)  # installs the pinned Go
    goroot = pinned_go(go, "1.22.10")
    env = go_environ(goroot, {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    script = tmp_path / "tool.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    with pytest.raises(GobuildError, match="go version -m cannot read its build info") as err:
        read_buildinfo(goroot / "bin" / "go", script, env)
    assert str(err.value).startswith(f"{script}: ")
    assert "could not read Go build info" in str(err.value)  # the go command's words
    # Go 1.22 says a missing file on stderr and exits 0: it is refused before asking.
    with pytest.raises(GobuildError, match="no such file"):
        read_buildinfo(goroot / "bin" / "go", tmp_path / "missing", env)

"""go.mod checks as lint units: `go mod tidy -diff` drift and `go mod verify`.

A real module whose dependency comes from a loopback module proxy, checked with Go
1.27.3 (tidy's -diff needs Go 1.23). An unused requirement makes tidy fail with one
finding at go.mod; a module-cache copy edited after download makes verify fail; a tidy,
untouched module passes both. Go 1.22.10 cannot run tidy: planning says so in one line.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gobuild.project.platforms import host
from tests.buildenv import BIN, GoEnv, make_repo, run_env
from tests.staticproxy import (
    GREET,
    GREET_FILES,
    Proxy,
    ProxyServer,
    greeting_app,
    publish_module,
)

pytestmark = pytest.mark.skipif(host().key != "linux-amd64", reason="real archives are linux/amd64")

USES = 'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/greet"\n)\n\nfunc main() { fmt.Println(greet.Word()) }\n'
UNUSED = "package main\n\nfunc main() {}\n"
CONFIG = '[checks]\nlinters = ["tidy", "verify"]\n'


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Proxy, list[str]]]:
    root = tmp_path_factory.mktemp("goproxy")
    sums = publish_module(root, GREET, "v1.0.0", GREET_FILES)
    with ProxyServer(root) as state:
        yield state, sums


def module(tmp_path: Path, go: GoEnv, sums: list[str], main: str, pin: str = "1.27.3") -> Path:
    source = greeting_app(tmp_path / "source", sums, main)
    return make_repo(tmp_path / "r", str(source), go, CONFIG, pin=pin)


def check(root: Path, go: GoEnv, proxy: Proxy, cache: Path) -> tuple[int, dict[str, object], str]:
    env = run_env(go, GOPROXY=proxy.url, GOSUMDB="off", GOFLAGS="", GOMODCACHE=str(cache))
    res = subprocess.run(
        [str(BIN / "gobuild"), "-C", str(root), "check", "lint", "--json"],
        env=env, capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    document = json.loads(res.stdout) if res.stdout.strip().startswith("{") else {}
    return res.returncode, document, res.stderr


def units(document: dict[str, object]) -> dict[str, str]:
    rows = document["units"]
    assert isinstance(rows, list)
    return {str(u["name"]): str(u["status"]) for u in rows}


@pytest.mark.slow
def test_a_tidy_untouched_module_passes_both(
    tmp_path: Path, go: GoEnv, proxy: tuple[Proxy, list[str]]
) -> None:
    root = module(tmp_path, go, proxy[1], USES)
    code, document, err = check(root, go, proxy[0], tmp_path / "modcache")
    assert code == 0, (document, err)
    assert units(document) == {"lint:tidy": "passed", "lint:verify": "passed"}


@pytest.mark.slow
def test_an_unused_requirement_is_drift_at_go_mod(
    tmp_path: Path, go: GoEnv, proxy: tuple[Proxy, list[str]]
) -> None:
    root = module(tmp_path, go, proxy[1], UNUSED)
    code, document, err = check(root, go, proxy[0], tmp_path / "modcache")
    assert code == 1, (document, err)
    assert units(document)["lint:tidy"] == "failed"
    failures = document["failures"]
    assert isinstance(failures, list)
    [drift] = [f for f in failures if f["unit"] == "lint:tidy"]
    assert drift["file"] == "go.mod"
    assert drift["message"].startswith("not tidy: `go mod tidy` would change go.mod and go.sum")
    log = (root / ".gobuild" / "checks" / "lint" / "lint-tidy.log").read_text()
    assert "-require example.com/greet v1.0.0" in log


@pytest.mark.slow
def test_a_module_cache_copy_edited_after_download_fails_verify(
    tmp_path: Path, go: GoEnv, proxy: tuple[Proxy, list[str]]
) -> None:
    root = module(tmp_path, go, proxy[1], USES)
    cache = tmp_path / "modcache"
    assert check(root, go, proxy[0], cache)[0] == 0  # downloaded, verified
    copy = cache / "example.com" / "greet@v1.0.0" / "greet.go"
    os.chmod(copy.parent, stat.S_IRWXU)
    os.chmod(copy, stat.S_IRUSR | stat.S_IWUSR)
    copy.write_text(GREET_FILES["greet.go"].replace("hello", "pwned"))
    code, document, err = check(root, go, proxy[0], cache)
    assert code == 1, (document, err)
    assert units(document)["lint:verify"] == "failed"
    log = (root / ".gobuild" / "checks" / "lint" / "lint-verify.log").read_text()
    assert "example.com/greet v1.0.0: dir has been modified" in log


@pytest.mark.slow
def test_tidy_with_a_go_before_1_23_is_one_line(
    tmp_path: Path, go: GoEnv, proxy: tuple[Proxy, list[str]]
) -> None:
    root = module(tmp_path, go, proxy[1], USES, pin="1.22.10")
    code, document, err = check(root, go, proxy[0], tmp_path / "modcache")
    assert code == 1 and not document
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "checks.linters: tidy needs Go 1.23 or later" in lines[0], err

"""``gobuild lock``, ``lock --check`` and ``gobuild init`` with pinned tools, through the
command line, against a loopback GOPROXY with a checksum database mounted
(tests/goproxyserver.py): every pinned tool recorded by module and h1 beside Go, nothing
downloaded; a contradicting answer refused, a pin no module holds failing the command,
entries of tools no longer pinned dropped. Building a locked tool is
tests/functional/test_lock_tools.py."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gobuild.cli import main as cli
from gobuild.project.platforms import Platform, host
from gobuild.project.toolpins import DEFAULT_PINS
from tests import godist, goproxyserver
from tests.goproxyserver import MODULE, TOOL_MODULES, Proxy, fake_h1, mod_h1, publish_tool
from tests.sumdbserver import SumDB

NAME = "sumdb.test"
HOST = host()
LINT = "example.com/lintkit/cmd/staticcheck"  # in the module example.com/lintkit
GOLANGCI = "example.com/golangci/v2/cmd/golangci-lint"  # in example.com/golangci/v2
GOTESTSUM = DEFAULT_PINS["gotestsum"]  # [checks.test] junit needs it: gobuild's pin
CHECKED = f"""
[checks]
linters = ["vet", "staticcheck"]

[checks.test]
junit = true

[tools]
staticcheck = "{LINT}@v1.2.0"
golangci-lint = "{GOLANGCI}@v2.0.0"
"""


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def record_go(db: SumDB, platforms: list[Platform], version: str = "1.22.10") -> None:
    """The database's records of Go ``version`` for ``platforms`` (no zip is served)."""
    for p in platforms:
        modver = godist.toolchain_module_version(version, p)
        db.add(MODULE, modver, fake_h1(modver), mod_h1())


def read_lock(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "gobuild.lock").read_text())
    return data


def entry(package: str, module: str, version: str, h1: str, go: str = "1.22") -> dict[str, str]:
    """A lock entry as gobuild writes it (``go``: the go line publish_tool() serves)."""
    found = {"package": package, "module": module, "version": version, "h1": h1}
    return {**found, "go": go} if go else found


@pytest.fixture
def db() -> SumDB:
    database = SumDB(NAME)
    database.add_filler(3)
    record_go(database, [HOST])
    return database


@pytest.fixture
def proxy(db: SumDB, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proxy]:
    for name in ("GONOSUMDB", "GOPRIVATE", "GONOPROXY", "GOFLAGS"):
        monkeypatch.delenv(name, raising=False)
    with goproxyserver.serving(db) as served:
        monkeypatch.setenv("GOPROXY", served.url)
        monkeypatch.setenv("GOSUMDB", db.vkey)
        yield served


@pytest.fixture
def h1s(proxy: Proxy, db: SumDB) -> dict[str, str]:
    """The three pinned tools of CHECKED, published; their h1s by tool."""
    return {
        "staticcheck": publish_tool(proxy, db, "example.com/lintkit", "v1.2.0"),
        "golangci-lint": publish_tool(proxy, db, "example.com/golangci/v2", "v2.0.0"),
        "gotestsum": publish_tool(proxy, db, "gotest.tools/gotestsum", "v1.13.0"),
    }


def make_project(tmp_path: Path, tools: str = CHECKED) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/proj\n\ngo 1.22\n")
    (root / "main.go").write_text("package main\n\nfunc main() {}\n")
    (root / "gobuild.toml").write_text(
        '[go]\nversion = "1.22.10"\n\n[toolchain]\nsources = ["goproxy"]\nretries = 0\n'
        f'timeout = 10\nlock_platforms = ["{HOST}"]\n\n[dist]\nplatforms = ["{HOST}"]\n' + tools
    )
    return root


def locked_project(tmp_path: Path, tools: str = CHECKED) -> Path:
    """``make_project``, then ``gobuild lock`` (which must succeed)."""
    root = make_project(tmp_path, tools)
    assert run("-C", str(root), "lock")[0] == 0
    return root


def expected_tools(h1s: dict[str, str]) -> dict[str, dict[str, str]]:
    return {
        "golangci-lint": entry(GOLANGCI, "example.com/golangci/v2", "v2.0.0", h1s["golangci-lint"]),
        "staticcheck": entry(LINT, "example.com/lintkit", "v1.2.0", h1s["staticcheck"]),
        "gotestsum": entry(
            "gotest.tools/gotestsum", "gotest.tools/gotestsum", "v1.13.0", h1s["gotestsum"]
        ),
    }


def test_lock_records_every_pinned_tool_without_downloading(
    tmp_path: Path, proxy: Proxy, h1s: dict[str, str]
) -> None:
    # Not pinned, not configured: never resolved.
    publish_tool(proxy, None, "golang.org/x/vuln", "v1.9.0")
    root = make_project(tmp_path)
    code, out, err = run("-C", str(root), "lock")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "gobuild.lock updated: Go 1.22.10",
        "  goproxy: 1 platform",
        "  golangci-lint: example.com/golangci/v2@v2.0.0",
        "  staticcheck: example.com/lintkit@v1.2.0",
        "  gotestsum: gotest.tools/gotestsum@v1.13.0",
    ]
    lock = read_lock(root)
    assert lock["tools"] == expected_tools(h1s)
    assert lock["go"]["version"] == "1.22.10" and HOST.key in lock["go"]["artifacts"]
    # .info answers, each module's go.mod and the database only: no zip, no listing.
    asked = [p for p in proxy.requests() if not p.startswith("/sumdb/")]
    assert asked and all(p.endswith((".info", ".mod")) for p in asked), asked
    assert sum(p.endswith(".mod") for p in asked) == len(expected_tools(h1s)), asked
    assert not any("vuln" in p for p in asked)

    lock_file = root / "gobuild.lock"
    before = lock_file.stat().st_mtime_ns
    code, out, _ = run("-C", str(root), "lock")
    assert code == 0 and out.startswith("gobuild.lock unchanged: Go 1.22.10\n"), out
    assert lock_file.stat().st_mtime_ns == before
    assert run("-C", str(root), "lock", "--check") == (0, "gobuild.lock is up to date\n", "")


def test_lock_check_reports_pins_the_lock_lags_in_one_line(
    tmp_path: Path, proxy: Proxy, db: SumDB, h1s: dict[str, str]
) -> None:
    root = locked_project(tmp_path)
    toml = root / "gobuild.toml"
    toml.write_text(toml.read_text().replace(f"{LINT}@v1.2.0", f"{LINT}@v1.3.0"))
    data = read_lock(root)
    del data["tools"]["gotestsum"]
    data["tools"]["golangci-lint"]["package"] = "example.com/golangci/cmd/golangci-lint"
    # Tools the configuration does not run are no reason to fail a check: one at its
    # pin (as `gobuild bench compare` records benchstat), one at a pin gone since.
    vuln, vuln_version = DEFAULT_PINS["govulncheck"].split("@")
    data["tools"]["govulncheck"] = entry(vuln, "golang.org/x/vuln", vuln_version, fake_h1("v"))
    data["tools"]["benchstat"] = entry("golang.org/x/perf/cmd/benchstat", "golang.org/x/perf",
                                       "v0.0.1", fake_h1("benchstat"))  # fmt: skip
    (root / "gobuild.lock").write_text(json.dumps(data))
    requests = len(proxy.requests())

    code, out, err = run("-C", str(root), "lock", "--check")
    assert (code, out) == (1, "")
    assert err == (
        "gobuild: gobuild.lock is stale for the pinned tools (not recorded: gotestsum v1.13.0; "
        "recorded at another pin: golangci-lint example.com/golangci/cmd/golangci-lint@v2.0.0 "
        f"(pinned: {GOLANGCI}@v2.0.0), staticcheck v1.2.0 (pinned: v1.3.0)): run `gobuild lock`\n"
    )
    assert len(proxy.requests()) == requests  # offline

    # `gobuild lock` brings it up to date, keeps the entry at its pin (unresolved: the
    # configuration does not run govulncheck) and drops the one no pin describes.
    h1s["staticcheck"] = publish_tool(proxy, db, "example.com/lintkit", "v1.3.0")
    code, out, err = run("-C", str(root), "lock")
    assert (code, err) == (0, ""), err
    assert out.splitlines()[-4:] == [
        "  golangci-lint: example.com/golangci/v2@v2.0.0",
        "  staticcheck: example.com/lintkit@v1.3.0",
        "  gotestsum: gotest.tools/gotestsum@v1.13.0",
        "  benchstat: golang.org/x/perf@v0.0.1 dropped (no longer its pin)",
    ]
    tools = expected_tools(h1s)
    tools["staticcheck"]["version"] = "v1.3.0"
    tools["govulncheck"] = data["tools"]["govulncheck"]
    assert read_lock(root)["tools"] == tools
    assert not any("vuln" in p for p in proxy.requests())
    assert run("-C", str(root), "lock", "--check")[0] == 0


def test_an_answer_contradicting_the_lock_is_refused_and_nothing_is_written(
    tmp_path: Path, proxy: Proxy, h1s: dict[str, str]
) -> None:
    root = locked_project(tmp_path)
    lock_file = root / "gobuild.lock"
    data = read_lock(root)
    data["tools"]["staticcheck"]["h1"] = fake_h1("tampered")
    data["go"]["artifacts"] = {}  # a Go lock would refill this: it must not run
    lock_file.write_text(json.dumps(data))
    tampered = lock_file.read_text()

    code, out, err = run("-C", str(root), "lock")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and err.startswith("gobuild: error: staticcheck: "), err
    assert "example.com/lintkit@v1.2.0" in err
    assert h1s["staticcheck"] in err and fake_h1("tampered") in err
    assert lock_file.read_text() == tampered

    # So for the module: the proxies put the package in another module than the lock.
    data["tools"]["staticcheck"]["h1"] = h1s["staticcheck"]
    data["tools"]["staticcheck"]["module"] = "example.com"
    lock_file.write_text(json.dumps(data))
    code, out, err = run("-C", str(root), "lock")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1, err
    assert err.startswith(
        f"gobuild: error: staticcheck: the module proxy finds {LINT}@v1.2.0 in module "
        "example.com/lintkit, but gobuild.lock records example.com; refusing"
    ), err


def test_a_pin_no_module_holds_fails_lock_after_recording_the_rest(
    tmp_path: Path, proxy: Proxy, h1s: dict[str, str]
) -> None:
    root = make_project(tmp_path, CHECKED.replace(f"{LINT}@v1.2.0", f"{LINT}@v9.9.9"))
    code, out, err = run("-C", str(root), "lock")
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert lines[0] == (
        "gobuild: warning: gobuild.lock is stale for the pinned tools (not recorded: "
        "staticcheck v9.9.9): run `gobuild lock`"
    )
    assert lines[1].startswith(f"gobuild: error: staticcheck: no module at v9.9.9 holds {LINT} (")
    assert f"  staticcheck: no module at v9.9.9 holds {LINT} (" in out
    tools = read_lock(root)["tools"]
    assert set(tools) == {"golangci-lint", "gotestsum"}
    assert read_lock(root)["go"]["artifacts"][HOST.key]["goproxy"]["h1"]


def test_unreachable_proxies_keep_what_is_recorded(
    tmp_path: Path, proxy: Proxy, h1s: dict[str, str]
) -> None:
    root = locked_project(tmp_path)
    lock_file = root / "gobuild.lock"
    recorded = lock_file.read_text()
    proxy.break_prefix("/", "500")
    code, out, err = run("-C", str(root), "lock")
    assert (code, err) == (0, ""), err  # everything is recorded: nothing to warn of
    assert out.startswith("gobuild.lock unchanged: Go 1.22.10\n")
    assert "  staticcheck: example.com/lintkit@v1.2.0 as recorded; unavailable (" in out
    assert lock_file.read_text() == recorded


def test_a_gonosumdb_tool_is_left_for_its_first_build(
    tmp_path: Path, proxy: Proxy, h1s: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the database, only the module zip could tell its h1: gobuild lock downloads
    # none, so the build that first needs it records it (as install.py always did).
    monkeypatch.setenv("GONOSUMDB", "example.com/lintkit")
    root = make_project(tmp_path)
    code, out, err = run("-C", str(root), "lock")
    assert code == 0
    assert (
        "  staticcheck: example.com/lintkit@v1.2.0 is in no checksum database "
        "(GOSUMDB/GONOSUMDB): recorded when first built"
    ) in out.splitlines()
    assert "example.com/lintkit@v1.2.0 is not checked against a checksum database" in err
    assert "gobuild: warning: gobuild.lock is stale for the pinned tools (not recorded: " in err
    assert set(read_lock(root)["tools"]) == {"golangci-lint", "gotestsum"}


# -- gobuild init ---------------------------------------------------------------------------

SIX = [
    Platform(goos, arch) for goos in ("linux", "darwin", "windows") for arch in ("amd64", "arm64")
]


def new_module(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    (root / "cmd" / "app").mkdir(parents=True)
    (root / "go.mod").write_text("module example.com/app\n\ngo 1.22\n\ntoolchain go1.22.10\n")
    (root / "cmd" / "app" / "main.go").write_text("package main\n\nfunc main() {}\n")
    return root


def test_init_locks_the_default_pins_where_the_proxy_answers(
    tmp_path: Path, proxy: Proxy, db: SumDB
) -> None:
    record_go(db, [p for p in SIX if p != HOST])
    h1s = {}
    for name, spec in DEFAULT_PINS.items():
        h1s[name] = publish_tool(proxy, db, TOOL_MODULES[name], spec.partition("@")[2])
    root = new_module(tmp_path)
    code, out, err = run("-C", str(root), "init")
    assert (code, err) == (0, "")
    assert "gobuild.lock updated: Go 1.22.10" in out
    tools = read_lock(root)["tools"]
    assert tools == {
        name: entry(spec.partition("@")[0], TOOL_MODULES[name], spec.partition("@")[2], h1s[name])
        for name, spec in DEFAULT_PINS.items()
    }
    assert run("-C", str(root), "lock", "--check")[0] == 0


def test_init_without_an_answering_proxy_warns_in_one_line_and_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOPROXY", "off")
    root = new_module(tmp_path)
    code, out, err = run("-C", str(root), "init")
    assert code == 0
    [warning] = [line for line in err.splitlines() if line.startswith("gobuild: warning:")]
    pins = ", ".join(f"{name} {spec.partition('@')[2]}" for name, spec in DEFAULT_PINS.items())
    assert f"gobuild.lock is stale for the pinned tools (not recorded: {pins})" in warning
    assert "  staticcheck: unavailable (GOPROXY=off names no module proxy to ask)" in out
    assert "tools" not in read_lock(root)


# ------------------------------------------------------------------------ [tools] go


def test_tools_go_is_locked_in_its_own_section_and_checked(
    tmp_path: Path, proxy: Proxy, db: SumDB, h1s: dict[str, str]
) -> None:
    record_go(db, [HOST], "1.27.3")
    root = make_project(tmp_path, CHECKED + 'go = "1.27.3"\n')
    code, out, err = run("-C", str(root), "lock")
    assert (code, err) == (0, ""), err
    assert "  [tools] go 1.27.3: goproxy: 1 platform" in out.splitlines(), out
    lock = read_lock(root)
    # The project's Go keeps its section; [tools] go has its own, shaped the same.
    assert lock["go"]["version"] == "1.22.10"
    tools_go = lock["tools_go"]
    assert (tools_go["request"], tools_go["version"]) == ("1.27.3", "1.27.3")
    modver = godist.toolchain_module_version("1.27.3", HOST)
    assert tools_go["artifacts"][HOST.key]["goproxy"]["h1"] == fake_h1(modver)
    assert run("-C", str(root), "lock", "--check")[0] == 0
    # Locking again changes nothing; dropping the section is what --check reports.
    before = (root / "gobuild.lock").read_bytes()
    assert run("-C", str(root), "lock")[0] == 0
    assert (root / "gobuild.lock").read_bytes() == before
    del lock["tools_go"]
    (root / "gobuild.lock").write_text(json.dumps(lock))
    code, _, err = run("-C", str(root), "lock", "--check")
    assert code == 1
    assert err.strip() == "gobuild: gobuild.lock records no [tools] go: run `gobuild lock`"


def test_a_changed_tools_go_makes_the_lock_stale(
    tmp_path: Path, proxy: Proxy, db: SumDB, h1s: dict[str, str]
) -> None:
    record_go(db, [HOST], "1.27.3")
    root = locked_project(tmp_path, CHECKED + 'go = "1.27.3"\n')
    config = (root / "gobuild.toml").read_text().replace('go = "1.27.3"', 'go = "1.26.8"')
    (root / "gobuild.toml").write_text(config)
    code, _, err = run("-C", str(root), "lock", "--check")
    assert code == 1
    assert "was made for [tools] go 1.27.3, the project now pins 1.26.8" in err


def test_each_go_section_is_updated_without_touching_the_other(tmp_path: Path) -> None:
    from gobuild.digest import Artifact
    from gobuild.project import lock as lockfile
    from gobuild.project.versions import GoVersion, VersionRequest

    path, state = tmp_path / "gobuild.lock", tmp_path / "state"

    def put(section: lockfile.Section, version: str, name: str) -> None:
        lockfile.update(path, state_dir=state, request=VersionRequest.parse(version),
                        version=GoVersion.parse(version),
                        artifacts={HOST.key: {"official": Artifact(name, "a" * 64)}},
                        section=section)  # fmt: skip

    put("go", "1.22.10", "go.tgz")
    put("tools_go", "1.27.3", "tools.tgz")
    put("go", "1.22.11", "go2.tgz")  # another release: the go section starts afresh
    lock = lockfile.read(path)
    assert (lock.version, lock.artifacts[HOST.key]["official"].filename) == (
        GoVersion.parse("1.22.11"), "go2.tgz")  # fmt: skip
    tools = lock.view("tools_go")
    assert (tools.version, tools.artifacts[HOST.key]["official"].filename) == (
        GoVersion.parse("1.27.3"), "tools.tgz")  # fmt: skip

    # Nothing else is recorded, and the file is what dumps() writes of what read() gave.
    def section(version: str, name: str) -> lockfile.Lock:
        artifacts = {HOST.key: {"official": Artifact(name, "a" * 64)}}
        return lockfile.Lock(request=version, version=GoVersion.parse(version), artifacts=artifacts)

    expected = dataclasses.replace(
        section("1.22.11", "go2.tgz"), tools_go=section("1.27.3", "tools.tgz")
    )
    assert lockfile.read(path) == expected and lockfile.dumps(lock) == path.read_text()
    assert lockfile.Lock().view("tools_go") == lockfile.Lock()

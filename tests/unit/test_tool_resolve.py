"""The pinned tools' resolver (gobuild.tools.resolve) against a loopback GOPROXY with a
checksum database mounted (tests/goproxyserver.py, tests/sumdbserver.py): the module is
the longest prefix the proxies know at the version, asked by ``.info`` only, its h1 the
database's; GOPROXY's fall-through rules, GONOPROXY, GONOSUMDB and GOSUMDB=off as the go
command reads them. Nothing is downloaded or built."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gobuild.errors import IntegrityError, SourceError
from gobuild.progress import Silent
from gobuild.project.config import Project, load_project
from gobuild.project.environ import Environment
from gobuild.tools.resolve import Resolver, ToolError, candidates, fetch_variables
from tests import goproxyserver
from tests.goproxyserver import Proxy, fake_h1, publish_tool
from tests.sumdbserver import SumDB

NAME = "sumdb.test"
LINT = "example.com/lintkit/cmd/staticcheck"  # in the module example.com/lintkit


@pytest.fixture
def db() -> SumDB:
    database = SumDB(NAME)
    database.add_filler(5)
    return database


@pytest.fixture
def proxy(db: SumDB) -> Iterator[Proxy]:
    with goproxyserver.serving(db) as served:
        yield served


def project(
    tmp_path: Path, pin: str, env: dict[str, str], extra: str = "", name: str = "proj"
) -> Project:
    root = tmp_path / name
    root.mkdir()
    (root / "go.mod").write_text(f"module example.com/{name}\n\ngo 1.22\n")
    (root / "gobuild.toml").write_text(
        '[go]\nversion = "1.22.10"\n\n[toolchain]\nsources = ["goproxy"]\nretries = 0\n'
        f'timeout = 10\n{extra}\n[tools]\nstaticcheck = "{pin}"\n'
    )
    return load_project(root, Environment(env))


def modenv(proxy: Proxy, db: SumDB, **extra: str) -> dict[str, str]:
    # The test's own cache (tests/conftest.py): tree heads are remembered there.
    cache = os.environ["GOBUILD_CACHE"]
    return {"GOBUILD_CACHE": cache, "GOPROXY": proxy.url, "GOSUMDB": db.vkey, **extra}


def asked(proxy: Proxy) -> list[str]:
    """The module proxy requests (the database's, mounted under /sumdb/, left out)."""
    return [p for p in proxy.requests() if not p.startswith("/sumdb/")]


def test_candidates_are_the_package_and_its_prefixes_longest_first() -> None:
    assert candidates("example.com/a/cmd/b") == [
        "example.com/a/cmd/b",
        "example.com/a/cmd",
        "example.com/a",
        "example.com",
    ]


def test_a_module_at_a_shorter_prefix_is_found_by_info_alone(
    tmp_path: Path, proxy: Proxy, db: SumDB
) -> None:
    h1 = publish_tool(proxy, db, "example.com/lintkit", "v1.2.0")
    publish_tool(proxy, db, "example.com/lintkit", "v1.1.0")
    resolver = Resolver(project(tmp_path, f"{LINT}@v1.2.0", modenv(proxy, db)))
    found = resolver.resolve(resolver.project.tool_pin("staticcheck"))
    assert (found.module, found.h1) == ("example.com/lintkit", h1)
    entry = found.entry()
    assert entry is not None
    assert (entry.package, entry.module, entry.version, entry.h1, entry.go) == (
        LINT,
        "example.com/lintkit",
        "v1.2.0",
        h1,
        "1.22",  # the go line of its go.mod, checked against the database's go.mod h1
    )
    # Longest first, .info only, then the module's go.mod: no zip, no listing.
    assert asked(proxy) == [
        "/example.com/lintkit/cmd/staticcheck/@v/v1.2.0.info",
        "/example.com/lintkit/cmd/@v/v1.2.0.info",
        "/example.com/lintkit/@v/v1.2.0.info",
        "/example.com/lintkit/@v/v1.2.0.mod",
    ]


def test_a_go_mod_the_database_does_not_know_is_refused(
    tmp_path: Path, proxy: Proxy, db: SumDB
) -> None:
    publish_tool(proxy, db, "example.com/lintkit", "v1.2.0")
    proxy.files["/example.com/lintkit/@v/v1.2.0.mod"] = b"module example.com/lintkit\n\ngo 1.9\n"
    p = project(tmp_path, f"{LINT}@v1.2.0", modenv(proxy, db))
    with pytest.raises(IntegrityError, match="go.mod is not the one the checksum database has"):
        Resolver(p, Silent()).resolve(p.tool_pin("staticcheck"))
    assert any(p.startswith(f"/sumdb/{NAME}/lookup/example.com/lintkit@v1.2.0") for p in proxy.log)


def test_the_longest_prefix_that_is_a_module_wins(tmp_path: Path, proxy: Proxy, db: SumDB) -> None:
    publish_tool(proxy, db, "example.com/lintkit", "v1.2.0")
    nested = publish_tool(proxy, db, "example.com/lintkit/cmd/staticcheck", "v1.2.0")
    resolver = Resolver(project(tmp_path, f"{LINT}@v1.2.0", modenv(proxy, db)))
    found = resolver.resolve(resolver.project.tool_pin("staticcheck"))
    assert (found.module, found.h1) == (LINT, nested)


def test_a_version_no_module_has_is_one_line(tmp_path: Path, proxy: Proxy, db: SumDB) -> None:
    publish_tool(proxy, db, "example.com/lintkit", "v1.2.0")
    resolver = Resolver(project(tmp_path, f"{LINT}@v9.9.9", modenv(proxy, db)))
    with pytest.raises(ToolError) as caught:
        resolver.resolve(resolver.project.tool_pin("staticcheck"))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"staticcheck: no module at v9.9.9 holds {LINT} (")
    # The reason given is the full path's (the shorter ones are guesses).
    assert "cmd/staticcheck/@v/v9.9.9.info: HTTP 404" in message
    assert len(asked(proxy)) == 4  # every prefix asked once
    assert not any("/lookup/" in p for p in proxy.log)  # the database was not asked


def test_a_not_found_passes_to_the_next_proxy_after_a_comma(
    tmp_path: Path, proxy: Proxy, db: SumDB
) -> None:
    h1 = publish_tool(proxy, db, "example.com/lintkit", "v1.2.0")
    with goproxyserver.serving() as empty:  # knows no module: 404 for everything
        env = modenv(proxy, db, GOPROXY=f"{empty.url},{proxy.url}")
        resolver = Resolver(project(tmp_path, f"{LINT}@v1.2.0", env))
        found = resolver.resolve(resolver.project.tool_pin("staticcheck"))
        assert empty.requests(".info") == [
            "/example.com/lintkit/cmd/staticcheck/@v/v1.2.0.info",
            "/example.com/lintkit/cmd/@v/v1.2.0.info",
            "/example.com/lintkit/@v/v1.2.0.info",
        ]
    assert (found.module, found.h1) == ("example.com/lintkit", h1)


def test_a_server_error_stops_at_a_comma_and_passes_after_a_bar(
    tmp_path: Path, proxy: Proxy, db: SumDB
) -> None:
    h1 = publish_tool(proxy, db, "example.com/lintkit", "v1.2.0")
    with goproxyserver.serving() as broken:
        # Modules only: the database is found through the next proxy either way.
        broken.break_prefix("/example.com/", "500")
        comma = Resolver(
            project(
                tmp_path, f"{LINT}@v1.2.0", modenv(proxy, db, GOPROXY=f"{broken.url},{proxy.url}")
            )
        )
        with pytest.raises(SourceError) as caught:
            comma.resolve(comma.project.tool_pin("staticcheck"))
        assert not isinstance(caught.value, ToolError)
        assert "HTTP 500" in str(caught.value)
        assert asked(proxy) == []
        env = modenv(proxy, db, GOPROXY=f"{broken.url}|{proxy.url}")
        bar = Resolver(project(tmp_path, f"{LINT}@v1.2.0", env, name="bar"))
        found = bar.resolve(bar.project.tool_pin("staticcheck"))
    assert (found.module, found.h1) == ("example.com/lintkit", h1)


@pytest.mark.parametrize("goproxy", ["off", "direct", "direct,off"])
def test_a_goproxy_without_a_proxy_is_unavailable_and_asks_nothing(
    tmp_path: Path, proxy: Proxy, db: SumDB, goproxy: str
) -> None:
    publish_tool(proxy, db, "example.com/lintkit", "v1.2.0")
    resolver = Resolver(project(tmp_path, f"{LINT}@v1.2.0", modenv(proxy, db, GOPROXY=goproxy)))
    with pytest.raises(SourceError) as caught:
        resolver.resolve(resolver.project.tool_pin("staticcheck"))
    assert not isinstance(caught.value, ToolError)
    assert f"GOPROXY={goproxy} names no module proxy" in str(caught.value)
    assert proxy.requests() == []


@pytest.mark.parametrize("variable", ["GONOPROXY", "GOPRIVATE"])
def test_a_gonoproxy_module_is_never_asked_of_a_proxy(
    tmp_path: Path, proxy: Proxy, db: SumDB, variable: str
) -> None:
    # The go command fetches it directly: its path must not reach a public proxy.
    publish_tool(proxy, db, "example.com/lintkit", "v1.2.0")
    env = modenv(proxy, db, **{variable: "example.com/lintkit"})
    resolver = Resolver(project(tmp_path, f"{LINT}@v1.2.0", env))
    with pytest.raises(SourceError) as caught:
        resolver.resolve(resolver.project.tool_pin("staticcheck"))
    assert "GONOPROXY/GOPRIVATE" in str(caught.value)
    assert proxy.requests() == []


def test_a_gonosumdb_module_is_found_without_the_database(
    tmp_path: Path, proxy: Proxy, db: SumDB
) -> None:
    # As install.py's verification: the database is not asked, a notice says so, and
    # there is no h1 to record without downloading the zip.
    publish_tool(proxy, None, "example.com/lintkit", "v1.2.0")
    reporter = Silent()
    env = modenv(proxy, db, GONOSUMDB="example.com/lintkit")
    resolver = Resolver(project(tmp_path, f"{LINT}@v1.2.0", env), reporter)
    found = resolver.resolve(resolver.project.tool_pin("staticcheck"))
    assert (found.module, found.h1, found.entry()) == ("example.com/lintkit", None, None)
    assert reporter.notices == [
        "example.com/lintkit@v1.2.0 is not checked against a checksum database (GOSUMDB/GONOSUMDB)"
    ]
    assert not any(p.startswith("/sumdb/") for p in proxy.requests())


def test_gosumdb_off_leaves_the_hash_unknown(tmp_path: Path, proxy: Proxy, db: SumDB) -> None:
    publish_tool(proxy, db, "example.com/lintkit", "v1.2.0")
    resolver = Resolver(project(tmp_path, f"{LINT}@v1.2.0", modenv(proxy, db, GOSUMDB="off")))
    found = resolver.resolve(resolver.project.tool_pin("staticcheck"))
    assert (found.module, found.h1) == ("example.com/lintkit", None)
    assert not any(p.startswith("/sumdb/") for p in proxy.requests())


def test_a_module_the_database_does_not_know_is_one_line(
    tmp_path: Path, proxy: Proxy, db: SumDB
) -> None:
    publish_tool(proxy, None, "example.com/lintkit", "v1.2.0")  # served, never recorded
    resolver = Resolver(project(tmp_path, f"{LINT}@v1.2.0", modenv(proxy, db)))
    with pytest.raises(ToolError) as caught:
        resolver.resolve(resolver.project.tool_pin("staticcheck"))
    message = str(caught.value)
    assert "\n" not in message and message.startswith("staticcheck: checksum database sumdb.test")
    assert "example.com/lintkit@v1.2.0" in message and "GONOSUMDB" in message


def test_a_database_answer_not_in_its_tree_is_an_integrity_error(
    tmp_path: Path, proxy: Proxy, db: SumDB
) -> None:
    publish_tool(proxy, db, "example.com/lintkit", "v1.2.0")
    forged = fake_h1("forged")
    db.lie("example.com/lintkit", "v1.2.0", f"example.com/lintkit v1.2.0 {forged}\n".encode())
    resolver = Resolver(project(tmp_path, f"{LINT}@v1.2.0", modenv(proxy, db)))
    with pytest.raises(IntegrityError):
        resolver.resolve(resolver.project.tool_pin("staticcheck"))


def test_a_proxy_answering_for_another_version_is_not_taken(
    tmp_path: Path, proxy: Proxy, db: SumDB
) -> None:
    publish_tool(proxy, db, "example.com/lintkit", "v1.2.0")
    proxy.files["/example.com/lintkit/@v/v1.2.0.info"] = b'{"Version":"v1.3.0"}'
    resolver = Resolver(project(tmp_path, f"{LINT}@v1.2.0", modenv(proxy, db)))
    with pytest.raises(SourceError, match="answers for 'v1.3.0'"):
        resolver.resolve(resolver.project.tool_pin("staticcheck"))


def test_fetch_variables_profile_then_toolchain_goproxy_then_environment(tmp_path: Path) -> None:
    env = {"GOPROXY": "https://env.example", "GOPRIVATE": "corp.example", "GONOSUMDB": ""}
    env["GOBUILD_CACHE"] = os.environ["GOBUILD_CACHE"]
    plain = project(tmp_path, f"{LINT}@v1.2.0", env, name="plain")
    assert fetch_variables(plain) == {"GOPROXY": "https://env.example", "GOPRIVATE": "corp.example"}
    toolchain = project(
        tmp_path, f"{LINT}@v1.2.0", env, 'goproxy = "https://tc.example"\n', name="tc"
    )
    assert fetch_variables(toolchain)["GOPROXY"] == "https://tc.example"
    profiled = project(
        tmp_path,
        f"{LINT}@v1.2.0",
        env,
        'goproxy = "https://tc.example"\n\n[profiles.dev]\ngoproxy = "https://p.example"\n'
        'gonoproxy = "none.example"\n',
        name="profiled",
    )
    assert fetch_variables(profiled) == {
        "GOPROXY": "https://p.example",
        "GOPRIVATE": "corp.example",
        "GONOPROXY": "none.example",
    }

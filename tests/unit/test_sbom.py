"""The SBOM of a binary from its build info (the recorded real outputs of
tests/fixtures/go_version_m): valid CycloneDX 1.6 by the schema the library ships,
the same bytes for the same inputs in any process, every module with its purl and
hash, the build's settings, and no randomness or clock anywhere."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import socket
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from gobuild.errors import IntegrityError
from gobuild.release import sbom
from gobuild.release.buildinfo import DEVEL, BuildInfo, Module, parse_buildinfo
from gobuild.release.sbom import sbom_json

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "go_version_m"
RECORDED = sorted(p.name for p in FIXTURES.glob("*.txt"))
SHA = "5f" * 32
WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parent.parent.parent


def recorded(name: str) -> BuildInfo:
    return parse_buildinfo((FIXTURES / name).read_text(), "demo")


def make(info: BuildInfo, **overrides: Any) -> str:
    args: dict[str, Any] = {
        "name": "demo",
        "version": "1.2.3",
        "binary_sha256": SHA,
        "timestamp": WHEN,
    }
    args.update(overrides)
    return sbom_json(info, **args)


def components(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["bom-ref"]: c for c in doc["components"]}


def props(component: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p["name"], p["value"]) for p in component.get("properties", [])]


def hex_of(h1: str) -> str:
    assert h1.startswith("h1:")
    return base64.b64decode(h1[3:]).hex()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network use: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize("name", RECORDED)
def test_the_sbom_is_valid_cyclonedx_1_6_offline(name: str) -> None:
    validator = JsonStrictValidator(SchemaVersion.V1_6)
    text = make(recorded(name))
    assert validator.validate_str(text) is None
    doc = json.loads(text)
    assert (doc["bomFormat"], doc["specVersion"], doc["version"]) == ("CycloneDX", "1.6", 1)
    assert doc["$schema"] == "http://cyclonedx.org/schema/bom-1.6.schema.json"
    # The validator is not vacuous: a field the schema does not know fails it.
    doc["metadata"]["component"]["colour"] = "blue"
    assert validator.validate_str(json.dumps(doc)) is not None


def test_the_same_inputs_give_the_same_bytes_in_another_process() -> None:
    name = "go1.27.3-tagged.txt"
    here = make(recorded(name))
    assert make(recorded(name)) == here
    script = (
        "import sys\n"
        "from datetime import datetime, timezone\n"
        "from pathlib import Path\n"
        "from gobuild.release.buildinfo import parse_buildinfo\n"
        "from gobuild.release.sbom import sbom_json\n"
        "info = parse_buildinfo(Path(sys.argv[1]).read_text(), 'demo')\n"
        "when = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)\n"
        "sys.stdout.write(sbom_json(info, name='demo', version='1.2.3',\n"
        "                           binary_sha256=sys.argv[2], timestamp=when))\n"
    )
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONDONTWRITEBYTECODE": "1"}
        res = subprocess.run(
            [sys.executable, "-c", script, str(FIXTURES / name), SHA],
            env=env, cwd=REPO, capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert res.stdout == here


def test_the_order_of_the_build_info_does_not_change_the_bytes() -> None:
    info = recorded("go1.22.10-novcs.txt")
    shuffled = dataclasses.replace(info, deps=info.deps[::-1], settings=info.settings[::-1])
    assert make(shuffled) == make(info)


def test_no_clock_and_no_randomness_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    # What the library would reach for when a value is missing: the time (metadata's
    # default timestamp), uuid4 (the default serial number), random (bom-refs).
    import cyclonedx.contrib.bom.utils
    import cyclonedx.model.bom

    def refuse(*args: object) -> object:
        raise AssertionError("clock or randomness used")

    monkeypatch.setattr(cyclonedx.model.bom, "_get_now_utc", refuse)
    monkeypatch.setattr(cyclonedx.model.bom, "uuid4", refuse)
    monkeypatch.setattr(cyclonedx.contrib.bom.utils, "random", refuse)
    monkeypatch.setattr(uuid, "uuid4", refuse)
    doc = json.loads(make(recorded("go1.27.3-tagged.txt")))
    assert doc["metadata"]["timestamp"] == "2024-05-01T12:00:00+00:00"
    refs = [c["bom-ref"] for c in doc["components"]] + [doc["metadata"]["component"]["bom-ref"]]
    assert all(r.startswith(("pkg:golang/", "binary:")) for r in refs), refs


def test_the_serial_number_is_derived_from_the_binary() -> None:
    info = recorded("go1.22.10-vcs.txt")
    serial = json.loads(make(info))["serialNumber"]
    assert serial.startswith("urn:uuid:")
    assert uuid.UUID(serial.removeprefix("urn:uuid:")).version == 5
    assert json.loads(make(info, timestamp=WHEN + timedelta(days=1)))["serialNumber"] == serial
    others = {
        json.loads(make(info, binary_sha256="6f" * 32))["serialNumber"],
        json.loads(make(info, name="demo2"))["serialNumber"],
        json.loads(make(info, version="1.2.4"))["serialNumber"],
    }
    assert serial not in others and len(others) == 3
    # A name and a version are read apart, whatever they hold.
    apart = make(info, name="demo", version="1 2"), make(info, name="demo 1", version="2")
    assert json.loads(apart[0])["serialNumber"] != json.loads(apart[1])["serialNumber"]


def test_the_timestamp_is_the_one_given_in_utc() -> None:
    info = recorded("go1.22.10-vcs.txt")
    cest = datetime(2024, 5, 1, 14, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    assert json.loads(make(info, timestamp=cest))["metadata"]["timestamp"] == (
        "2024-05-01T12:00:05+00:00"
    )
    with pytest.raises(ValueError, match="without a timezone"):
        make(info, timestamp=datetime(2024, 5, 1, 12, 0))


@pytest.mark.parametrize("digest", ["", "5F" * 32, "5f" * 31, "5f" * 32 + "\n", "zz" * 32])
def test_the_binary_digest_must_be_hex_sha256(digest: str) -> None:
    with pytest.raises(ValueError, match="not a hex SHA-256"):
        make(recorded("go1.22.10-vcs.txt"), binary_sha256=digest)


@pytest.mark.parametrize("name", RECORDED)
def test_every_module_is_listed_with_its_purl_and_hash(name: str) -> None:
    info = recorded(name)
    got = components(json.loads(make(info)))
    sampler = "pkg:golang/rsc.io/sampler@v1.99.99"
    quote = "pkg:golang/rsc.io/quote@v1.5.2"
    text = "pkg:golang/golang.org/x/text@v0.0.0-20170915032832-14c0d48ead0c"
    local = "pkg:golang/example.com/local"
    assert info.main is not None
    main = "pkg:golang/example.com/demo" + (
        "" if info.main.version == DEVEL else "@" + info.main.version.replace("+", "%2B")
    )
    std = f"pkg:golang/std@{info.go_version}"
    assert sorted(got) == sorted([main, local, text, quote, sampler, std])
    for ref, component in got.items():
        assert component["purl"] == ref
        assert component["type"] == "library"
    # Modules from the proxy: the h1 as go.sum spells it and as its SHA-256.
    for dep, ref in zip(info.deps[1:], (text, quote, sampler), strict=True):
        linked = dep.linked
        assert linked.sum is not None
        assert (got[ref]["name"], got[ref]["version"]) == (linked.path, linked.version)
        assert got[ref]["hashes"] == [{"alg": "SHA-256", "content": hex_of(linked.sum)}]
        assert (sbom.SUM, linked.sum) in props(got[ref])
    assert got[quote]["hashes"][0]["content"] == (
        "c397dccac8ebc7bcaab43fda3be43046361938a9da33d521d9be34b44953b376"
    )
    # A replaced module is the replacement, saying what it stands in for.
    assert (sbom.REPLACES, "rsc.io/sampler@v1.3.0") in props(got[sampler])
    assert not any(k == sbom.REPLACES for k, _ in props(got[quote]))
    # A directory replacement: the module's path, no version, the directory.
    assert (got[local]["name"], got[local]["version"]) == ("example.com/local", DEVEL)
    assert "hashes" not in got[local]
    assert props(got[local]) == [
        (sbom.DIRECTORY, "./local"),
        (sbom.REPLACES, "example.com/local@v0.0.0"),
    ]
    # The main module and the standard library.
    assert (got[main]["name"], got[main]["version"]) == ("example.com/demo", info.main.version)
    assert "hashes" not in got[main]
    assert (got[std]["name"], got[std]["version"]) == ("std", info.go_version)


def test_the_binary_is_the_documents_subject_with_its_build() -> None:
    info = recorded("go1.22.10-novcs.txt")
    doc = json.loads(make(info, name="demo", version="1.2.3"))
    binary = doc["metadata"]["component"]
    assert (binary["type"], binary["name"], binary["version"]) == ("application", "demo", "1.2.3")
    assert binary["hashes"] == [{"alg": "SHA-256", "content": SHA}]
    got = props(binary)
    for key, value in info.settings:
        assert (sbom.SETTING + key, value) in got
    assert (sbom.SETTING + "-ldflags", "-X 'main.version=v1.2.3 \"quoted\"\ttab'") in got
    assert (sbom.SETTING + "CGO_CFLAGS", "") in got
    assert ("cdx:gomod:build:env:GOVERSION", "go1.22.10") in got
    assert ("cdx:gomod:build:env:GOOS", "linux") in got
    assert ("cdx:gomod:build:env:GOARCH", "amd64") in got
    assert ("cdx:gomod:build:env:CGO_ENABLED", "1") in got
    assert (sbom.MAIN_PACKAGE, "example.com/demo/cmd/demo") in got
    assert len(got) == len(info.settings) + 5
    assert doc["metadata"]["tools"] == {
        "components": [{"name": "gobuild", "type": "application", "version": "0.1.0"}]
    }


def test_build_tags_are_the_taxonomys_one_property_each() -> None:
    got = props(json.loads(make(recorded("go1.27.3-tagged.txt")))["metadata"]["component"])
    assert [v for k, v in got if k == sbom.BUILD_TAG] == ["netgo", "osusergo"]
    untagged = json.loads(make(recorded("go1.27.3-dirty-arm64.txt")))["metadata"]["component"]
    assert not any(k == sbom.BUILD_TAG for k, _ in props(untagged))
    assert ("cdx:gomod:build:env:GOARCH", "arm64") in props(untagged)


def test_the_main_module_depends_on_every_module_and_the_rest_is_unknown() -> None:
    doc = json.loads(make(recorded("go1.27.3-tagged.txt")))
    main = "pkg:golang/example.com/demo@v1.2.3"
    others = sorted(r for r in components(doc) if r != main)
    graph = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert graph == {"binary:demo@1.2.3": [main], main: others, **{r: [] for r in others}}
    assert doc["compositions"] == [
        {"aggregate": "complete", "dependencies": ["binary:demo@1.2.3", main]},
        {"aggregate": "unknown", "dependencies": others},
    ]


def test_without_a_main_module_the_binary_depends_on_the_modules() -> None:
    info = BuildInfo(
        go_version="go1.22.10 X:loopvar",
        path="command-line-arguments",
        main=None,
        deps=(Module("rsc.io/quote", "v1.5.2", "h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y="),),
        settings=(("GOOS", "linux"),),
    )
    text = make(info)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    doc = json.loads(text)
    graph = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    # A GOEXPERIMENT suffix stays in GOVERSION; std is the release.
    assert graph["binary:demo@1.2.3"] == [
        "pkg:golang/rsc.io/quote@v1.5.2",
        "pkg:golang/std@go1.22.10",
    ]
    binary = doc["metadata"]["component"]
    assert ("cdx:gomod:build:env:GOVERSION", "go1.22.10 X:loopvar") in props(binary)
    assert doc["compositions"][0] == {
        "aggregate": "complete",
        "dependencies": ["binary:demo@1.2.3"],
    }


def test_a_sum_that_is_not_h1_is_kept_without_a_hash_and_a_bad_h1_is_refused() -> None:
    def with_sum(s: str) -> BuildInfo:
        return BuildInfo("go1.22.10", "m", Module("m", DEVEL), (Module("a", "v1.0.0", s),), ())

    doc = json.loads(make(with_sum("h2:future")))
    [a] = [c for c in doc["components"] if c["name"] == "a"]
    assert "hashes" not in a and props(a) == [(sbom.SUM, "h2:future")]
    with pytest.raises(IntegrityError, match="h1:AAAA"):
        make(with_sum("h1:AAAA"))


def test_module_paths_keep_their_case_and_escape_in_purls() -> None:
    info = BuildInfo(
        "go1.27.3",
        "github.com/Azure/tool/cmd/x",
        Module("github.com/Azure/tool", "v1.0.0-rc.1+incompatible"),
        (Module("gopkg.in/yaml.v3", "v3.0.1", "h1:fxVm/GzAzEWqLHuvctI91KS9hhNmmWOoWu0XTYJS7CA="),),
        (),
    )
    refs = set(components(json.loads(make(info))))
    assert "pkg:golang/github.com/Azure/tool@v1.0.0-rc.1%2Bincompatible" in refs
    assert "pkg:golang/gopkg.in/yaml.v3@v3.0.1" in refs

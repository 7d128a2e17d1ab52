"""The registry test infrastructure itself: tests/registryenv.py against Debian's
docker-registry (distribution 2.8), and tests/faultproxy.py in front of it.

`doit publish`'s tests trust these helpers to say what reached the registry, so each
helper is checked here against values computed independently (hashlib, gzip, json).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import os
import ssl
from pathlib import Path

import pytest

from tests import registryenv as reg
from tests.faultproxy import FaultProxy, Logged
from tests.functional.conftest import MakeRegistry
from tests.netproxy import TestCA

REPO = "demo/app"
SBOM = "application/vnd.cyclonedx+json"
PROVENANCE = "application/vnd.in-toto+json"


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# -- pushing and reading -----------------------------------------------------------------


def test_push_image_writes_an_oci_index_of_per_platform_manifests(
    registry: reg.Registry,
) -> None:
    digest = reg.push_image(registry, REPO, "v1")

    body, content_type, served = reg.manifest(registry, REPO, "v1")
    assert content_type == reg.OCI_INDEX
    assert served == digest == _sha(body)
    index = json.loads(body)
    assert index["mediaType"] == reg.OCI_INDEX
    assert [m["platform"] for m in index["manifests"]] == [
        {"os": "linux", "architecture": "amd64"},
        {"os": "linux", "architecture": "arm64"},
    ]
    manifest_digests = [m["digest"] for m in index["manifests"]]
    assert len(set(manifest_digests)) == 2  # the marker file makes the platforms differ

    for entry in index["manifests"]:
        body, content_type, served = reg.manifest(registry, REPO, entry["digest"])
        assert (content_type, served, len(body)) == (
            reg.OCI_MANIFEST,
            entry["digest"],
            entry["size"],
        )
        image = json.loads(body)
        assert image["config"]["mediaType"] == reg.OCI_CONFIG
        assert [layer["mediaType"] for layer in image["layers"]] == [reg.OCI_LAYER_GZIP]
        config = json.loads(reg.blob(registry, REPO, image["config"]["digest"]))
        assert (config["os"], config["architecture"]) == (
            "linux",
            entry["platform"]["architecture"],
        )
        assert config["config"]["Env"] == [reg.PATH_ENV]
        layer = reg.blob(registry, REPO, image["layers"][0]["digest"])
        assert config["rootfs"] == {"type": "layers", "diff_ids": [_sha(gzip.decompress(layer))]}


def test_push_image_is_deterministic(registry: reg.Registry) -> None:
    first = reg.push_image(registry, REPO, "v1")
    assert reg.push_image(registry, "other/app", "v2") == first
    changed = reg.push_image(registry, REPO, "v3", files={"etc/motd": b"hi\n"})
    assert changed != first
    assert reg.manifest(registry, REPO, "v1")[2] == first  # v3 did not move v1


def test_image_file_reads_each_platforms_files(registry: reg.Registry) -> None:
    platforms = ("linux/amd64", "linux/arm64", "linux/arm/v7")
    reg.push_image(registry, REPO, "v1", platforms=platforms, files={"app/VERSION": b"1.2.3\n"})

    for platform in platforms:
        assert reg.image_file(registry, REPO, "v1", platform, "/etc/platform") == (
            f"{platform}\n".encode()
        )
        assert reg.image_file(registry, REPO, "v1", platform, "app/VERSION") == b"1.2.3\n"
    passwd = reg.image_file(registry, REPO, "v1", "linux/arm64", "etc/passwd")
    assert b"nonroot:x:65532:65532:" in passwd
    with pytest.raises(FileNotFoundError):
        reg.image_file(registry, REPO, "v1", "linux/amd64", "etc/shadow")
    with pytest.raises(LookupError, match="linux/s390x"):
        reg.image_file(registry, REPO, "v1", "linux/s390x", "etc/platform")
    with pytest.raises(LookupError, match="linux/arm/v6"):
        reg.image_file(registry, REPO, "v1", "linux/arm/v6", "etc/platform")


def test_image_file_the_top_layer_wins_and_whiteouts_hide(registry: reg.Registry) -> None:
    layers: list[dict[str, bytes | None]] = [
        {"etc/platform": b"second\n", "srv/a": b"a\n", "srv/b": b"b\n", "var/x": b"x\n"},
        # A whiteout for a file, one for a directory, an opaque directory with a new file.
        {"etc/platform": b"third\n", "etc/group": None, "var": None},
        {"srv/.wh..wh..opq": b"", "srv/c": b"c\n"},
    ]
    reg.push_image(registry, REPO, "v1", platforms=("linux/amd64",), layers=layers)

    def read(path: str) -> bytes:
        return reg.image_file(registry, REPO, "v1", "linux/amd64", path)

    assert read("etc/platform") == b"third\n"
    assert read("etc/passwd") == reg.PASSWD  # from the base, untouched above
    assert read("srv/c") == b"c\n"
    for hidden in ("etc/group", "var/x", "srv/a", "srv/b"):
        with pytest.raises(FileNotFoundError):
            read(hidden)


def test_tags_lists_the_repositorys_tags(registry: reg.Registry) -> None:
    assert reg.tags(registry, REPO) == []
    reg.push_image(registry, REPO, "v1")
    reg.push_image(registry, REPO, "latest")
    assert sorted(reg.tags(registry, REPO)) == ["latest", "v1"]
    assert reg.tags(registry, "other/app") == []


# -- auth, TLS, lifecycle ------------------------------------------------------------------


def test_with_users_anonymous_requests_get_401(make_registry: MakeRegistry) -> None:
    registry = make_registry(users={"alice": "secret"})
    assert registry.url.startswith("http://")  # 2.8 takes basic auth over plain HTTP
    anonymous = registry.endpoint.anonymous()

    answer = reg.request(anonymous, "GET", "/v2/")
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="gobuild-test"'
    with pytest.raises(reg.RegistryError) as refused:
        reg.push_image(anonymous, REPO, "v1")
    assert refused.value.status == 401
    with pytest.raises(reg.RegistryError) as wrong:
        reg.tags(registry.endpoint.as_user("alice", "wrong"), REPO)
    assert wrong.value.status == 401

    assert reg.request(registry, "GET", "/v2/").status == 200
    digest = reg.push_image(registry, REPO, "v1")
    assert reg.tags(registry, REPO) == ["v1"]
    assert reg.manifest(registry, REPO, "v1")[2] == digest


def test_tls_with_the_test_ca(make_registry: MakeRegistry, tmp_path: Path) -> None:
    ca = TestCA(tmp_path / "ca")
    registry = make_registry(users={"alice": "secret"}, tls=ca)
    assert registry.url == f"https://{registry.host}"
    assert registry.cafile == ca.pem

    digest = reg.push_image(registry, REPO, "v1")
    assert reg.manifest(registry, REPO, "v1")[2] == digest
    with pytest.raises(ssl.SSLCertVerificationError):
        reg.tags(reg.Endpoint(registry.url, registry.auth), REPO)


def test_stop_ends_the_registry(make_registry: MakeRegistry) -> None:
    registry = make_registry()
    process = registry._process
    assert process is not None
    registry.stop()
    assert process.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)
    with pytest.raises(ConnectionRefusedError):
        reg.request(registry, "GET", "/v2/")


def test_a_registry_that_does_not_start_reports_its_log(tmp_path: Path) -> None:
    fake = tmp_path / "fake-registry"
    fake.write_text('#!/bin/sh\necho "cannot serve $2: boom" >&2\nexit 3\n')
    fake.chmod(0o755)
    registry = reg.Registry(tmp_path / "r", binary=fake)
    with pytest.raises(RuntimeError, match=r"exited 3[\s\S]*cannot serve .*config.yml: boom"):
        registry.start()


# -- artifacts and referrers -----------------------------------------------------------


def test_distribution_2_8_has_no_referrers_api(registry: reg.Registry) -> None:
    # Why referrers() reads the fallback tag: the route does not exist in 2.8.
    digest = reg.push_image(registry, REPO, "v1")
    answer = reg.request(registry, "GET", f"/v2/{REPO}/referrers/{digest}")
    assert (answer.status, answer.body) == (404, b"404 page not found\n")


def test_artifacts_are_found_through_the_fallback_tag(registry: reg.Registry) -> None:
    index = reg.push_image(registry, REPO, "v1")
    assert reg.referrers(registry, REPO, index) == []

    sbom = reg.push_artifact(registry, REPO, index, SBOM, [(SBOM, b'{"bomFormat":"CycloneDX"}')])
    provenance = reg.push_artifact(
        registry, REPO, index, PROVENANCE, [(PROVENANCE, b"{}")], {"org.example": "x"}
    )

    found = reg.referrers(registry, REPO, index)
    assert [(d["digest"], d["artifactType"]) for d in found] == [
        (sbom, SBOM),
        (provenance, PROVENANCE),
    ]
    assert found[1]["annotations"] == {"org.example": "x"}
    assert [d["digest"] for d in reg.referrers(registry, REPO, index, SBOM)] == [sbom]
    assert reg.fallback_tag(index) in reg.tags(registry, REPO)

    # The registry keeps the OCI 1.1 fields: subject, artifactType, the empty config.
    body, content_type, _ = reg.manifest(registry, REPO, sbom)
    artifact = json.loads(body)
    assert content_type == reg.OCI_MANIFEST
    assert artifact["artifactType"] == SBOM
    assert artifact["config"] == {
        "mediaType": reg.OCI_EMPTY,
        "digest": _sha(b"{}"),
        "size": 2,
    }
    assert artifact["subject"]["digest"] == index
    layer = artifact["layers"][0]
    assert reg.blob(registry, REPO, layer["digest"]) == b'{"bomFormat":"CycloneDX"}'

    platform_digest = json.loads(reg.manifest(registry, REPO, "v1")[0])["manifests"][0]["digest"]
    assert reg.referrers(registry, REPO, platform_digest) == []


# -- FaultProxy ----------------------------------------------------------------------------


def test_a_503_rule_fails_once_then_passes_through(
    registry: reg.Registry, fault_proxy: FaultProxy
) -> None:
    digest = reg.push_image(registry, REPO, "v1")
    via = registry.endpoint.through(fault_proxy.url)
    rule = fault_proxy.fail("GET", r"/manifests/v1$")

    with pytest.raises(reg.RegistryError) as failed:
        reg.manifest(via, REPO, "v1")
    assert failed.value.status == 503
    assert rule.remaining == 0
    assert reg.manifest(via, REPO, "v1")[2] == digest
    path = f"/v2/{REPO}/manifests/v1"
    assert fault_proxy.log == [("GET", path, 503), ("GET", path, 200)]


def test_rules_match_method_and_path_and_count_down(
    registry: reg.Registry, fault_proxy: FaultProxy
) -> None:
    via = registry.endpoint.through(fault_proxy.url)
    fault_proxy.fail("PUT", r"/manifests/", times=2, mode="500")

    assert reg.request(via, "GET", f"/v2/{REPO}/manifests/v1").status == 404  # not a PUT
    for _ in range(2):
        with pytest.raises(reg.RegistryError) as failed:
            reg.push_image(via, REPO, "v1", platforms=("linux/amd64",))
        assert failed.value.status == 500
    assert reg.tags(registry, REPO) == []  # the failed PUTs never reached the registry
    digest = reg.push_image(via, REPO, "v1", platforms=("linux/amd64",))
    assert reg.manifest(registry, REPO, "v1")[2] == digest
    statuses = [entry.status for entry in fault_proxy.log if entry.method == "PUT"]
    assert statuses.count(500) == 2


def test_a_drop_rule_closes_the_connection_without_an_answer(
    registry: reg.Registry, fault_proxy: FaultProxy
) -> None:
    fault_proxy.fail("GET", r"^/v2/$", mode="drop")
    conn = http.client.HTTPConnection("127.0.0.1", fault_proxy.port, timeout=10)
    try:
        conn.request("GET", "/v2/")
        with pytest.raises(http.client.RemoteDisconnected):
            conn.getresponse()
    finally:
        conn.close()
    assert reg.request(registry.endpoint.through(fault_proxy.url), "GET", "/v2/").status == 200
    assert fault_proxy.log == [("GET", "/v2/", "dropped"), ("GET", "/v2/", 200)]


def test_a_dropped_upload_is_a_connection_error_to_the_client(
    registry: reg.Registry, fault_proxy: FaultProxy
) -> None:
    # The body is read before the close, so the client sees a clean EOF, not a reset.
    via = registry.endpoint.through(fault_proxy.url)
    fault_proxy.fail("PUT", r"/blobs/uploads/", mode="drop")
    data = os.urandom(1 << 20)
    with pytest.raises(ConnectionError):
        reg.push_blob(via, REPO, data)
    assert reg.push_blob(via, REPO, data) == _sha(data)
    assert reg.blob(registry, REPO, _sha(data)) == data
    puts = [entry.status for entry in fault_proxy.log if entry.method == "PUT"]
    assert puts == ["dropped", 201]


def test_upload_locations_are_rewritten_to_the_proxy(
    registry: reg.Registry, fault_proxy: FaultProxy
) -> None:
    direct = reg.request(registry, "POST", f"/v2/{REPO}/blobs/uploads/")
    assert direct.headers["Location"].startswith(f"{registry.url}/v2/{REPO}/blobs/uploads/")

    via = registry.endpoint.through(fault_proxy.url)
    started = reg.request(via, "POST", f"/v2/{REPO}/blobs/uploads/")
    assert started.status == 202
    location = started.headers["Location"]
    assert location.startswith(f"{fault_proxy.url}/v2/{REPO}/blobs/uploads/")
    assert started.headers["Docker-Upload-UUID"] in location

    data = b"through the proxy\n"
    finished = reg.request(via, "PUT", f"{location}&digest={_sha(data)}", data)
    assert finished.status == 201
    assert finished.headers["Docker-Content-Digest"] == _sha(data)
    assert finished.headers["Location"].startswith(fault_proxy.url)
    upload_path = location.split("?")[0].removeprefix(fault_proxy.url)
    assert fault_proxy.log[-1] == Logged("PUT", upload_path, 201)
    assert reg.blob(registry, REPO, _sha(data)) == data


def test_push_image_through_the_proxy_matches_a_direct_push(
    registry: reg.Registry, fault_proxy: FaultProxy
) -> None:
    via = registry.endpoint.through(fault_proxy.url)
    assert reg.push_image(via, REPO, "v1") == reg.push_image(registry, "direct/app", "v1")
    posts = [e for e in fault_proxy.log if e.method == "POST"]
    puts = [e for e in fault_proxy.log if e.method == "PUT" and "/blobs/uploads/" in e.path]
    # Each upload's PUT followed its Location back through the proxy: a layer and a
    # config per platform.
    assert len(posts) == len(puts) == 4
    assert reg.image_file(via, REPO, "v1", "linux/arm64", "etc/platform") == b"linux/arm64\n"


def test_chunked_bodies_and_head_lengths_pass_through(
    registry: reg.Registry, fault_proxy: FaultProxy
) -> None:
    via = registry.endpoint.through(fault_proxy.url)
    data = os.urandom(300_000)
    started = reg.request(via, "POST", f"/v2/{REPO}/blobs/uploads/")
    # An iterable body goes out chunked, as Go clients stream an upload of unknown size.
    chunks = (data[i : i + 65536] for i in range(0, len(data), 65536))
    patched = reg.request(via, "PATCH", started.headers["Location"], chunks)
    assert patched.status == 202
    assert patched.headers["Range"] == f"0-{len(data) - 1}"
    finished = reg.request(via, "PUT", f"{patched.headers['Location']}&digest={_sha(data)}")
    assert finished.status == 201

    head = reg.request(via, "HEAD", f"/v2/{REPO}/blobs/{_sha(data)}")
    assert (head.status, head.headers["Content-Length"], head.body) == (200, str(len(data)), b"")
    assert reg.blob(registry, REPO, _sha(data)) == data


def test_fail_rejects_an_unknown_mode(fault_proxy: FaultProxy) -> None:
    with pytest.raises(ValueError, match="'200'"):
        fault_proxy.fail("GET", ".", mode="200")
    with pytest.raises(ValueError, match="'reset'"):
        fault_proxy.fail("GET", ".", mode="reset")

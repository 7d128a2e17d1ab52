"""gobuild.oci without a registry: references, the layout's one serialisation, where
registry credentials come from (a real credential helper script), challenges."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from gobuild.errors import ConfigError, GobuildError
from gobuild.network.credentials import Credential
from gobuild.oci import dockerauth, layout, reference
from gobuild.oci.layout import Descriptor, Layout
from gobuild.oci.registry import _challenge_params

# -- references -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "base_url"),
    [
        ("alpine:3.20", "docker.io", "library/alpine", "3.20",
         "https://registry-1.docker.io/v2/library/alpine"),
        ("acme/app", "docker.io", "acme/app", None, "https://registry-1.docker.io/v2/acme/app"),
        ("ghcr.io/acme/app:v1", "ghcr.io", "acme/app", "v1", "https://ghcr.io/v2/acme/app"),
        ("localhost:5000/app", "localhost:5000", "app", None, "http://localhost:5000/v2/app"),
        ("127.0.0.1:5055/a/b:1", "127.0.0.1:5055", "a/b", "1", "http://127.0.0.1:5055/v2/a/b"),
        ("gcr.io/distroless/static-debian12:nonroot", "gcr.io", "distroless/static-debian12",
         "nonroot", "https://gcr.io/v2/distroless/static-debian12"),
    ],
)  # fmt: skip
def test_references_name_registry_repository_and_tag(
    text: str, registry: str, repository: str, tag: str | None, base_url: str
) -> None:
    ref = reference.parse(text)
    assert (ref.registry, ref.repository, ref.tag, ref.base_url) == (
        registry, repository, tag, base_url,
    )  # fmt: skip


def test_a_digest_is_what_the_manifest_is_asked_for() -> None:
    digest = "sha256:" + "a" * 64
    ref = reference.parse(f"alpine:3.20@{digest}")
    assert ref.identifier == digest
    assert str(ref) == f"docker.io/library/alpine:3.20@{digest}"
    assert reference.parse("alpine").identifier == "latest"


@pytest.mark.parametrize("text", ["Alpine", "ghcr.io/Acme/app", "app:", "a b", "app@sha256:12"])
def test_a_malformed_reference_is_refused_naming_it(text: str) -> None:
    with pytest.raises(ConfigError, match="runtime base"):
        reference.parse(text, "runtime base")


@pytest.mark.parametrize(
    ("registry", "loopback"),
    [("localhost:5000", True), ("127.0.0.1:5055", True), ("[::1]:5000", True),
     ("ghcr.io", False), ("10.0.0.1:5000", False), ("docker.io", False)],
)  # fmt: skip
def test_only_loopback_registries_are_spoken_to_over_http(registry: str, loopback: bool) -> None:
    assert reference.is_loopback(registry) is loopback


# -- the layout ---------------------------------------------------------------------------


def test_documents_have_one_serialisation_and_a_stable_digest(tmp_path: Path) -> None:
    a = Layout.create(tmp_path / "a").put_json({"b": 1, "a": [2, "é"]}, layout.CONFIG)
    b = Layout.create(tmp_path / "b").put_json({"a": [2, "é"], "b": 1}, layout.CONFIG)
    assert a == b
    assert (
        tmp_path / "a" / "blobs" / "sha256" / a.hex
    ).read_bytes() == '{"a":[2,"é"],"b":1}'.encode()
    assert json.loads((tmp_path / "a" / "oci-layout").read_text()) == {
        "imageLayoutVersion": "1.0.0"
    }


def test_walk_reaches_every_blob_of_an_index(tmp_path: Path) -> None:
    store = Layout.create(tmp_path)
    layer = store.put_bytes(b"layer", layout.LAYER_GZIP)
    config = store.put_json({"architecture": "amd64"}, layout.CONFIG)
    manifest = store.put_json(
        {"schemaVersion": 2, "mediaType": layout.MANIFEST, "config": config.to_json(),
         "layers": [layer.to_json()]},
        layout.MANIFEST, platform={"os": "linux", "architecture": "amd64"},
    )  # fmt: skip
    index = store.put_json(
        {"schemaVersion": 2, "mediaType": layout.INDEX, "manifests": [manifest.to_json()]},
        layout.INDEX, annotations={layout.REF_NAME: "v1"},
    )  # fmt: skip
    store.write_index([index])
    (top,) = Layout(tmp_path).entries()
    assert top == index
    assert [d.digest for d in store.walk(top)] == [
        index.digest, manifest.digest, config.digest, layer.digest,
    ]  # fmt: skip


def test_a_changed_blob_is_refused_when_read(tmp_path: Path) -> None:
    store = Layout.create(tmp_path)
    d = store.put_json({"a": 1}, layout.CONFIG)
    store.blob(d.digest).write_bytes(b'{"a":2}')
    with pytest.raises(GobuildError, match="does not match its digest"):
        store.read_json(d)


def test_descriptors_round_trip_and_malformed_ones_are_named() -> None:
    d = Descriptor(layout.MANIFEST, "sha256:" + "b" * 64, 10, {"os": "linux"}, {"k": "v"}, "x/y")
    assert Descriptor.from_json(d.to_json()) == d
    with pytest.raises(GobuildError, match="malformed OCI descriptor"):
        Descriptor.from_json({"digest": "sha256:00"})


# -- credentials --------------------------------------------------------------------------


def _config(tmp_path: Path, document: dict[str, object]) -> dict[str, str]:
    (tmp_path / "docker").mkdir(exist_ok=True)
    (tmp_path / "docker" / "config.json").write_text(json.dumps(document))
    return {"DOCKER_CONFIG": str(tmp_path / "docker"), "PATH": os.environ["PATH"]}


def _header(cred: Credential | None) -> str:
    assert cred is not None
    return dict(cred.headers)["Authorization"]


def test_docker_config_auths_give_basic_credentials(tmp_path: Path) -> None:
    auth = base64.b64encode(b"alice:s3cret-pass").decode()
    env = _config(tmp_path, {"auths": {"ghcr.io": {"auth": auth}}})
    cred = dockerauth.credential_for("ghcr.io", env)
    assert cred is not None
    assert _header(cred) == "Basic " + auth
    assert "s3cret-pass" in cred.all_secrets()
    assert "s3cret" not in repr(cred) and "docker" in cred.source.lower()
    assert dockerauth.credential_for("quay.io", env) is None


def test_docker_hub_credentials_are_filed_under_its_v1_url(tmp_path: Path) -> None:
    auth = base64.b64encode(b"bob:pw12345").decode()
    env = _config(tmp_path, {"auths": {"https://index.docker.io/v1/": {"auth": auth}}})
    assert _header(dockerauth.credential_for("docker.io", env)) == "Basic " + auth


def test_environment_credentials_come_first(tmp_path: Path) -> None:
    env = _config(tmp_path, {"auths": {"ghcr.io": {"auth": base64.b64encode(b"a:b").decode()}}})
    env |= {"GOBUILD_REGISTRY_USERNAME": "ci", "GOBUILD_REGISTRY_PASSWORD": "token-123"}
    cred = dockerauth.credential_for("ghcr.io", env)
    assert _header(cred) == "Basic " + base64.b64encode(b"ci:token-123").decode()
    assert cred is not None and "GOBUILD_REGISTRY_USERNAME" in cred.source


def test_a_credential_helper_is_asked_with_the_server_on_stdin(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-fake"
    helper.write_text(
        "#!/bin/sh\n"
        "read server\n"
        f'echo "$1 $server" >> {tmp_path}/asked\n'
        'if [ "$server" = "ghcr.io" ]; then\n'
        '  echo \'{"ServerURL":"ghcr.io","Username":"helped","Secret":"from-helper"}\'\n'
        'else echo "credentials not found in native keychain"; exit 1; fi\n'
    )
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    env = _config(tmp_path, {"credsStore": "fake"})
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    cred = dockerauth.credential_for("ghcr.io", env)
    assert _header(cred) == "Basic " + base64.b64encode(b"helped:from-helper").decode()
    assert dockerauth.credential_for("quay.io", env) is None
    assert (tmp_path / "asked").read_text().splitlines() == ["get ghcr.io", "get quay.io"]


def test_an_identity_token_or_broken_auth_is_one_clear_error(tmp_path: Path) -> None:
    env = _config(tmp_path, {"auths": {"ghcr.io": {"identitytoken": "refresh-xyz"}}})
    with pytest.raises(ConfigError, match="identity token") as caught:
        dockerauth.credential_for("ghcr.io", env)
    assert "refresh-xyz" not in str(caught.value)
    env = _config(tmp_path, {"auths": {"ghcr.io": {"auth": "bm90LWEtcGFpcg=="}}})  # "not-a-pair"
    with pytest.raises(ConfigError, match="not base64 of user:password"):
        dockerauth.credential_for("ghcr.io", env)


def test_no_config_means_anonymous(tmp_path: Path) -> None:
    assert dockerauth.credential_for("ghcr.io", {"HOME": str(tmp_path)}) is None


def test_bearer_challenges_are_parsed() -> None:
    text = 'realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"'
    assert _challenge_params(text) == {
        "realm": "https://auth.example/token",
        "service": "registry.example",
        "scope": "repository:a/b:pull,push",
    }

"""The generated Dockerfile with ``[cache] remote``, built on the local engine: the build
stage's go command uses the shared Go build cache through the ``aws`` secret, a builder
whose own cache was emptied gets the compiled packages from the bucket, the keys never
reach the image, and a remote that does not answer costs one warning.

The S3-compatible server listens on the Docker bridge's address (a build's RUN steps
have a network of their own, where 127.0.0.1 is the container). The plugin is built in
the image's ``cacheprog`` stage from the module proxy, as a user's build would; its h1
is written into gobuild.lock by hand (what `gobuild lock` records, without the network).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gobuild.gocache.credentials import SECRET_ID, write_credentials
from gobuild.project import lock as lockfile
from gobuild.project.platforms import host
from tests import dockerenv, s3env
from tests.buildenv import GoEnv, doit, git, make_repo
from tests.cacheplugin import PLUGIN_LOCK
from tests.functional.conftest import ENGINE_ALPINE
from tests.functional.test_docker import gobuild
from tests.functional.test_docker_engine import image_report

pytestmark = [
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.skipif(host().key != "linux-amd64", reason="real archives are linux/amd64"),
]

GO = "1.27.3"  # GOCACHEPROG needs Go 1.24
TAG = "gobuild-test/sharedcache"


def bridge_address() -> str | None:
    """The Docker bridge's gateway: this machine, as a build's RUN steps reach it."""
    res = dockerenv.docker("network", "inspect", "bridge", check=False)
    if res.returncode != 0:
        return None
    configs = json.loads(res.stdout)[0].get("IPAM", {}).get("Config") or []
    return next((str(c["Gateway"]) for c in configs if ":" not in c.get("Gateway", ":")), None)


@pytest.fixture
def bridge_s3(s3_tools: tuple[Path, Path], tmp_path: Path, engine: str) -> Iterator[s3env.S3Server]:
    """An S3 server the engine's builds reach (on the bridge's address); else skip."""
    address = bridge_address()
    if address is None:
        pytest.skip("the engine has no IPv4 bridge network")
    with s3env.S3Server(tmp_path / "s3", s3_tools[1], address=address) as server:
        yield server


def build(root: Path, version: str, secret: Path | None) -> str:
    """`docker build` of the generated Dockerfile (BuildKit, plain progress); its output."""
    argv = [dockerenv.DOCKER, "build", "--progress=plain", "-t", f"{TAG}:{version}",
            "--build-arg", f"VERSION={version}"]  # fmt: skip
    if secret is not None:
        argv += ["--secret", f"id={SECRET_ID},src={secret}"]
    res = subprocess.run([*argv, str(root)], env={**dockerenv.env(), "DOCKER_BUILDKIT": "1"},
                         capture_output=True, text=True, check=False, timeout=1800)  # fmt: skip
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    return out


# The warning as the build stage printed it (plain progress: "#12 0.51 gobuild: ..."),
# not the step's command line, which holds the same words.
WARNED = re.compile(
    r"(?m)^#\d+ [\d.]+ gobuild: warning: the shared Go build cache \S+ did not answer"
)


def forget_builds() -> None:
    """Empty the builder's cache mounts (its Go build cache): another builder, as far
    as the go command can tell; the stages' layers stay (the plugin is not rebuilt)."""
    dockerenv.docker("builder", "prune", "-f", "--filter", "type=exec.cachemount")


def test_an_image_build_shares_the_go_build_cache_and_keeps_the_keys_out(
    tmp_path: Path, go: GoEnv, engine: str, bridge_s3: s3env.S3Server
) -> None:
    dockerenv.ensure_golang(GO, ENGINE_ALPINE)
    server = bridge_s3
    toml = (
        f'[docker]\nbinary = "a"\nname = "{TAG}"\n'
        f'[cache]\nremote = "s3://{server.bucket}/img"\nendpoint = "{server.url}"\n'
    )
    root = make_repo(tmp_path / "r", "twobin", go, toml, pin=GO)
    lockfile.record_tool(root / "gobuild.lock", state_dir=root / ".gobuild",
                         name="go-cache-plugin", tool=PLUGIN_LOCK)  # fmt: skip
    code, _, err = gobuild(root, "generate")
    assert code == 0, err
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "generated files")
    keys = {"AWS_ACCESS_KEY_ID": server.access_key, "AWS_SECRET_ACCESS_KEY": server.secret_key}
    secret = write_credentials(keys, tmp_path)
    assert secret is not None and secret.stat().st_mode & 0o777 == 0o600
    tags = [f"{TAG}:{v}" for v in ("v1", "v3")]
    try:
        forget_builds()
        first = build(root, "v1", secret)
        stored = server.objects("img/")
        assert any(k.startswith("img/output/") for k in stored), first[-3000:]
        before = server.operations()

        # Another builder (no Go build cache of its own), through `doit image`, which
        # hands the keys from the environment to the build as the aws secret: the
        # bucket's objects are used.
        forget_builds()
        res = doit(root, go, "image", env=keys)
        second = res.stdout + res.stderr
        tags.append(image_report(res)["image"].split()[0])
        after = server.operations()
        fetched = after["s3_GetObject 200"] - before["s3_GetObject 200"]
        assert fetched >= 10, (before, after, second[-2000:])
        new = set(server.objects("img/")) - set(stored)
        # Only what differs (the link, stamped with another version) is stored again.
        assert len(new) <= len(stored) // 4, sorted(new)
        assert "(same bytes as dist/a)" in second or "no host build" in second

        # The keys: only in the secret mount, never in the output, a layer or the history.
        for text in (first, second):
            assert server.secret_key not in text and server.access_key not in text
        saved = dockerenv.docker("save", tags[-1]).stdout
        history = dockerenv.docker("history", "--no-trunc", tags[-1]).stdout
        for blob in (saved, history, (root / "Dockerfile").read_bytes()):
            assert server.secret_key.encode() not in blob
            assert server.access_key.encode() not in blob

        # A remote that does not answer: one warning, and the build goes on.
        server.stop()
        forget_builds()
        third = build(root, "v3", secret)
        assert len(WARNED.findall(third)) == 1, third[-3000:]
        assert not WARNED.findall(first) and not WARNED.findall(second)
        out = dockerenv.docker("run", "--rm", f"{TAG}:v3").stdout.decode()
        assert "version=v3" in out
    finally:
        dockerenv.remove_images(*tags)

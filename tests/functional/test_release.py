"""`doit release`: archives of the dist binaries, SHA256SUMS and release.json.

A real module (two binaries) built with the pinned Go for three platforms, tagged
v1.2.3: each archive holds its binary (the very bytes of dist/) and the project's LICENSE
and README, sorted, owned by 0:0, dated by the commit; windows gets a zip. Two clean
clones in different directories release bit-identical archives, SHA256SUMS and records.
An untagged or dirty tree is refused in one line unless --snapshot.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from gobuild.project.platforms import host
from tests.buildenv import BIN, GoEnv, doit, git, make_repo, run_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(host().key != "linux-amd64", reason="real archives are linux/amd64"),
]

CONFIG = '[dist]\nplatforms = ["linux/amd64", "linux/arm64", "windows/amd64"]\n'
STEMS = [
    f"{b}_1.2.3_{p}" for b in ("a", "b") for p in ("linux_amd64", "linux_arm64", "windows_amd64")
]
NAMES = sorted(f"{s}{'.zip' if 'windows' in s else '.tar.gz'}" for s in STEMS)
SBOMS = sorted(f"{s}.cdx.json" for s in STEMS)


def release_repo(path: Path, go: GoEnv, *, generated: bool = False) -> Path:
    root = make_repo(path, "twobin", go, CONFIG, init_git=False)
    (root / "LICENSE").write_text("MIT\n")
    if generated:  # the Makefile committed, as a team without Python gets it
        res = doit(root, go, "generate")
        assert res.returncode == 0, res.stdout + res.stderr
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    git(root, "tag", "v1.2.3")
    return root


def released(root: Path) -> dict[str, bytes]:
    folder = root / "dist" / "release"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_release_archives_every_dist_binary(tmp_path: Path, go: GoEnv) -> None:
    root = release_repo(tmp_path / "one", go)
    res = doit(root, go, "release")
    assert res.returncode == 0, res.stdout + res.stderr
    files = released(root)
    assert sorted(files) == sorted([*NAMES, *SBOMS, "SHA256SUMS", "release.json"])
    epoch = int(git(root, "log", "-1", "--format=%ct"))
    with tarfile.open(root / "dist" / "release" / "a_1.2.3_linux_arm64.tar.gz") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["LICENSE", "README.md", "a"]
        assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members} == {
            (0, 0, "", "", epoch)
        }
        assert [m.mode for m in members] == [0o644, 0o644, 0o755]
        inside = tar.extractfile("a")
        assert inside is not None
        assert inside.read() == (root / "dist" / "a_linux_arm64").read_bytes()
    # The gzip header names no file and no time.
    head = files["a_1.2.3_linux_arm64.tar.gz"][:10]
    assert head[3] == 0 and head[4:8] == b"\0\0\0\0"
    with zipfile.ZipFile(root / "dist" / "release" / "b_1.2.3_windows_amd64.zip") as zf:
        assert zf.namelist() == ["LICENSE", "README.md", "b.exe"]
        assert zf.read("b.exe") == (root / "dist" / "b_windows_amd64.exe").read_bytes()
    # SHA256SUMS over the archives, as sha256sum -c reads it.
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=root / "dist" / "release",
                           capture_output=True, text=True, check=False)  # fmt: skip
    assert check.returncode == 0 and check.stdout.count(": OK") == len(NAMES), check.stdout
    record = json.loads(files["release.json"])
    assert (record["version"], record["snapshot"], record["go"]) == ("v1.2.3", False, "1.22.10")
    assert record["commit"] == git(root, "rev-parse", "HEAD")
    assert record["project"] == "example.com/twobin"
    listed = {a["name"]: a for a in record["artifacts"]}
    assert sorted(listed) == sorted([*NAMES, *SBOMS, "SHA256SUMS"])
    # Each binary's SBOM: from its own build info, about the very bytes archived.
    sbom = json.loads(files["a_1.2.3_linux_arm64.cdx.json"])
    assert sbom["specVersion"] == "1.6" and sbom["metadata"]["timestamp"].startswith("20")
    component = sbom["metadata"]["component"]
    assert (component["name"], component["version"]) == ("a", "v1.2.3")
    binary = (root / "dist" / "a_linux_arm64").read_bytes()
    assert component["hashes"] == [
        {"alg": "SHA-256", "content": hashlib.sha256(binary).hexdigest()}
    ]
    props = {p["name"]: p["value"] for p in component.get("properties", [])}
    assert props.get("cdx:gomod:build:env:GOARCH") == "arm64", props
    assert listed["a_1.2.3_linux_arm64.cdx.json"]["kind"] == "sbom"
    for name, data in files.items():
        if name != "release.json":
            assert listed[name]["sha256"] == hashlib.sha256(data).hexdigest()
    assert (listed[NAMES[0]]["binary"], listed[NAMES[0]]["platform"]) == ("a", "linux/amd64")
    # gobuild release verify accepts it, and names a changed byte.
    verified = subprocess.run([str(BIN / "gobuild"), "-C", str(root), "release", "verify"],
                              capture_output=True, text=True, check=False)  # fmt: skip
    assert verified.returncode == 0, verified.stderr
    archive = root / "dist" / "release" / NAMES[0]
    flipped = bytearray(archive.read_bytes())
    flipped[100] ^= 1
    archive.write_bytes(bytes(flipped))
    verified = subprocess.run([str(BIN / "gobuild"), "-C", str(root), "release", "verify"],
                              capture_output=True, text=True, check=False)  # fmt: skip
    assert verified.returncode == 1
    assert verified.stderr.startswith(f"gobuild: {NAMES[0]}: sha256 "), verified.stderr
    (root / "dist" / "release" / SBOMS[0]).unlink()
    verified = subprocess.run([str(BIN / "gobuild"), "-C", str(root), "release", "verify"],
                              capture_output=True, text=True, check=False)  # fmt: skip
    assert f"gobuild: {SBOMS[0]}: missing\n" in verified.stderr, verified.stderr


def test_two_clean_clones_release_the_same_bytes(tmp_path: Path, go: GoEnv) -> None:
    origin = release_repo(tmp_path / "origin", go)
    clones = []
    for name in ("first", "elsewhere/second"):
        clone = tmp_path / name
        clone.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
        res = doit(clone, go, "release")
        assert res.returncode == 0, res.stdout + res.stderr
        clones.append(released(clone))
    assert clones[0] == clones[1]
    assert sorted(clones[0]) == sorted([*NAMES, *SBOMS, "SHA256SUMS", "release.json"])


def test_an_untagged_or_dirty_tree_is_a_snapshot_only(tmp_path: Path, go: GoEnv) -> None:
    root = release_repo(tmp_path / "r", go)
    (root / "LICENSE").write_text("MIT, changed\n")
    res = doit(root, go, "release", check=False)
    assert res.returncode != 0
    assert "the tree has uncommitted changes: commit them, or make a --snapshot" in res.stdout
    git(root, "commit", "-qam", "license")
    res = doit(root, go, "release", check=False)
    assert res.returncode != 0
    assert "HEAD has no tag: tag the release (git tag v1.2.3), or make a --snapshot" in res.stdout
    assert not (root / "dist" / "release").exists()
    res = doit(root, go, "release", "--snapshot")
    assert res.returncode == 0, res.stdout + res.stderr
    record = json.loads((root / "dist" / "release" / "release.json").read_text())
    assert record["snapshot"] is True and record["version"].startswith("v1.2.3-1-g")
    version = record["version"][1:]
    assert (root / "dist" / "release" / f"a_{version}_linux_amd64.tar.gz").is_file()


def test_make_release_writes_the_same_bytes_as_doit(tmp_path: Path, go: GoEnv) -> None:
    root = release_repo(tmp_path / "r", go, generated=True)
    goroot = go.cache / "toolchains" / "go1.22.10.linux-amd64" / "go"
    env = {**run_env(go), "PATH": f"{goroot / 'bin'}:/usr/bin:/bin"}  # as install-go leaves it
    made = subprocess.run(["make", "release"], cwd=root, env=env, capture_output=True,
                          text=True, check=False, timeout=1800)  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    by_make = released(root)
    assert sorted(by_make) == sorted([*NAMES, "SHA256SUMS"])
    res = doit(root, go, "release")
    assert res.returncode == 0, res.stdout + res.stderr
    by_doit = released(root)
    # make writes the archives and SHA256SUMS; the SBOMs and the record are doit's.
    assert by_make == {n: d for n, d in by_doit.items() if n in by_make}
    # make refuses what doit refuses.
    (root / "LICENSE").write_text("changed\n")
    made = subprocess.run(["make", "release"], cwd=root, env=env, capture_output=True,
                          text=True, check=False, timeout=1800)  # fmt: skip
    assert made.returncode != 0
    assert (
        "the tree has uncommitted changes: commit them, or make release SNAPSHOT=1" in made.stderr
    )


def test_a_signed_release_carries_provenance_that_verifies(tmp_path: Path, go: GoEnv) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()  # fmt: skip
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)  # fmt: skip
    origin = release_repo(tmp_path / "origin", go)
    (origin / "release.pub").write_bytes(public)
    config = '\n[release]\nsigning_key = "env:RELEASE_KEY"\nverify_key = "release.pub"\n'
    (origin / "gobuild.toml").write_text((origin / "gobuild.toml").read_text() + config)
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "sign releases")
    git(origin, "tag", "-f", "v1.2.3")
    outputs = []
    for name in ("one", "two"):  # two clones: the signed provenance is reproducible too
        clone = tmp_path / name
        subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
        res = doit(clone, go, "release", RELEASE_KEY=private)
        assert res.returncode == 0, res.stdout + res.stderr
        outputs.append(released(clone))
    assert outputs[0] == outputs[1]
    root = tmp_path / "one"
    files = outputs[0]
    envelope = json.loads(files["provenance.intoto.json"])
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    assert sorted(subjects) == sorted([*NAMES, *SBOMS, "SHA256SUMS"])
    assert subjects[NAMES[0]] == hashlib.sha256(files[NAMES[0]]).hexdigest()
    build = statement["predicate"]["buildDefinition"]
    assert build["externalParameters"]["source"]["commit"] == git(root, "rev-parse", "HEAD")
    go_dep = build["resolvedDependencies"][1]
    assert go_dep["uri"] == "pkg:golang/toolchain@go1.22.10" and go_dep["digest"]

    def check(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "gobuild"), "-C", str(root), "release", "verify", *extra],
                              capture_output=True, text=True, check=False)  # fmt: skip

    assert check().returncode == 0  # [release] verify_key
    # A wrong signature: the envelope's own bytes changed.
    sig = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    sig[5] ^= 1
    envelope["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    path = root / "dist" / "release" / "provenance.intoto.json"
    path.write_text(json.dumps(envelope))
    res = check()
    assert res.returncode == 1
    assert "provenance.intoto.json: the signature by key" in res.stderr, res.stderr
    # Another key does not verify it either.
    other = tmp_path / "other.pub"
    other.write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))  # fmt: skip
    assert "no signature by key" in check("--key", str(other)).stderr

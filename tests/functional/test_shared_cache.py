"""``[cache] remote``: doit build and the checks share a Go build cache between machines.

One S3-compatible server on loopback (versitygw with SigV4, tests/s3env.py) per module,
and a module with real dependencies from the module proxy (cobra, toml, uuid, yaml.v3;
go-cmp and testify in its test). Machine A (a checkout, a GOCACHE, the pinned Go 1.27.3
from the test mirror) builds and tests first, through gobuild's own go-cache-plugin
build and verifier; the other machines are clones of the same commit at other paths,
each with a GOCACHE of its own, sharing the toolchain and tool cache (GOBUILD_CACHE):

- machine B finds nearly every lookup in the bucket, and links A's very bytes;
- with the remote stopped the build and the checks run on the local cache, after one
  warning per doit task;
- with every output object in the bucket corrupt, machine C rebuilds what the verifier
  rejects and still links A's bytes, then finds its rebuilt copies;
- with a wrong secret key the build and the checks still succeed (every lookup in the
  bucket fails: a miss to the go command; the checks then find what the build staged on
  that machine), nothing reaches the bucket, and no key is printed or written anywhere;
- a pinned Go older than 1.24 is one line naming cache.remote.

Every doit and gobuild run's output is kept, so the last test can look for the keys in
all of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gobuild.project.platforms import host
from tests import s3env
from tests.buildenv import BIN, GoEnv, doit, git, go_version_m, run_env
from tests.daemons import free_port
from tests.s3env import S3Server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(host().key != "linux-amd64", reason="real archives are linux/amd64"),
]

GO = "1.27.3"
PREFIX = "team/go"
BINARY = "app"
LOOKUPS = re.compile(
    r"^(?:gobuild: )?shared cache (?P<remote>\S+): (?P<hits>\d+) of (?P<gets>\d+) lookups hit "
    r"\((?P<percent>[\d.]+) %\), (?P<puts>\d+) puts"
    r"(?:, (?P<failed>\d+) failed)?"
    r"(?:, (?P<rejected>\d+) corrupt object\(s\) rejected and rebuilt)?$",
    re.MULTILINE,
)
WARNING = re.compile(
    r"^gobuild: warning: the shared Go build cache (?P<remote>\S+) did not answer; "
    r"building with the local cache alone \((?P<why>.+)\)$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Lookups:
    """One lookups line."""

    remote: str
    hits: int
    gets: int
    puts: int
    failed: int
    rejected: int

    @property
    def ratio(self) -> float:
        return self.hits / self.gets if self.gets else 0.0


def lookups_lines(text: str) -> list[Lookups]:
    return [
        Lookups(m["remote"], int(m["hits"]), int(m["gets"]), int(m["puts"]),
                int(m["failed"] or 0), int(m["rejected"] or 0))
        for m in LOOKUPS.finditer(text)
    ]  # fmt: skip


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Transcripts:
    """Every run's output in this module (the secrets must be in none of it)."""

    texts: list[str] = field(default_factory=list)

    def keep(self, res: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
        self.texts.append(f"$ {res.args}\n{res.stdout}\n{res.stderr}")
        return res


TRANSCRIPTS = Transcripts()


@dataclass(frozen=True)
class Machine:
    """A checkout and a GOCACHE of its own, with the AWS variables to reach the remote."""

    root: Path
    gocache: Path
    go: GoEnv
    credentials: tuple[str, str]

    @property
    def env(self) -> dict[str, str]:
        access, secret = self.credentials
        return {
            "GOCACHE": str(self.gocache),
            # The module cache is not what is shared here; one per machine would only
            # download the same zips again.
            "GOMODCACHE": str(s3env.cache_root() / "modcache"),
            "AWS_ACCESS_KEY_ID": access,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }

    def doit(self, *args: str) -> subprocess.CompletedProcess[str]:
        return TRANSCRIPTS.keep(doit(self.root, self.go, *args, check=False, env=self.env))

    def gobuild(self, *args: str) -> subprocess.CompletedProcess[str]:
        res = subprocess.run(
            [str(BIN / "gobuild"), "-C", str(self.root), *args],
            env=run_env(self.go, **self.env), capture_output=True, text=True, check=False,
            timeout=1800,
        )  # fmt: skip
        return TRANSCRIPTS.keep(res)

    @property
    def binary(self) -> Path:
        return self.root / "dist" / BINARY

    def clone(
        self, dest: Path, gocache: Path, credentials: tuple[str, str] | None = None
    ) -> Machine:
        """Another machine: the same commit checked out at ``dest``."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "-q", str(self.root), str(dest)], check=True)
        return Machine(dest, gocache, self.go, credentials or self.credentials)


def ok(res: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert res.returncode == 0, f"{res.args} failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res


def cache_toml(server: S3Server) -> str:
    return (
        f'[cache]\nremote = "s3://{server.bucket}/{PREFIX}"\n'
        f'endpoint = "{server.url}"\nregion = "{server.region}"\n'
    )


def make_project(dest: Path, go: GoEnv, server: S3Server, pin: str = GO) -> Path:
    """s3env's sample module with a gobuild.toml (Go ``pin`` from the test mirror, the
    shared cache on ``server``), dodo.py and gobuild.lock, in one commit."""
    root = s3env.write_sample_module(dest)
    (root / "gobuild.toml").write_text(
        f'[go]\nversion = "{pin}"\n\n[toolchain]\nsources = ["official"]\n'
        f'mirror = "{go.mirror_url}"\n\n'
        + cache_toml(server)
        # The CI workflows pass the cache's credentials from the CI system's secrets.
        + '\n[generate]\nci = ["github", "gitlab"]\n'
    )
    (root / "dodo.py").write_text("from gobuild.dodo import *  # noqa: F403\n")
    (root / ".gitignore").write_text("/.gobuild/\n/dist/\n")
    env = run_env(go, GOMODCACHE=str(s3env.cache_root() / "modcache"))
    for args in (("toolchain", "install"), ("lock",)):  # as a user would, before committing
        res = subprocess.run(
            [str(BIN / "gobuild"), "-C", str(root), *args],
            env=env, capture_output=True, text=True, check=False, timeout=600,
        )  # fmt: skip
        TRANSCRIPTS.keep(res)
        assert res.returncode == 0, res.stdout + res.stderr
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


@dataclass(frozen=True)
class Seeded:
    """The bucket after machine A's build and test, then machine B's."""

    server: S3Server
    a: Machine
    b: Machine
    a_build: subprocess.CompletedProcess[str]
    a_test: subprocess.CompletedProcess[str]
    b_build: subprocess.CompletedProcess[str]
    b_test: subprocess.CompletedProcess[str]
    objects_after_a: dict[str, int]
    a_binary: str  # its sha256


@pytest.fixture(scope="module")
def seeded(
    go: GoEnv, s3_tools: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    base = tmp_path_factory.mktemp("sharedcache")
    with S3Server(base / "s3", s3_tools[1]) as server:
        credentials = (server.access_key, server.secret_key)
        root = make_project(base / "a" / "src", go, server)
        a = Machine(root, base / "a" / "gocache", go, credentials)
        a_build = ok(a.doit("build"))  # the plugin and the verifier are built here too
        a_test = ok(a.gobuild("check", "test"))
        objects = server.objects()
        # B: another path with a space in it (GOCACHEPROG quotes the staging directory).
        b = a.clone(base / "machine b" / "work" / "src", base / "machine b" / "go cache")
        b_build = ok(b.doit("build"))
        b_test = ok(b.gobuild("check", "test"))
        yield Seeded(server, a, b, a_build, a_test, b_build, b_test, objects, sha(a.binary))


def test_machine_a_fills_the_bucket(seeded: Seeded) -> None:
    remote = f"s3://{seeded.server.bucket}/{PREFIX}"
    [build] = lookups_lines(seeded.a_build.stderr)
    assert build.remote == remote
    assert build.hits == 0 and build.gets > 100 and build.puts >= build.gets
    assert build.failed == build.rejected == 0
    # The plugin is gobuild's pinned tool, built with the pinned Go (by this build, unless
    # another test of the session did first), recorded in the committed gobuild.lock.
    [plugin] = (seeded.a.go.cache / "tools" / "go-cache-plugin" / "v0.1.1").glob("go*/bin/*")
    info = go_version_m(seeded.a.go, plugin, GO)
    assert info.splitlines()[0] == f"{plugin}: go{GO}", info
    assert "\tpath\tgithub.com/tailscale/go-cache-plugin/cmd/go-cache-plugin\n" in info
    # Built as its own main module (go install refuses it): the version is "(devel)".
    assert "\tmod\tgithub.com/tailscale/go-cache-plugin\t" in info
    lock = json.loads((seeded.a.root / "gobuild.lock").read_text())
    assert lock["tools"]["go-cache-plugin"]["version"] == "v0.1.1"
    assert git(seeded.a.root, "status", "--porcelain") == ""  # nothing gobuild tracks changed
    # The bucket holds the go command's actions and outputs under the prefix, nothing else.
    keys = seeded.objects_after_a
    assert keys and all(k.startswith(f"{PREFIX}/") for k in keys), sorted(keys)[:5]
    outputs = [k for k in keys if k.startswith(f"{PREFIX}/output/")]
    actions = [k for k in keys if k.startswith(f"{PREFIX}/action/")]
    assert len(outputs) > 100 and len(actions) > 100
    for key in outputs:  # intact: each object hashes to its output ID
        data = seeded.server.path(key).read_bytes()
        assert hashlib.sha256(data).hexdigest() == key.rsplit("/", 1)[-1]
    # The check run says what its lookups came to after its closing table, and keeps it.
    out = seeded.a_test.stdout
    [test] = lookups_lines(out)
    assert out.rstrip("\n").splitlines()[-1].startswith(f"shared cache {remote}: ")
    reports = seeded.a.root / ".gobuild" / "checks" / "test"
    recorded = [json.loads(line) for line in (reports / "gocache.jsonl").read_text().splitlines()]
    assert sum(r["gets"] for r in recorded) == test.gets
    assert sum(r["hits"] for r in recorded) == test.hits


def test_machine_b_finds_nearly_everything_and_links_the_same_bytes(seeded: Seeded) -> None:
    report = {
        "build": lookups_lines(seeded.b_build.stderr),
        "test": lookups_lines(seeded.b_test.stdout),
    }
    print(report)
    for step, lines in report.items():
        [found] = lines
        assert found.ratio >= 0.9, (step, found)
        assert found.failed == found.rejected == 0, (step, found)
    # No warning, and the plugin was not built again.
    assert "warning: the shared Go build cache" not in seeded.b_build.stderr + seeded.b_test.stderr
    assert "building go-cache-plugin" not in seeded.b_build.stderr
    assert git(seeded.a.root, "rev-parse", "HEAD") == git(seeded.b.root, "rev-parse", "HEAD")
    assert sha(seeded.b.binary) == seeded.a_binary
    info = go_version_m(seeded.a.go, seeded.b.binary, GO)
    assert info.splitlines()[0] == f"{seeded.b.binary}: go{GO}", info
    assert "\tbuild\t-trimpath=true\n" in info
    # B's staging directory is in its own GOCACHE (the path with spaces).
    staged = list((seeded.b.gocache / "gocacheprog").iterdir())
    assert len(staged) == 1 and any(staged[0].rglob("*"))
    ran = subprocess.run([str(seeded.b.binary)], capture_output=True, text=True, check=True)
    assert ran.stdout == s3env.SAMPLE_OUTPUT


def test_the_remembered_check_plan_holds_the_shared_cache_and_trims(seeded: Seeded) -> None:
    # A check run remembers its plan (.gobuild/checks-plan.*.json, the plan as "value").
    plans = [
        json.loads(p.read_text())["value"]
        for p in (seeded.b.root / ".gobuild").glob("checks-plan.*.json")
    ]
    [plan] = [p for p in plans if p["kinds"] == ["test"]]
    assert plan["shared_cache"]["remote"] == f"s3://{seeded.server.bucket}/{PREFIX}"
    assert Path(plan["shared_cache"]["verifier"]).is_file()
    assert str(seeded.b.gocache / "gocacheprog") in " ".join(plan["shared_cache"]["plugin"])
    [unit] = [u for u in plan["units"] if u["kind"] == "test"]
    assert "-trimpath" in unit["argv"], unit["argv"]


def test_a_stopped_remote_is_one_warning_per_task_and_the_local_cache(
    seeded: Seeded, tmp_path: Path
) -> None:
    d = seeded.a.clone(tmp_path / "d" / "src", tmp_path / "d" / "gocache")
    with s3env.stopped(seeded.server):
        res = ok(d.doit("build", "test"))
    warnings = list(WARNING.finditer(res.stderr + res.stdout))
    print(res.stdout, res.stderr)
    assert len(warnings) == 2, res.stderr  # build:app, then test
    for warning in warnings:
        assert warning["remote"] == f"s3://{seeded.server.bucket}/{PREFIX}"
        assert "refused" in warning["why"].lower(), warning["why"]
    assert lookups_lines(res.stdout + res.stderr) == []
    assert not (d.root / ".gobuild" / "checks" / "test" / "gocache.jsonl").exists()
    assert sha(d.binary) == seeded.a_binary  # built by the go command alone, same bytes
    assert not (d.gocache / "gocacheprog").exists()  # the plugin never ran


def test_corrupt_objects_are_rejected_rebuilt_and_replaced(seeded: Seeded, tmp_path: Path) -> None:
    """Every output object corrupted behind the gateway, on a copy of the bucket served
    on the same port (the project's endpoint), the original restored after."""
    c = seeded.a.clone(tmp_path / "c" / "src", tmp_path / "c" / "gocache")
    copy = seeded.server.clone(tmp_path / "s3")
    with s3env.stopped(seeded.server):
        copy.port = seeded.server.port
        with copy:
            outputs = list(copy.objects(f"{PREFIX}/output/"))
            assert len(outputs) > 100
            for key in outputs:
                copy.corrupt(key)
            first = ok(c.doit("build"))
            c.binary.unlink()  # the task runs again
            again = ok(c.doit("build"))
    print(first.stderr, again.stderr)
    [rebuilt] = lookups_lines(first.stderr)
    assert rebuilt.rejected > 100 and rebuilt.hits == 0, rebuilt
    assert rebuilt.failed == 0
    assert "corrupt object(s) rejected and rebuilt" in first.stderr
    assert sha(c.binary) == seeded.a_binary
    [after] = lookups_lines(again.stderr)
    assert after.rejected == 0 and after.ratio >= 0.9, after
    assert sha(c.binary) == seeded.a_binary


def test_go_older_than_1_24_is_one_line_naming_cache_remote(go: GoEnv, tmp_path: Path) -> None:
    """Needs no S3 server: the pinned Go is refused before anything is built or probed."""
    root = tmp_path / "old"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/old\n\ngo 1.22\n")
    (root / "main.go").write_text("package main\n\nfunc main() {}\n")
    (root / "gobuild.toml").write_text(
        f'[go]\nversion = "1.22.10"\n\n[toolchain]\nsources = ["official"]\n'
        f'mirror = "{go.mirror_url}"\n\n[cache]\nremote = "s3://{s3env.BUCKET}/{PREFIX}"\n'
        f'endpoint = "http://127.0.0.1:{free_port()}"\n'
    )
    (root / "dodo.py").write_text("from gobuild.dodo import *  # noqa: F403\n")
    old = Machine(root, tmp_path / "gocache", go, ("AKIDNOTUSED", "not-used"))
    ok(old.gobuild("toolchain", "install"))
    for res in (old.doit("build"), old.gobuild("check", "test")):
        print(res.stdout, res.stderr)
        assert res.returncode != 0
        # doit says why a task failed on stdout; gobuild on stderr.
        named = [line for line in (res.stdout + res.stderr).splitlines() if "cache.remote" in line]
        assert len(named) == 1, res.stdout + res.stderr
        assert f"{root / 'gobuild.toml'}: cache.remote needs Go 1.24 or later" in named[0]
        assert "the project's Go is 1.22.10" in named[0]
        assert "Traceback" not in res.stdout + res.stderr
    assert not (root / "dist").exists()


def test_wrong_credentials_still_build_and_no_key_is_printed_or_written(
    seeded: Seeded, tmp_path: Path
) -> None:
    wrong = (seeded.server.access_key, "wrong-" + secrets.token_urlsafe(20))
    e = seeded.a.clone(tmp_path / "e" / "src", tmp_path / "e" / "gocache", wrong)
    before = seeded.server.objects()
    refused = seeded.server.operations()
    res = ok(e.doit("build", "test"))
    refused = seeded.server.operations() - refused
    print(res.stdout, res.stderr, refused)
    [build] = lookups_lines(res.stderr)
    [test] = lookups_lines(res.stdout)
    # Every get the bucket was asked was refused (403): a failed lookup, which the go
    # command takes for a miss, so the build compiled everything here.
    assert build.hits == 0 and build.failed == build.gets > 0, build
    # The test run then found what the build had just staged on this machine; the rest
    # failed in the bucket again. No lookup was a plain miss.
    assert test.hits > 0 and test.failed > 0 and test.hits + test.failed == test.gets, test
    assert build.rejected == test.rejected == 0
    assert refused["s3_GetObject 403"] >= build.gets
    # The go command's puts went to the plugin's staging directory; none reached the
    # bucket, although the lines count them as stored.
    assert build.puts > 0 and test.puts > 0
    assert seeded.server.objects() == before
    assert refused["s3_PutObject 200"] == 0
    assert sha(e.binary) == seeded.a_binary
    # gobuild env and generate write what a shared cache configures; no key there either.
    ok(e.gobuild("env"))
    exports = ok(seeded.a.gobuild("env")).stdout
    assert "GOCACHEPROG=" in exports and "-- " in exports, exports
    ok(seeded.a.gobuild("generate"))
    generated = [p.name for p in seeded.a.root.rglob("*") if p.is_file() and ".git" not in p.parts]
    assert "Makefile" in generated and "Dockerfile" in generated, generated
    keys = {
        seeded.server.access_key, seeded.server.secret_key, wrong[1],
    }  # fmt: skip
    everything = "\n".join(TRANSCRIPTS.texts)
    assert len(TRANSCRIPTS.texts) >= 8
    for key in keys:
        assert key not in everything
    for machine in (seeded.a, seeded.b, e):
        for path in machine.root.rglob("*"):
            if ".git" in path.relative_to(machine.root).parts or not path.is_file():
                continue
            data = path.read_bytes()
            for key in keys:
                assert key.encode() not in data, path
    for path in (seeded.a.go.cache / "cacheprog").rglob("*"):
        if path.is_file():
            assert not any(key.encode() in path.read_bytes() for key in keys), path

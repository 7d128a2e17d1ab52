"""The shared-build-cache test infrastructure itself (tests/s3env.py), proven with the
plain go command and no gobuild: versitygw on loopback demanding credentials,
tailscale's go-cache-plugin as GOCACHEPROG against it, and what the go command does
with a remote cache that serves, that is down, that hangs and that holds corrupt objects.

One machine ("one": its own checkout path, GOCACHE and plugin directory) builds and
tests a module with real dependencies cold, filling the bucket; the tests then act as
other machines (other checkout paths, empty GOCACHE and plugin directories) against that
bucket, or a copy of it. Every build uses -trimpath: without it the go command hashes a
package's directory into its action ID, so another checkout path misses on every package
of the main module.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import s3env
from tests.s3env import S3Server

pytestmark = pytest.mark.slow

BUILD = ("build", "-x", "-trimpath", "-o", "app", "./cmd/app")
TEST = ("test", "-x", "-trimpath", "./...")
TEST_LOG = b"# test log\n"  # what a test that reads no inputs leaves as its test log


Run = s3env.GoRun
ok = s3env.ok


@dataclass(frozen=True)
class Machine:
    """A checkout with its own GOCACHE and plugin staging directory, sharing the module
    cache (its path too, which -trimpath makes irrelevant to the action IDs)."""

    checkout: Path
    gocache: Path
    plugin_dir: Path

    @classmethod
    def fresh(cls, base: Path) -> Machine:
        checkout = s3env.write_sample_module(base / "src" / "cacheapp")
        return cls(checkout, base / "gocache", base / "plugin")


def go(
    goroot: Path, machine: Machine, env: dict[str, str], *args: str, timeout: float = 600
) -> Run:
    """The plain go command in ``machine``'s checkout (:func:`tests.s3env.run_go`)."""
    return s3env.run_go(goroot, machine.checkout, machine.gocache, env, *args, timeout=timeout)


def binary_output(machine: Machine) -> str:
    return subprocess.run(
        [str(machine.checkout / "app")], capture_output=True, text=True, check=True
    ).stdout


def output_key(data: bytes) -> str:
    """The bucket key of an output with these bytes (its output ID is their SHA-256)."""
    digest = hashlib.sha256(data).hexdigest()
    return f"output/{digest[:2]}/{digest}"


# -- the server alone --------------------------------------------------------------------


def test_the_server_demands_credentials(s3_server: S3Server) -> None:
    assert s3_server.request("GET", "", query={"list-type": "2"}, anonymous=True)[0] == 403
    wrong_secret = (s3_server.access_key, s3_server.secret_key + "x")
    assert s3_server.request("GET", "k", credentials=wrong_secret)[0] == 403
    unknown_key = ("GBTESTUNKNOWN0000000", s3_server.secret_key)
    # versitygw answers an unknown key 404 XAdminUserNotFound (S3 says 403): refused.
    status, _, body = s3_server.request("PUT", "k", b"x", credentials=unknown_key)
    assert (status, b"XAdminUserNotFound" in body) == (404, True)
    assert s3_server.objects() == {}

    s3_server.put("output/ab/abc", b"hello world")
    s3_server.put("action/cd/cde", b"abc 1")
    assert s3_server.objects() == {"output/ab/abc": 11, "action/cd/cde": 5}
    assert s3_server.objects("action/") == {"action/cd/cde": 5}
    assert s3_server.get("output/ab/abc") == b"hello world"
    assert s3_server.request("GET", "output/ab/abc", anonymous=True)[0] == 403

    # Behind the gateway's back: the same size, other bytes, the old ETag still served.
    etag = s3_server.request("HEAD", "output/ab/abc", expect=(200,))[1]["etag"]
    assert s3_server.corrupt("output/ab/abc", length=4) == b"hello world"
    assert s3_server.get("output/ab/abc") == b"hel" + bytes(c ^ 0xFF for c in b"lo w") + b"orld"
    assert s3_server.request("HEAD", "output/ab/abc", expect=(200,))[1]["etag"] == etag
    assert s3_server.keys_containing(b"orld") == ["output/ab/abc"]
    assert s3_server.operations()["s3_GetObject 403"] >= 2


def test_the_server_keeps_its_port_and_data_across_a_restart(s3_server: S3Server) -> None:
    s3_server.put("output/ab/abc", b"kept")
    url = s3_server.url
    with s3env.stopped(s3_server):
        assert not s3_server.running
        with pytest.raises(OSError):
            s3_server.request("GET", "output/ab/abc")
    assert (s3_server.url, s3_server.get("output/ab/abc")) == (url, b"kept")


# -- a bucket filled by a first machine ---------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    """The server after machine one's cold ``go build`` and ``go test``."""

    server: S3Server
    one: Machine
    build: Run
    test: Run
    goroot: Path
    plugin: Path


@pytest.fixture(scope="module")
def seeded(
    s3_go: Path, s3_tools: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    plugin, binary = s3_tools
    base = tmp_path_factory.mktemp("s3seed")
    with S3Server(base / "s3", binary) as server:
        one = Machine.fresh(base / "one")
        env = s3env.plugin_env(server, plugin, one.plugin_dir)
        ok(go(s3_go, one, {}, "mod", "download"))  # downloads are not the build's time
        build = ok(go(s3_go, one, env, *BUILD))
        test = ok(go(s3_go, one, env, *TEST))
        yield Seeded(server, one, build, test, s3_go, plugin)


def test_the_first_machine_filled_the_bucket(seeded: Seeded) -> None:
    build, test = seeded.build, seeded.test
    # Cold: every lookup missed, the standard library was compiled too.
    assert build.stats.get_hits == 0 < build.stats.get_misses
    assert {"runtime", "fmt", "github.com/spf13/cobra", "main"} <= set(build.actions.compiled)
    assert test.actions.vets > 0 and test.actions.links > 0
    assert build.stats.s3_put_errors == test.stats.s3_put_errors == 0
    objects = seeded.server.objects()
    actions = [k for k in objects if k.startswith("action/")]
    outputs = [k for k in objects if k.startswith("output/")]
    assert len(actions) >= build.stats.put_requests and len(outputs) > 100
    assert binary_output(seeded.one) == s3env.SAMPLE_OUTPUT


def test_a_second_machine_compiles_nothing_the_first_compiled(
    seeded: Seeded, tmp_path: Path
) -> None:
    two = Machine.fresh(tmp_path / "elsewhere" / "deeper" / "two")
    env = s3env.plugin_env(seeded.server, seeded.plugin, two.plugin_dir)
    build = ok(go(seeded.goroot, two, env, *BUILD))
    test = ok(go(seeded.goroot, two, env, *TEST))

    report = {
        name: {
            "seconds": round(run.seconds, 2),
            "compiles": run.actions.compiles,
            "links": run.actions.links,
            "vets": run.actions.vets,
            "gets": run.stats.get_requests,
            "hits": run.stats.get_hits,
            "from_remote": run.stats.fault_hits,
            "hit_ratio": round(run.stats.hit_ratio, 4),
        }
        for name, run in {
            "cold build": seeded.build,
            "cold test": seeded.test,
            "warm-remote build": build,
            "warm-remote test": test,
        }.items()
    }
    print(json.dumps(report, indent=1))

    # Nothing machine one compiled is compiled again: nothing at all is.
    assert set(build.actions.compiled) & set(seeded.build.actions.compiled) == set()
    assert build.actions.compiles == 0
    assert build.actions.links == 1  # go build -o always links
    assert test.actions.compiles == test.actions.vets == test.actions.links == 0
    assert "ok  \texample.com/cacheapp/internal/greet\t(cached)" in test.stdout
    # The go command's own lookups, as the plugin counted them: >= 90 % hits, from S3.
    for run in (build, test):
        assert run.stats.hit_ratio >= 0.9, report
        assert run.stats.fault_hits == run.stats.get_hits - run.stats.local_hits > 0
    assert build.seconds <= 0.3 * seeded.build.seconds, report
    assert test.seconds <= 0.3 * seeded.test.seconds, report
    # -trimpath: the same binary from another path.
    assert (two.checkout / "app").read_bytes() == (seeded.one.checkout / "app").read_bytes()


# -- the remote down, hung, refusing -----------------------------------------------------


def test_with_the_remote_down_the_go_command_builds_everything_itself_silently(
    seeded: Seeded, tmp_path: Path
) -> None:
    three = Machine.fresh(tmp_path / "three")
    env = s3env.plugin_env(seeded.server, seeded.plugin, three.plugin_dir, max_attempts=1)
    build = ("build", "-trimpath", "-o", "app", "./cmd/app")
    with s3env.stopped(seeded.server):
        cold = ok(go(seeded.goroot, three, env, *BUILD))
        # Every get failed (connection refused); the go command took each as a miss,
        # compiled everything machine one compiled and succeeded.
        assert cold.stats.get_errors == cold.stats.get_requests > 0
        assert cold.stats.get_hits == 0
        assert sorted(cold.actions.compiled) == sorted(seeded.build.actions.compiled)
        assert cold.stats.s3_put_errors > 0 and cold.stats.put_errors == 0
        assert binary_output(three) == s3env.SAMPLE_OUTPUT

        # Not a word about it: the metrics line (--metrics) is all of stderr.
        again = ok(go(seeded.goroot, three, env, *build))
        lines = [line for line in again.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and json.loads(lines[0]) == again.stats.raw[0], again.stderr
        # The plugin's staging directory still serves this machine while the remote is down.
        assert again.stats.local_hits == again.stats.get_hits
        assert again.stats.hit_ratio >= 0.9


def test_with_the_remote_down_each_request_costs_seconds_of_sdk_retries(
    seeded: Seeded, tmp_path: Path
) -> None:
    """The AWS SDK's default (3 attempts, backoff) makes every failed request wait;
    AWS_MAX_ATTEMPTS=1 fails at once."""
    args = ("build", "-trimpath", "-o", os.devnull, "unicode/utf8")
    with s3env.stopped(seeded.server):
        times = {}
        for attempts in (None, 1):
            machine = Machine.fresh(tmp_path / f"attempts-{attempts}")
            env = s3env.plugin_env(
                seeded.server, seeded.plugin, machine.plugin_dir, max_attempts=attempts
            )
            run = ok(go(seeded.goroot, machine, env, *args))
            assert run.stats.get_errors == run.stats.get_requests > 0
            times[attempts] = run.seconds
    assert times[None] > 3.0 and times[None] > 5 * times[1], times


def test_a_remote_that_hangs_stalls_the_go_command(seeded: Seeded, tmp_path: Path) -> None:
    """No timeout in the plugin's get path: a remote that accepts and never answers
    holds the build until something else ends it."""
    four = Machine.fresh(tmp_path / "four")
    with s3env.Blackhole() as hole:
        env = s3env.plugin_env(
            seeded.server, seeded.plugin, four.plugin_dir, max_attempts=1, endpoint=hole.url
        )
        with pytest.raises(subprocess.TimeoutExpired):
            go(seeded.goroot, four, env, "build", "-trimpath", "-o", os.devnull, "unicode/utf8",
               timeout=15)  # fmt: skip
        assert hole.accepted >= 1


def test_wrong_credentials_are_refused_and_no_secret_is_printed(
    seeded: Seeded, tmp_path: Path
) -> None:
    five = Machine.fresh(tmp_path / "five")
    wrong = (seeded.server.access_key, "not-the-secret-" + seeded.server.secret_key[:8])
    env = s3env.plugin_env(
        seeded.server, seeded.plugin, five.plugin_dir, verbose=True, credentials=wrong
    )
    before = seeded.server.operations()
    run = ok(go(seeded.goroot, five, env, "build", "-trimpath", "-o", os.devnull, "unicode/utf8"))
    assert run.stats.get_errors == run.stats.get_requests > 0
    assert "SignatureDoesNotMatch" in run.stderr  # the plugin's verbose log says why
    refused = seeded.server.operations() - before
    assert refused["s3_GetObject 403"] >= run.stats.get_requests
    goenv = go(seeded.goroot, five, env, "env").stdout
    for secret in (seeded.server.secret_key, wrong[1]):
        assert secret not in run.stdout + run.stderr + goenv
        assert secret not in env["GOCACHEPROG"]


# -- corrupt objects in the remote -------------------------------------------------------


def test_a_corrupt_test_result_is_rejected_and_the_test_runs_again(
    seeded: Seeded, tmp_path: Path
) -> None:
    """Test logs and results are read with cache.GetBytes, which checks the bytes'
    SHA-256 against the output ID: a corrupt one is a miss ("bad checksum")."""
    with seeded.server.clone(tmp_path / "s3") as server:
        key = output_key(TEST_LOG)
        assert server.objects(key) == {key: len(TEST_LOG)}
        server.rewrite(key, lambda data: data.replace(b"test", b"tEst"))
        six = Machine.fresh(tmp_path / "six")
        run = ok(go(seeded.goroot, six, s3env.plugin_env(server, seeded.plugin, six.plugin_dir),
                    *TEST))  # fmt: skip
    assert run.stats.get_errors == 0 and run.stats.hit_ratio >= 0.9
    assert "(cached)" not in run.stdout
    assert "ok  \texample.com/cacheapp/internal/greet\t" in run.stdout
    assert run.actions.links == 1 and run.actions.compiles == 0  # relinked and run, not rebuilt


def test_the_go_command_does_not_verify_a_package_archive_from_the_cache(
    seeded: Seeded, tmp_path: Path
) -> None:
    """Compiled packages are read with cache.GetFile: the go command checks the size and
    the build ID at the archive's head, never the bytes' SHA-256, and go-cache-plugin
    checks nothing either. A tampered archive in the remote goes into the binary."""
    with seeded.server.clone(tmp_path / "s3") as server:
        keys = server.keys_containing(s3env.SAMPLE_MARKER)
        assert keys, "internal/greet's archive is in the bucket"
        for key in keys:
            server.rewrite(key, lambda data: data.replace(b"hello %s", b"HELLO %s"))
            digest = hashlib.sha256(server.get(key)).hexdigest()
            assert key != f"output/{digest[:2]}/{digest}"  # the bytes no longer match the ID
        seven = Machine.fresh(tmp_path / "seven")
        run = ok(go(seeded.goroot, seven, s3env.plugin_env(server, seeded.plugin,
                                                            seven.plugin_dir), *BUILD))  # fmt: skip
    assert run.actions.compiles == 0  # nothing was rebuilt
    assert binary_output(seven) == s3env.SAMPLE_OUTPUT.replace("hello", "HELLO")

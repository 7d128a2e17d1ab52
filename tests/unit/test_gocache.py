"""The shared Go build cache's plain parts (gobuild.gocache): GOCACHEPROG's command line
and its quoting, the probe's URL and the probe itself (loopback only), the verifier's
lookup counts, a remembered check plan holding the shared cache, the ``[cache]``
settings' errors, and the Go it needs. No go command runs here: tests/functional/
test_shared_cache.py drives the whole thing against an S3 server on loopback."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gobuild.checks.plan import CheckPlan
from gobuild.checks.run import run_planned
from gobuild.checks.units import Caps, Unit
from gobuild.digest import Artifact
from gobuild.errors import ConfigError
from gobuild.fetch import unreachable
from gobuild.gocache import command, lookups, shared
from gobuild.gocache.command import SharedCache, join, plugin_argv, verified_argv
from gobuild.network.config import Network
from gobuild.progress import Silent
from gobuild.project.config import Project, load_project, load_settings
from gobuild.project.environ import Environment
from gobuild.project.platforms import host
from gobuild.project.settings import CacheSection
from gobuild.project.versions import GoVersion
from gobuild.toolchain.cache import Installed
from gobuild.tools.locking import pinned
from gobuild.ui.console import CheckPrinter
from tests.netproxy import dead_port
from tests.s3env import Blackhole
from tests.unit.test_config import config_error as refused

PLUGIN = Path("/opt/tools/go-cache-plugin")
STAGING = Path("/home/u/.cache/go-build/gocacheprog/0123456789abcdef")


class Bucket:
    """A tiny S3 stand-in on loopback: every request is recorded and answered 403 (what
    a real store says to a request without credentials), 404 under /missing."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        bucket = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def answer(self) -> None:
                bucket.seen.append((self.command, self.path, dict(self.headers.items())))
                self.send_response(404 if self.path.startswith("/missing") else 403)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_HEAD = do_GET = answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,))

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> Bucket:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def cache(**values: object) -> CacheSection:
    return CacheSection.model_validate(values)


# -- the plugin's command line -----------------------------------------------------------


def test_plugin_argv_for_aws_s3_without_a_prefix() -> None:
    argv = plugin_argv(cache(remote="s3://team-cache", region="eu-west-1"), PLUGIN, STAGING)
    assert argv == [
        str(PLUGIN),
        f"--cache-dir={STAGING}",
        "--bucket=team-cache",
        "--region=eu-west-1",
    ]


def test_plugin_argv_with_a_prefix_and_an_endpoint_is_path_style_by_default() -> None:
    section = cache(remote="s3://b-1/go/build/", endpoint="http://127.0.0.1:9000/")
    assert plugin_argv(section, PLUGIN, STAGING) == [
        str(PLUGIN),
        f"--cache-dir={STAGING}",
        "--bucket=b-1",
        "--region=us-east-1",
        "--prefix=go/build",  # no slash at either end
        "--s3-endpoint-url=http://127.0.0.1:9000",  # the trailing slash dropped
        "--s3-path-style",
    ]


@pytest.mark.parametrize(
    ("endpoint", "path_style", "expected"),
    [
        (None, None, False),  # AWS: virtual-hosted
        (None, True, True),
        ("https://s3.example.net", None, True),  # an S3-compatible store: path style
        ("https://s3.example.net", False, False),  # ... unless told otherwise
        ("https://s3.example.net", True, True),
    ],
)
def test_path_style_follows_the_endpoint_unless_set(
    endpoint: str | None, path_style: bool | None, expected: bool
) -> None:
    section = cache(remote="s3://bucket/p", endpoint=endpoint, path_style=path_style)
    argv = plugin_argv(section, PLUGIN, STAGING)
    assert ("--s3-path-style" in argv) is expected
    assert any(a.startswith("--s3-endpoint-url=") for a in argv) is (endpoint is not None)
    assert "--prefix=p" in argv


def test_the_verifier_stands_before_the_plugin_with_its_stats_file() -> None:
    plugin = ("/p/plugin", "--bucket=b")
    assert verified_argv(Path("/v/verify"), plugin) == ["/v/verify", "--", *plugin]
    assert verified_argv(Path("/v/verify"), plugin, Path("/r/gocache.jsonl")) == [
        "/v/verify", "-stats", "/r/gocache.jsonl", "--", *plugin,
    ]  # fmt: skip


# -- GOCACHEPROG's quoting (the go command splits it as cmd/internal/quoted.Split) -------


@pytest.mark.parametrize(
    ("argv", "value"),
    [
        (["/v/verify", "--", "/p/plugin", "--bucket=b"], "/v/verify -- /p/plugin --bucket=b"),
        # A field with a space (a home directory, a cache path) goes in single quotes.
        (["/v/verify", "--cache-dir=/a b/c"], "/v/verify '--cache-dir=/a b/c'"),
        (["x", "tab\there"], "x 'tab\there'"),
        # A field with a single quote goes in double quotes, one with a double in single.
        (["x", "it's"], 'x "it\'s"'),
        (["x", 'say "hi"'], "x 'say \"hi\"'"),
        (["x", "it's here"], 'x "it\'s here"'),
        # An empty field is said, not lost.
        (["x", "", "y"], "x '' y"),
    ],
)
def test_join_quotes_as_the_go_command_splits(argv: list[str], value: str) -> None:
    # ``value`` is what cmd/internal/quoted.Split turns back into ``argv`` (fields
    # separated by spaces; a field wholly in '...' or "..." taken without the quotes).
    assert join(argv) == value


def test_a_field_holding_both_quotes_cannot_be_said() -> None:
    with pytest.raises(ConfigError, match=r"both kinds of quote") as info:
        join(["x", 'it\'s "quoted"'])
    assert "GOCACHEPROG" in str(info.value)


def test_the_shared_cache_environment_is_the_joined_command() -> None:
    sc = SharedCache(
        remote="s3://b/p",
        probe_url="http://127.0.0.1:1/b",
        verifier="/c/cacheprog/verify",
        plugin=("/t/go-cache-plugin", "--cache-dir=/home/a b/gocacheprog/k", "--bucket=b"),
    )
    assert sc.environ() == {
        "GOCACHEPROG": "/c/cacheprog/verify -- /t/go-cache-plugin "
        "'--cache-dir=/home/a b/gocacheprog/k' --bucket=b"
    }
    assert sc.environ(Path("/r/x y/gocache.jsonl")) == {
        "GOCACHEPROG": "/c/cacheprog/verify -stats '/r/x y/gocache.jsonl' -- "
        "/t/go-cache-plugin '--cache-dir=/home/a b/gocacheprog/k' --bucket=b"
    }
    # No secret is ever in it: the plugin reads the AWS variables itself.
    assert "AWS" not in json.dumps(sc.environ())


# -- where the probe goes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "url"),
    [
        ({"remote": "s3://team-cache/go"}, "https://team-cache.s3.us-east-1.amazonaws.com/"),
        (
            {"remote": "s3://team-cache", "region": "eu-central-1"},
            "https://team-cache.s3.eu-central-1.amazonaws.com/",
        ),
        (
            {"remote": "s3://team-cache", "path_style": True},
            "https://s3.us-east-1.amazonaws.com/team-cache",
        ),
        (
            {"remote": "s3://gcx/p", "endpoint": "http://127.0.0.1:9000"},
            "http://127.0.0.1:9000/gcx",
        ),
        (
            {"remote": "s3://gcx", "endpoint": "https://minio.example.net/", "path_style": False},
            "https://gcx.minio.example.net/",
        ),
    ],
)
def test_probe_url_addresses_the_bucket_as_the_plugin_will(
    values: dict[str, object], url: str
) -> None:
    assert command.probe_url(cache(**values)) == url


def test_the_staging_directory_is_one_per_remote() -> None:
    one = command.staging_name(cache(remote="s3://gocache/a", endpoint="http://127.0.0.1:1"))
    assert re.fullmatch(r"[0-9a-f]{16}", one)
    # The region and the addressing style do not make another remote; a prefix, a bucket
    # or an endpoint do.
    same = cache(remote="s3://gocache/a", endpoint="http://127.0.0.1:1", region="eu-west-1")
    assert command.staging_name(same) == one
    others = [
        cache(remote="s3://gocache/b", endpoint="http://127.0.0.1:1"),
        cache(remote="s3://gocache2/a", endpoint="http://127.0.0.1:1"),
        cache(remote="s3://gocache/a", endpoint="http://127.0.0.1:2"),
        cache(remote="s3://gocache/a"),
    ]
    names = {command.staging_name(c) for c in others}
    assert len(names) == len(others) and one not in names


# -- the verifier's counts ---------------------------------------------------------------


def stats_line(**counts: int) -> str:
    return json.dumps(counts) + "\n"


def test_lookups_sum_every_go_command(tmp_path: Path) -> None:
    path = tmp_path / lookups.FILE_NAME
    path.write_text(
        stats_line(gets=10, hits=8, misses=2, puts=2, errors=0, rejected=0)
        + stats_line(gets=30, hits=29, misses=1, puts=1, errors=0, rejected=1)
        + stats_line(gets=2, hits=0, misses=0, puts=0, errors=2, rejected=0)
    )
    found = lookups.read(path)
    assert found == lookups.Lookups(
        runs=3, gets=42, hits=37, misses=3, puts=3, errors=2, rejected=1
    )
    assert found.to_json() == {
        "runs": 3, "gets": 42, "hits": 37, "misses": 3, "puts": 3, "errors": 2, "rejected": 1,
    }  # fmt: skip


def test_a_torn_line_and_strange_values_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / lookups.FILE_NAME
    path.write_text(
        stats_line(gets=4, hits=4, misses=0, puts=0, errors=0, rejected=0)
        + '{"gets": 7, "hits": 7, "mis'  # a go command killed while appending
        + "\n[1, 2]\n"  # JSON, but not counts
        + '{"gets": "many", "hits": 1.5, "puts": 2}\n'  # only integers count
        + stats_line(gets=6, hits=3, misses=3, puts=3, errors=0, rejected=0)
    )
    assert lookups.read(path) == lookups.Lookups(runs=3, gets=10, hits=7, misses=3, puts=5)


def test_no_stats_file_is_no_lookups(tmp_path: Path) -> None:
    found = lookups.read(tmp_path / "missing.jsonl")
    assert found == lookups.Lookups() and found.runs == 0 and found.hit_ratio == 0.0


def test_the_lookups_line() -> None:
    plain = lookups.Lookups(runs=2, gets=430, hits=412, misses=18, puts=18)
    assert plain.text("s3://b/p") == (
        "shared cache s3://b/p: 412 of 430 lookups hit (95.8 %), 18 puts"
    )
    rejected = lookups.Lookups(runs=1, gets=3, hits=2, misses=1, puts=1, rejected=1)
    assert rejected.text("s3://b") == (
        "shared cache s3://b: 2 of 3 lookups hit (66.7 %), 1 puts, "
        "1 corrupt object(s) rejected and rebuilt"
    )
    failed = lookups.Lookups(runs=1, gets=5, errors=5)
    assert failed.text("s3://b") == (
        "shared cache s3://b: 0 of 5 lookups hit (0.0 %), 0 puts, 5 failed"
    )
    assert lookups.Lookups().text("s3://b") == (
        "shared cache s3://b: 0 of 0 lookups hit (0.0 %), 0 puts"
    )
    # Without a remote (shards' totals merged): no name.
    assert plain.text() == "shared cache: 412 of 430 lookups hit (95.8 %), 18 puts"


def test_lookups_parse_what_read_reads(tmp_path: Path) -> None:
    text = stats_line(gets=3, hits=2, misses=1, puts=1, errors=0, rejected=1) + "torn{"
    path = tmp_path / lookups.FILE_NAME
    path.write_text(text)
    assert lookups.parse(text) == lookups.read(path) == lookups.Lookups(1, 3, 2, 1, 1, 0, 1)
    assert lookups.parse("") == lookups.Lookups()


# -- a remembered check plan -------------------------------------------------------------


def executable(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return str(path)


def fake_goroot(tmp_path: Path) -> Path:
    goroot = tmp_path / "go"
    for tool in ("go", "gofmt"):  # present, never run: the units are sh
        executable(goroot / "bin" / tool)
    return goroot


def shared_cache(tmp_path: Path, probe_url: str) -> SharedCache:
    return SharedCache(
        remote="s3://gocache/team",
        probe_url=probe_url,
        verifier=executable(tmp_path / "cache" / "cacheprog" / "verify-x" / "verify"),
        plugin=(
            executable(tmp_path / "cache" / "tools" / "go-cache-plugin"),
            f"--cache-dir={tmp_path / 'go build' / 'gocacheprog' / 'k'}",
            "--bucket=gocache",
            "--region=us-east-1",
            "--prefix=team",
        ),
    )


def plan_of(tmp_path: Path, units: list[Unit], sc: SharedCache | None) -> CheckPlan:
    return CheckPlan.from_json({
        "root": str(tmp_path), "state_dir": str(tmp_path / "state"), "kinds": ["test"],
        "budget_cpus": 1.0, "budget_memory": 1 << 30, "overcommit": 1.0,
        "goroot": str(fake_goroot(tmp_path)),
        "units": [json.loads(json.dumps(asdict(u))) for u in units],
        "enforcement": "none", "grace": 1.0, "scrubbed": [], "marker": "",
        "tools": [["sh", shutil.which("sh")]], "junit": False,
        "shared_cache": json.loads(json.dumps(asdict(sc))) if sc else None,
    })  # fmt: skip


def test_a_plan_remembers_its_shared_cache(tmp_path: Path) -> None:
    sc = shared_cache(tmp_path, "http://127.0.0.1:9/gocache")
    plan = plan_of(tmp_path, [], sc)
    assert plan.shared_cache == sc
    again = CheckPlan.from_json(json.loads(json.dumps(plan.to_json())))
    assert again == plan and again.shared_cache == sc
    assert isinstance(again.shared_cache, SharedCache)
    assert again.shared_cache.plugin == sc.plugin  # a tuple again, not a list
    assert plan.usable()
    # A plan written before [cache] existed (no key) and one without a remote (null).
    data = plan.to_json()
    del data["shared_cache"]
    assert CheckPlan.from_json(data).shared_cache is None
    assert CheckPlan.from_json({**data, "shared_cache": None}).shared_cache is None


@pytest.mark.parametrize("which", ["verifier", "plugin"])
def test_a_plan_whose_verifier_or_plugin_is_gone_is_not_usable(tmp_path: Path, which: str) -> None:
    sc = shared_cache(tmp_path, "http://127.0.0.1:9/gocache")
    plan = plan_of(tmp_path, [], sc)
    assert plan.usable()
    Path(sc.verifier if which == "verifier" else sc.plugin[0]).unlink()
    assert not plan.usable()


def echo_unit(name: str, script: str) -> Unit:
    return Unit(name, "test", ("sh", "-c", script), Caps(1, 64 << 20), 60.0, False, (), "plain")


# The unit stands for a go command: it shows the GOCACHEPROG it got, and appends to the
# stats file named there what the verifier would.
STANDIN = (
    'printf "%s\\n" "GOCACHEPROG=${GOCACHEPROG-unset}"; '
    'case "$GOCACHEPROG" in *" -stats "*) '
    'f=${GOCACHEPROG#*" -stats \'"}; f=${f%%"\' -- "*}; '
    'printf \'{"gets":10,"hits":9,"misses":1,"puts":1,"errors":0,"rejected":0}\\n\' >> "$f";; '
    "esac"
)


def test_a_check_run_uses_a_remote_that_answers_and_reports_its_lookups(tmp_path: Path) -> None:
    with Bucket() as bucket:  # a 403 will do: it is up
        sc = shared_cache(tmp_path, bucket.url("/gocache"))
        # The state directory has a space: the stats file's name is quoted.
        plan = plan_of(tmp_path / "a dir", [echo_unit("test", STANDIN)], sc)
        out, err = io.StringIO(), io.StringIO()
        outcome = run_planned(plan, Environment(os.environ), CheckPrinter(out, err))
    assert [r.status for r in outcome.results] == ["passed"]
    log = next(outcome.reports.glob("*.log")).read_text()
    stats = outcome.reports / lookups.FILE_NAME
    assert f"GOCACHEPROG={sc.environ(stats)['GOCACHEPROG']}" in log
    assert outcome.shared_cache == (
        "shared cache s3://gocache/team: 9 of 10 lookups hit (90.0 %), 1 puts"
    )
    assert "warning" not in err.getvalue()


def test_a_check_run_without_an_answer_warns_once_and_uses_the_local_cache(
    tmp_path: Path,
) -> None:
    sc = shared_cache(tmp_path, f"http://127.0.0.1:{dead_port()}/gocache")
    units = [echo_unit("test", STANDIN), echo_unit("test:2", STANDIN)]
    plan = plan_of(tmp_path, units, sc)
    out, err = io.StringIO(), io.StringIO()
    outcome = run_planned(plan, Environment(os.environ), CheckPrinter(out, err))
    assert [r.status for r in outcome.results] == ["passed", "passed"]
    warnings = err.getvalue().splitlines()
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(
        "gobuild: warning: the shared Go build cache s3://gocache/team did not answer; "
        "building with the local cache alone ("
    )
    assert "refused" in warnings[0].lower() and warnings[0].endswith(")"), warnings
    for log in outcome.reports.glob("*.log"):
        assert "GOCACHEPROG=unset" in log.read_text()
    assert outcome.shared_cache is None
    assert not (outcome.reports / lookups.FILE_NAME).exists()


# -- the probe ---------------------------------------------------------------------------


@pytest.fixture
def bucket() -> Iterator[Bucket]:
    with Bucket() as server:
        yield server


def test_a_closed_port_is_unreachable_with_the_reason() -> None:
    why = unreachable(Network(), f"http://127.0.0.1:{dead_port()}/bucket", 3.0)
    assert why is not None and "refused" in why.lower(), why


def test_a_remote_that_hangs_is_unreachable_within_the_timeout() -> None:
    with Blackhole() as hole:
        started = time.monotonic()
        why = unreachable(Network(), f"{hole.url}/bucket", 0.5)
        took = time.monotonic() - started
    assert why is not None and "timed out" in why.lower(), why
    assert took < 3.0 and hole.accepted == 1


@pytest.mark.parametrize("path", ["/bucket", "/missing"])
def test_any_http_answer_is_reachable(bucket: Bucket, path: str) -> None:
    # 403 (no credentials sent) and 404 alike: the service is up.
    assert unreachable(Network(), bucket.url(path), 3.0) is None


def test_the_probe_is_one_head_without_credentials(bucket: Bucket) -> None:
    variables = {"AWS_ACCESS_KEY_ID": "AKIDPROBE", "AWS_SECRET_ACCESS_KEY": "probe-secret"}
    assert unreachable(Network.from_variables(variables), bucket.url("/bucket"), 3.0) is None
    [(method, path, headers)] = bucket.seen
    assert (method, path) == ("HEAD", "/bucket")
    assert "Authorization" not in headers
    assert "probe-secret" not in str(headers) and "AKIDPROBE" not in str(headers)


# -- [cache] in gobuild.toml -------------------------------------------------------------


def config_error(tmp_path: Path, toml: str) -> str:
    """test_config's one-line refusal, naming the file."""
    message = refused(tmp_path, toml)
    assert str(tmp_path / "gobuild.toml") in message, message
    return message


def test_the_cache_section_is_read(tmp_path: Path) -> None:
    path = tmp_path / "gobuild.toml"
    path.write_text(
        '[cache]\nremote = "s3://gocache/team/go"\nendpoint = "http://127.0.0.1:9000/"\n'
        'region = "eu-west-3"\npath_style = false\n'
    )
    section = load_settings(path).cache
    assert section == CacheSection(
        remote="s3://gocache/team/go",
        endpoint="http://127.0.0.1:9000",
        region="eu-west-3",
        path_style=False,
    )
    path.write_text("")
    assert load_settings(path).cache.remote is None


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ('remote = "https://gocache/p"', ["cache.remote", "S3 location like s3://bucket/prefix"]),
        ('remote = "gocache/p"', ["cache.remote", "S3 location"]),
        ('remote = "s3://AK:SK@gocache/p"', ["cache.remote", "no credentials"]),
        ('remote = "s3://Go_Cache/p"', ["cache.remote", "'Go_Cache' is not an S3 bucket name"]),
        ('remote = "s3://ab"', ["cache.remote", "not an S3 bucket name"]),
        ('remote = "s3://a..b"', ["cache.remote", "not an S3 bucket name"]),
        ('remote = "s3://gocache/a b"', ["cache.remote", "characters S3 keys avoid"]),
        ('remote = "s3://gocache/a//b"', ["cache.remote", "characters S3 keys avoid"]),
        ('remote = "s3://gocache/p?x=1"', ["cache.remote", "has no query or fragment"]),
        ('endpoint = "ftp://127.0.0.1:21"', ["cache.endpoint", "not an http:// or https:// URL"]),
        ('endpoint = "127.0.0.1:9000"', ["cache.endpoint", "not an http:// or https:// URL"]),
        ('endpoint = "http://AK:SK@127.0.0.1:9000"', ["cache.endpoint", "no credentials"]),
        ('endpoint = "http://127.0.0.1:9000/bucket"', ["cache.endpoint", "with no path"]),
        ('region = "US-EAST-1"', ["cache.region", "not a region like us-east-1"]),
        ('region = "useast1"', ["cache.region", "not a region"]),
        ('path_style = "yes"', ["cache.path_style"]),
    ],
)
def test_a_bad_cache_setting_names_its_key(tmp_path: Path, toml: str, words: list[str]) -> None:
    message = config_error(tmp_path, f"[cache]\n{toml}\n")
    for word in words:
        assert word in message, message


@pytest.mark.parametrize(
    "toml",
    [
        'endpoint = "http://AKIDLEAK:s3cr3t-leak@127.0.0.1:9000"',
        'remote = "s3://AKIDLEAK:s3cr3t-leak@gocache/p"',
    ],
)
def test_no_secret_from_a_bad_setting_is_repeated(tmp_path: Path, toml: str) -> None:
    message = config_error(tmp_path, f"[cache]\n{toml}\n")
    assert "no credentials" in message
    assert "s3cr3t-leak" not in message, message


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [("remtoe", "cache.remote"), ("endpont", "cache.endpoint"), ("pathstyle", "cache.path_style")],
)
def test_an_unknown_cache_key_suggests(tmp_path: Path, key: str, suggestion: str) -> None:
    message = config_error(tmp_path, f'[cache]\n{key} = "x"\n')
    assert f"'cache.{key}'" in message
    assert f"did you mean '{suggestion}'" in message


def test_credentials_have_no_key_of_their_own(tmp_path: Path) -> None:
    message = config_error(tmp_path, '[cache]\nsecret_access_key = "x"\n')
    assert "'cache.secret_access_key'" in message, message


# -- what a [cache] remote needs ---------------------------------------------------------


def project_with(tmp_path: Path, toml: str) -> Project:
    root = tmp_path / "m"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/m\n\ngo 1.24\n")
    (root / "gobuild.toml").write_text(toml)
    return load_project(root, env=Environment({"GOBUILD_CACHE": str(tmp_path / "cache")}))


def test_a_remote_pins_the_cache_plugin(tmp_path: Path) -> None:
    project = project_with(tmp_path, '[cache]\nremote = "s3://gocache/p"\n')
    pin = pinned(project)["go-cache-plugin"]
    assert pin.spec == "github.com/tailscale/go-cache-plugin/cmd/go-cache-plugin@v0.1.1"


def test_no_remote_pins_no_cache_plugin(tmp_path: Path) -> None:
    project = project_with(tmp_path, '[cache]\nregion = "eu-west-1"\n')
    assert "go-cache-plugin" not in pinned(project)


def installed(version: str) -> Installed:
    """A toolchain that is never run (prepare must refuse it before running anything)."""
    return Installed(
        version=GoVersion.parse(version),
        platform=host(),
        goroot=Path("/nonexistent/go"),
        source="test",
        artifact=Artifact("go.tar.gz", sha256="0" * 64),
        size=0,
        installed_at="2026-01-01T00:00:00Z",
    )


@pytest.mark.parametrize("version", ["1.22.10", "1.23.12"])
def test_go_older_than_1_24_is_one_line_naming_cache_remote(tmp_path: Path, version: str) -> None:
    project = project_with(tmp_path, '[cache]\nremote = "s3://gocache/p"\n')
    with pytest.raises(ConfigError) as info:
        shared.prepare(project, installed(version), Silent())
    message = str(info.value)
    assert "\n" not in message
    assert "cache.remote" in message and "Go 1.24" in message and version in message
    assert str(project.config_file) in message
    assert not (tmp_path / "cache" / "tools").exists()  # nothing was built


def test_require_go_allows_1_24_and_later(tmp_path: Path) -> None:
    config = tmp_path / "gobuild.toml"
    for version in ("1.24.0", "1.24.11", "1.27.3"):
        command.require_go(GoVersion.parse(version), config)
    with pytest.raises(ConfigError, match=r"cache\.remote needs Go 1\.24 or later") as info:
        command.require_go(GoVersion.parse("1.23.12"), config)
    assert str(info.value).startswith(f"{config}: ")


def test_without_a_remote_nothing_is_prepared(tmp_path: Path) -> None:
    project = project_with(tmp_path, "")
    assert shared.prepare(project, installed("1.22.10"), Silent()) is None
    notices: list[str] = []
    assert shared.connect(None, Network(), notices.append) == {}
    assert notices == []

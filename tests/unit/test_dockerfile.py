"""The generated Dockerfiles: the build-from-source form's module handling (which
directory the build runs in, the GOWORK it runs with, when dependencies download in a
layer of their own, the build stage on the builder's platform), and the release form
(Dockerfile.release: a stage per released linux binary, the runtime stage shared).

Rendering only (gobuild.lock is written by hand; no Go, no engine): images built from
these layouts are tests/functional/test_workspace_images.py, the release form's image
tests/functional/test_docker_release.py.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import dockerfile as buildkit
import pytest

from gobuild.digest import Artifact
from gobuild.errors import GobuildError
from gobuild.gocache.command import staging_name, verifier_source
from gobuild.project import lock as lockfile
from gobuild.project.config import Project, load_project
from gobuild.project.environ import Environment
from gobuild.project.platforms import host
from gobuild.project.versions import GoVersion
from gobuild.render import generate
from gobuild.render.dockerfile import released_binaries
from gobuild.render.generate import render_file
from tests import godist
from tests.cacheplugin import PLUGIN_LOCK

VERSION = "1.22.10"
MAIN = "package main\n\nfunc main() {}\n"
LIB = "package lib\n"


def gomod(module: str, extra: str = "") -> str:
    return f"module {module}\n\ngo 1.21\n{extra}"


# layout: (files, the app's package)
LAYOUTS: dict[str, tuple[dict[str, str], str]] = {
    "module": (
        {"go.mod": gomod("example.com/ws/app"), "cmd/app/main.go": MAIN},
        "./cmd/app",
    ),
    # One module, and a go.work replacing its requirement with a directory that the
    # download layer (go.mod and go.sum only) would not have.
    "go.work-using-the-root": (
        {
            "go.mod": gomod("example.com/ws/app", "\nrequire example.com/ws/lib v0.1.0\n"),
            "cmd/app/main.go": MAIN,
            "fork/go.mod": gomod("example.com/ws/lib"),
            "fork/lib.go": LIB,
            "go.work": "go 1.21\n\nuse .\n\nreplace example.com/ws/lib => ./fork\n",
        },
        "./cmd/app",
    ),
    "go.work": (
        {
            "app/go.mod": gomod("example.com/ws/app", "\nrequire example.com/ws/lib v0.1.0\n"),
            "app/cmd/app/main.go": MAIN,
            "lib/go.mod": gomod("example.com/ws/lib"),
            "lib/lib.go": LIB,
            "go.work": "go 1.21\n\nuse (\n\t./app\n\t./lib\n)\n",
        },
        "./app/cmd/app",
    ),
    "nested": (
        {
            "app/go.mod": gomod(
                "example.com/ws/app",
                "\nrequire example.com/ws/lib v0.1.0\n\nreplace example.com/ws/lib => ../lib\n",
            ),
            "app/cmd/app/main.go": MAIN,
            "lib/go.mod": gomod("example.com/ws/lib"),
            "lib/lib.go": LIB,
        },
        "./app/cmd/app",
    ),
}


def project_of(tmp_path: Path, layout: str, toml: str = "") -> Project:
    files, package = LAYOUTS[layout]
    root = tmp_path / "repo"  # not in a git work tree: a go.work there is honoured
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "gobuild.toml").write_text(
        f'[go]\nversion = "{VERSION}"\n\n[[binaries]]\nname = "app"\npackage = "{package}"\n' + toml
    )
    artifact = Artifact(godist.archive_name(VERSION), "0" * 64)
    lock = lockfile.Lock(VERSION, GoVersion.parse(VERSION), {host().key: {"official": artifact}})
    (root / "gobuild.lock").write_text(lockfile.dumps(lock))
    return load_project(root, env=Environment({"GOBUILD_CACHE": str(tmp_path / "cache")}))


def dockerfile(tmp_path: Path, layout: str, toml: str = "") -> str:
    return render_file(project_of(tmp_path, layout, toml), "Dockerfile")


def release_dockerfile(tmp_path: Path, toml: str = "") -> str:
    return render_file(project_of(tmp_path, "module", toml), "Dockerfile.release")


def go_build_line(text: str) -> str:
    [line] = [ln.strip() for ln in text.splitlines() if re.match(r"\s*go .*\bbuild ", ln)]
    return line


@pytest.mark.parametrize(
    ("layout", "chdir", "package", "gowork", "download"),
    [
        ("module", "", "./cmd/app", "off", True),
        ("go.work-using-the-root", "", "./cmd/app", "auto", False),
        ("go.work", "-C app ", "./cmd/app", "auto", False),
        ("nested", "-C app ", "./cmd/app", "off", False),
    ],
)
def test_build_runs_in_the_module_with_its_gowork(
    tmp_path: Path, layout: str, chdir: str, package: str, gowork: str, download: bool
) -> None:
    text = dockerfile(tmp_path, layout)
    line = go_build_line(text)
    assert line.startswith(f"go {chdir}build -trimpath "), line
    assert line.endswith(f" -o /out/app {package}"), line
    assert re.search(rf"^\s*CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK={gowork} GOENV=off ", text, re.M)
    # The download layer sees go.mod and go.sum alone: only a lone module without a
    # go.work builds the same from them (a go.work's replace directives, or a sibling
    # module a replace names, are not there yet).
    assert ("COPY go.mod go.sum* ./" in text) == download, text
    assert ("go mod download" in text) == download, text
    if download:
        assert f"GOWORK={gowork} GOENV=off go mod download" in text, text


# -- both forms: the build stage on the builder's platform, one runtime stage ---------------

AWKWARD = 'a "b" $c ${d} \\ e\\'  # quotes, both expansions, backslashes (one at the end)
RUNTIME_TOML = (
    '[docker]\nexpose = [8080, 9090]\nhealthcheck = ["-health", "x \\"y\\""]\n'
    f'labels = {{ "org.example.note" = {json.dumps(AWKWARD)} }}\n'
)


def commands(text: str) -> list[buildkit.Command]:
    return list(buildkit.parse_string(text))


def runtime_stage(text: str) -> list[str]:
    """The last stage's instructions, but for where the binary and the CA bundle come
    from (the build stage, or the dist and certs stages)."""
    cmds = commands(text)
    last = max(i for i, c in enumerate(cmds) if c.cmd == "FROM")
    return [
        c.original.replace("--from=certs ", "--from=build ")
        for c in cmds[last:]
        if not re.match(r"COPY --from=(build /out/|dist /)app ", c.original)
    ]


def dq_value(word: str) -> str:
    """A double-quoted Dockerfile word as BuildKit's lexer reads it."""
    assert word[0] == word[-1] == '"'
    return re.sub(r'\\([\\"$])', r"\1", word[1:-1])


def test_build_stage_runs_on_the_builders_platform(tmp_path: Path) -> None:
    froms = [c for c in commands(dockerfile(tmp_path, "module")) if c.cmd == "FROM"]
    # The build stage cross-compiles (GOOS/GOARCH from TARGETOS/TARGETARCH) instead of
    # running under emulation; the runtime stage is the target platform's.
    assert froms[0].flags == ("--platform=$BUILDPLATFORM",)
    assert froms[-1].flags == () and froms[-1].value == ("alpine:${ALPINE_VERSION}",)


@pytest.mark.parametrize("runtime", ["alpine", "distroless", "scratch"])
def test_both_forms_end_in_the_same_runtime_stage(tmp_path: Path, runtime: str) -> None:
    toml = RUNTIME_TOML + f'runtime = "{runtime}"\n'
    source = dockerfile(tmp_path / "s", "module", toml)
    release = release_dockerfile(tmp_path / "r", toml)
    assert runtime_stage(release) == runtime_stage(source)
    assert len(runtime_stage(release)) >= 9  # FROM, 3 ARGs, LABEL, USER, 2 EXPOSE, ...
    copied = [c for c in commands(release) if c.cmd == "COPY" and c.flags == ("--from=dist",)]
    assert [c.value for c in copied] == [("/app", "/usr/local/bin/app")]
    label = next(c for c in commands(release) if c.cmd == "LABEL").value
    labels = dict(zip(label[::2], label[1::2], strict=True))
    assert dq_value(labels["org.example.note"]) == AWKWARD
    assert labels["org.opencontainers.image.version"] == '"${VERSION}"'
    health = next(c for c in commands(release) if c.cmd == "HEALTHCHECK")
    assert health.json and health.value == ("CMD", "/usr/local/bin/app", "-health", 'x "y"')
    assert [c.value for c in commands(release) if c.cmd == "EXPOSE"] == [("8080",), ("9090",)]


# -- the release form ----------------------------------------------------------------------

PLATFORMS = [
    "linux/amd64",
    "darwin/arm64",
    "linux/arm64",
    "linux/arm",
    "linux/arm/7",  # the same container platform as linux/arm: the first listed serves
    "linux/arm/6",
    "linux/amd64/v3",
    "linux/386/softfloat",
    "windows/amd64",
]


def dist_stages(text: str) -> dict[str, str]:
    """Each stage holding a released binary → the file it copies from the context."""
    cmds = commands(text)
    out = {}
    for i, c in enumerate(cmds):
        if c.cmd == "FROM" and c.value[:1] == ("scratch",) and len(c.value) == 3:
            nxt = cmds[i + 1]
            if nxt.cmd == "COPY" and nxt.json:
                assert nxt.value[1] == "/app"
                out[c.value[2]] = nxt.value[0]
    return out


def buildkit_stage(text: str, platform: str) -> str:
    """The stage the dispatching FROM names for ``platform`` (BuildKit's TARGET* args)."""
    [dispatch] = [c for c in commands(text) if c.cmd == "FROM" and c.value[-1] == "dist"]
    goos, goarch, *variant = platform.split("/")
    expansions = {
        "${TARGETOS}": goos,
        "${TARGETARCH}": goarch,
        "${TARGETVARIANT:+-${TARGETVARIANT}}": f"-{variant[0]}" if variant else "",
    }
    name = str(dispatch.value[0])
    for key, value in expansions.items():
        name = name.replace(key, value)
    return name


def test_release_form_has_a_stage_per_released_linux_binary(tmp_path: Path) -> None:
    toml = f"[dist]\nplatforms = {json.dumps(PLATFORMS)}\n"
    text = release_dockerfile(tmp_path, toml)
    stages = dist_stages(text)
    assert stages == {
        "dist-linux-amd64": "app_linux_amd64",
        "dist-linux-arm64": "app_linux_arm64",
        "dist-linux-arm-v7": "app_linux_arm",
        "dist-linux-arm-v6": "app_linux_arm_6",
        "dist-linux-amd64-v3": "app_linux_amd64_v3",
        "dist-linux-386": "app_linux_386_softfloat",
    }
    # What `docker build --platform P` selects (BuildKit's normalised P: linux/arm is v7).
    for platform, file in [
        ("linux/amd64", "app_linux_amd64"),
        ("linux/arm64", "app_linux_arm64"),
        ("linux/arm/v7", "app_linux_arm"),
        ("linux/arm/v6", "app_linux_arm_6"),
        ("linux/amd64/v3", "app_linux_amd64_v3"),
    ]:
        assert stages[buildkit_stage(text, platform)] == file
    # The names are those `doit dist` writes: the build plan's outputs.
    project = project_of(tmp_path / "again", "module", toml)
    assert {r.file for r in released_binaries(project)} == set(stages.values())
    # The header says how to build it, and for which platforms.
    assert "-f Dockerfile.release" in text and "--build-arg DATE=... dist\n" in text
    assert "--platform linux/amd64,linux/arm64,linux/arm/v7,linux/arm/v6,linux/amd64/v3," in text
    assert "#   linux/arm/v7  dist/app_linux_arm\n" in text
    # No build stage, no go command, nothing run: nothing needs emulation.
    assert not [c for c in commands(text) if c.cmd in ("RUN", "ENV", "WORKDIR")]
    assert not re.search(r"\bgo (build|mod)\b", text)


def test_release_form_runtime_bases(tmp_path: Path) -> None:
    digest = "sha256:" + "b" * 64
    alpine = release_dockerfile(tmp_path / "a")
    assert 'ARG ALPINE_VERSION="3.20"' in alpine and "GO_VERSION" not in alpine
    assert [c.value for c in commands(alpine) if c.cmd == "FROM"][-1] == (
        "alpine:${ALPINE_VERSION}",
    )
    distroless = release_dockerfile(
        tmp_path / "d", f'[docker]\nruntime = "distroless"\nruntime_digest = "{digest}"\n'
    )
    assert commands(distroless)[0].cmd == "FROM"  # no base needs a version ARG
    assert [c.value for c in commands(distroless) if c.cmd == "FROM"][-1] == (
        f"gcr.io/distroless/static-debian12:nonroot@{digest}",
    )
    # scratch: the CA bundle from the go image the build-from-source form uses (pinned by
    # go_digest), on the builder's platform, as nothing runs in it.
    scratch = release_dockerfile(
        tmp_path / "s", f'[docker]\nruntime = "scratch"\ngo_digest = "{digest}"\n'
    )
    froms = [c for c in commands(scratch) if c.cmd == "FROM"]
    certs = next(c for c in froms if c.value[-1] == "certs")
    assert certs.flags == ("--platform=$BUILDPLATFORM",)
    assert certs.value[0] == f"golang:${{GO_VERSION}}-alpine${{ALPINE_VERSION}}@{digest}"
    assert f'ARG GO_VERSION="{VERSION}"' in scratch
    assert froms[-1].value == ("scratch",)
    assert "COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/" in scratch


def test_release_form_syntax_binary_and_paths(tmp_path: Path) -> None:
    toml = (
        '[build]\nout_dir = "out/bin"\n'
        '[docker]\nsyntax = "docker/dockerfile:1.7"\n'
        '[generate]\nrelease_dockerfile = "build/release.Dockerfile"\n'
        '[dist]\nplatforms = ["linux/arm64"]\n'
    )
    text = release_dockerfile(tmp_path, toml)
    # A parser directive stays the first line, before the generated-file header.
    assert text.startswith("# syntax=docker/dockerfile:1.7\n# Dockerfile.release generated by")
    assert "-f build/release.Dockerfile" in text and "--build-arg DATE=... out/bin\n" in text
    assert dist_stages(text) == {"dist-linux-arm64": "app_linux_arm64"}


def test_release_form_without_a_linux_platform_says_so(tmp_path: Path) -> None:
    text = release_dockerfile(tmp_path, '[dist]\nplatforms = ["darwin/arm64"]\n')
    assert "[dist] platforms has no linux platform" in text and dist_stages(text) == {}


def test_release_form_is_generated_and_checked(tmp_path: Path) -> None:
    project = project_of(tmp_path, "module")
    states = {o.path.name: o.state for o in generate.generate(project)}
    assert states["Dockerfile.release"] == "written"
    assert generate.check_one(project, "Dockerfile.release") == "unchanged"
    # The module's .dockerignore keeps it out of the source build's context.
    assert "Dockerfile.release" in (project.root / ".dockerignore").read_text().splitlines()
    # Another [dist] matrix: stale; a hand edit: edited (and not overwritten).
    config = project.root / "gobuild.toml"
    config.write_text(config.read_text() + '[dist]\nplatforms = ["linux/arm64"]\n')
    changed = load_project(project.root, env=project.env)
    assert generate.check_one(changed, "Dockerfile.release") == "stale"
    path = project.root / "Dockerfile.release"
    edited = path.read_text() + "RUN true\n"
    path.write_text(edited)
    assert generate.check_one(changed, "Dockerfile.release") == "edited"
    with pytest.raises(GobuildError, match="edited by hand"):
        generate.generate(changed, ("Dockerfile.release",))
    assert path.read_text() == edited


def test_released_image_needs_the_engines_dist_binary(tmp_path: Path) -> None:
    from gobuild.errors import ConfigError
    from gobuild.image.make import released_binary

    toml = '[dist]\nplatforms = ["linux/arm64", "linux/arm/7"]\n'
    project = project_of(tmp_path, "module", toml)
    with pytest.raises(ConfigError) as caught:
        released_binary(project, "linux/amd64")
    assert str(caught.value) == (
        "[dist] platforms has no build for the engine's platform linux/amd64 "
        "(it has linux/arm64, linux/arm/v7): the released image packs the dist binary"
    )
    with pytest.raises(ConfigError, match=r"^dist/app_linux_arm64 is missing: run `doit dist`"):
        released_binary(project, "linux/arm64")
    project.out_dir.mkdir()
    for name in ("app_linux_arm64", "app_linux_arm_7"):
        (project.out_dir / name).write_bytes(b"\x7fELF")
    assert released_binary(project, "linux/arm64") == (
        "linux/arm64",
        project.out_dir / "app_linux_arm64",
    )
    # An engine on linux/arm is BuildKit's linux/arm/v7.
    assert released_binary(project, "linux/arm")[1].name == "app_linux_arm_7"


# --- [cache] remote -------------------------------------------------------------------------

CACHE_GO = "1.27.3"  # GOCACHEPROG needs Go 1.24
SHARED = '[cache]\nremote = "s3://team-cache/app"\nendpoint = "http://10.0.0.5:9000"\n'


def shared_cache_project(tmp_path: Path, *, go: str = CACHE_GO, locked: bool = True) -> Project:
    p = project_of(tmp_path, "module", SHARED)
    (p.root / "gobuild.toml").write_text(
        (p.root / "gobuild.toml").read_text().replace(f'"{VERSION}"', f'"{go}"')
    )
    artifact = Artifact(godist.archive_name(go), "0" * 64)
    tools = {"go-cache-plugin": PLUGIN_LOCK} if locked else {}
    lock = lockfile.Lock(go, GoVersion.parse(go), {host().key: {"official": artifact}}, tools)
    (p.root / "gobuild.lock").write_text(lockfile.dumps(lock))
    # Keys in the environment that generated the file, which it must not hold.
    env = {"GOBUILD_CACHE": str(tmp_path / "cache"), **KEYS}
    return load_project(p.root, env=Environment(env))


KEYS = {"AWS_ACCESS_KEY_ID": "AKIDRENDERED", "AWS_SECRET_ACCESS_KEY": "s3cr3t-rendered"}


def test_a_shared_cache_builds_its_programs_in_a_stage_and_uses_the_aws_secret(
    tmp_path: Path,
) -> None:
    text = render_file(shared_cache_project(tmp_path), "Dockerfile")
    cmds = commands(text)
    stages = [c.original.rsplit(" AS ", 1)[-1] for c in cmds if c.cmd == "FROM"]
    assert stages[:2] == ["cacheprog", "build"]
    [fetch, verifier] = [c for c in cmds if c.cmd == "RUN"][:2]
    assert "go mod download -json github.com/tailscale/go-cache-plugin@v0.1.1" in fetch.original
    assert PLUGIN_LOCK.h1 in fetch.original and "./cmd/go-cache-plugin" in fetch.original
    # The verifier's source, as the RUN writes it, is the shipped one.
    script = verifier.value[0].split(" > /tmp/verify.go", 1)[0]
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout == verifier_source()
    build = next(c for c in cmds if c.cmd == "RUN" and "go build -trimpath" in c.original
                 and "/out/app" in c.original)  # fmt: skip
    assert "--mount=type=secret,id=aws,target=/run/secrets/aws,required=false" in build.flags
    assert "COPY --from=cacheprog /cacheprog/ /usr/local/lib/gobuild-cacheprog/" in text
    prog = re.search(r"GOCACHEPROG='([^']*)'", build.original)
    assert prog is not None
    assert prog[1].split() == [
        "/usr/local/lib/gobuild-cacheprog/verify", "--",
        "/usr/local/lib/gobuild-cacheprog/go-cache-plugin",
        f"--cache-dir=/root/.cache/go-build/gocacheprog/{staging_name(shared_cache_project(tmp_path / 'again').settings.cache)}",
        "--bucket=team-cache", "--region=us-east-1", "--prefix=app",
        "--s3-endpoint-url=http://10.0.0.5:9000", "--s3-path-style",
    ]  # fmt: skip
    assert "AWS_SHARED_CREDENTIALS_FILE=/run/secrets/aws" in build.original
    assert "http://10.0.0.5:9000/team-cache" in build.original  # probed first
    assert not any(key in text for key in KEYS.values())


def test_a_shared_cache_without_the_locked_plugin_or_with_an_old_go_is_refused(
    tmp_path: Path,
) -> None:
    with pytest.raises(GobuildError, match=r"cache.remote: gobuild.lock records no .*gobuild lock"):
        render_file(shared_cache_project(tmp_path, locked=False), "Dockerfile")
    with pytest.raises(GobuildError, match=r"cache.remote needs Go 1.24 or later .* 1.22.10"):
        render_file(shared_cache_project(tmp_path / "old", go="1.22.10"), "Dockerfile")

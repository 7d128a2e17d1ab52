"""Where images build (gobuild.image.builder) and how buildctl is asked
(gobuild.image.buildkit): selection order, buildx instances, TLS files, the argument
list, the cache report and the one-line errors; no daemon, no buildctl."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from gobuild.errors import BuilderError
from gobuild.image import build, builder, buildkit
from gobuild.image.builder import ClientTLS, Engine, Remote
from gobuild.project.config import Project, load_project
from gobuild.project.environ import Environment
from gobuild.render.dockerfile import BUILD_ARGS


def project(tmp_path: Path, toml: str = "", **env: str) -> Project:
    root = tmp_path / "m"
    root.mkdir(exist_ok=True)
    (root / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    (root / "gobuild.toml").write_text(toml)
    variables = {"HOME": str(tmp_path / "home"), "GOBUILD_CACHE": str(tmp_path / "c"), **env}
    return load_project(root, Environment(variables))


def tls_dir(directory: Path, *names: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / name).write_text(f"{name}\n")
    return directory


def buildx_instance(config: Path, name: str, instance: dict[str, object]) -> Path:
    path = config / "buildx" / "instances" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(instance))
    return path


# -- selection ----------------------------------------------------------------------------


def test_without_settings_the_engine_builds(tmp_path: Path) -> None:
    assert builder.choose(project(tmp_path)) == Engine("default")
    # DOCKER_HOST only moves the engine; it does not make a BuildKit builder.
    assert builder.choose(project(tmp_path, DOCKER_HOST="tcp://10.0.0.1:2375")) == Engine("default")


def test_buildkit_host_selects_a_daemon(tmp_path: Path) -> None:
    chosen = builder.choose(project(tmp_path, BUILDKIT_HOST="tcp://127.0.0.1:1234"))
    assert chosen == Remote("tcp://127.0.0.1:1234", None, "BUILDKIT_HOST")
    assert chosen.flags() == ["--addr", "tcp://127.0.0.1:1234"]


def test_the_setting_wins_over_buildkit_host(tmp_path: Path) -> None:
    toml = '[docker]\nbuilder = "tcp://10.1.2.3:1234"\n'
    chosen = builder.choose(project(tmp_path, toml, BUILDKIT_HOST="tcp://127.0.0.1:1"))
    assert isinstance(chosen, Remote)
    assert (chosen.address, chosen.source) == ("tcp://10.1.2.3:1234", "[docker] builder")
    engine = builder.choose(
        project(tmp_path, '[docker]\nbuilder = "docker"\n', BUILDKIT_HOST="tcp://127.0.0.1:1")
    )
    assert engine == Engine("[docker] builder")


def test_a_bad_buildkit_host_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(BuilderError, match=r"^BUILDKIT_HOST=.*not a BuildKit address"):
        builder.choose(project(tmp_path, BUILDKIT_HOST="mybuilder"))
    with pytest.raises(BuilderError, match=r"^BUILDKIT_HOST: .*no spaces or credentials"):
        builder.choose(project(tmp_path, BUILDKIT_HOST="tcp://u:p@h:1"))


def test_builder_tls_is_relative_to_the_root_and_checked(tmp_path: Path) -> None:
    toml = '[docker]\nbuilder = "tcp://127.0.0.1:9999"\nbuilder_tls = "certs/bk"\n'
    p = project(tmp_path, toml)
    with pytest.raises(BuilderError) as missing:
        builder.choose(p)
    message = str(missing.value)
    assert message.startswith("builder tcp://127.0.0.1:9999: [docker] builder_tls certs/bk lacks")
    assert "ca.pem, cert.pem, key.pem" in message and "\n" not in message
    tls_dir(p.root / "certs" / "bk", "ca.pem", "cert.pem")
    with pytest.raises(BuilderError, match=r"lacks key\.pem \("):
        builder.choose(p)
    directory = tls_dir(p.root / "certs" / "bk", "key.pem")
    chosen = builder.choose(p)
    assert isinstance(chosen, Remote)
    assert chosen.tls == ClientTLS(
        directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    )
    assert chosen.flags()[2:] == [
        "--tlscacert",
        str(directory / "ca.pem"),
        "--tlscert",
        str(directory / "cert.pem"),
        "--tlskey",
        str(directory / "key.pem"),
    ]
    assert str(chosen) == "BuildKit tcp://127.0.0.1:9999 ([docker] builder, mutual TLS)"


def test_builder_tls_applies_to_buildkit_host_too(tmp_path: Path) -> None:
    p = project(tmp_path, '[docker]\nbuilder_tls = "tls"\n', BUILDKIT_HOST="tcp://h:1")
    tls_dir(p.root / "tls", *builder.TLS_FILES)
    chosen = builder.choose(p)
    assert isinstance(chosen, Remote) and chosen.tls is not None


def test_buildx_remote_builder_from_the_instances_file(tmp_path: Path) -> None:
    config = tmp_path / "dockercfg"
    certs = tls_dir(tmp_path / "buildx-certs", "ca.pem", "cert.pem", "key.pem")
    buildx_instance(
        config,
        "ci",
        {
            "Name": "ci",
            "Driver": "remote",
            "Nodes": [
                {
                    "Name": "ci0",
                    "Endpoint": "tcp://buildkit.example:1234",
                    "DriverOpts": {
                        "cacert": str(certs / "ca.pem"),
                        "cert": str(certs / "cert.pem"),
                        "key": str(certs / "key.pem"),
                    },
                }
            ],
        },
    )
    p = project(tmp_path, '[docker]\nbuilder = "ci"\n', DOCKER_CONFIG=str(config))
    chosen = builder.choose(p)
    assert chosen == Remote(
        "tcp://buildkit.example:1234",
        ClientTLS(certs / "ca.pem", certs / "cert.pem", certs / "key.pem"),
        "buildx builder ci",
    )


def test_buildx_docker_container_and_docker_drivers(tmp_path: Path) -> None:
    config = tmp_path / "home" / ".docker"  # no DOCKER_CONFIG: ~/.docker
    buildx_instance(
        config,
        "box",
        {"Driver": "docker-container", "Nodes": [{"Name": "box0", "Endpoint": "unix:///x"}]},
    )
    buildx_instance(config, "eng", {"Driver": "docker", "Nodes": [{"Name": "eng0"}]})
    box = builder.choose(project(tmp_path, '[docker]\nbuilder = "box"\n'))
    assert isinstance(box, Remote)
    assert box.address == "docker-container://buildx_buildkit_box0"
    eng = builder.choose(project(tmp_path, '[docker]\nbuilder = "eng"\n'))
    assert eng == Engine("buildx builder eng")
    assert builder.choose(project(tmp_path, '[docker]\nbuilder = "default"\n')) == Engine(
        "buildx builder default"
    )


def test_unknown_buildx_builder_and_unusable_drivers_are_one_line(tmp_path: Path) -> None:
    config = tmp_path / "cfg"
    p = project(tmp_path, '[docker]\nbuilder = "nope"\n', DOCKER_CONFIG=str(config))
    with pytest.raises(BuilderError) as unknown:
        builder.choose(p)
    assert str(unknown.value).startswith("no buildx builder named 'nope' (")
    assert str(config / "buildx" / "instances" / "nope") in str(unknown.value)
    buildx_instance(config, "k8s", {"Driver": "kubernetes", "Nodes": [{"Name": "k0"}]})
    with pytest.raises(BuilderError, match="uses the kubernetes driver"):
        builder.choose(project(tmp_path, '[docker]\nbuilder = "k8s"\n', DOCKER_CONFIG=str(config)))
    buildx_instance(config, "empty", {"Driver": "remote", "Nodes": []})
    with pytest.raises(BuilderError, match="names no node"):
        builder.choose(
            project(tmp_path, '[docker]\nbuilder = "empty"\n', DOCKER_CONFIG=str(config))
        )


def test_shown_addresses_carry_no_password() -> None:
    assert builder.shown("ssh://me:hunter2@host:22") == "ssh://me@host:22"
    assert builder.shown("tcp://127.0.0.1:1") == "tcp://127.0.0.1:1"
    remote = Remote("ssh://me:hunter2@host", None, "BUILDKIT_HOST")
    assert "hunter2" not in str(remote)


# -- buildctl's arguments ------------------------------------------------------------------


def test_build_argv_takes_the_same_inputs_as_an_engine_build(tmp_path: Path) -> None:
    values = {key: f'v-{key}, "x" $y' for key in BUILD_ARGS}
    netrc = tmp_path / "home" / ".netrc"
    netrc.parent.mkdir()
    netrc.write_text("machine example.com login u password s3cret-pw\n")
    given = build.inputs(
        values, Environment({"HOME": str(tmp_path / "home")}), platform="linux/amd64"
    )
    remote = Remote("tcp://127.0.0.1:1234", None, "BUILDKIT_HOST")
    argv = buildkit.build_argv(
        Path("/bin/buildctl"),
        remote,
        context=tmp_path / "ctx",
        dockerfile=tmp_path / "gen" / "Dockerfile.release",
        tag="app:v1",
        inputs=given,
        dest=tmp_path / "o,ut" / "image.tar",
        metadata=tmp_path / "meta.json",
        cache="127.0.0.1:5000/cache/app:main",
    )
    assert argv[:6] == [
        "/bin/buildctl",
        "--addr",
        "tcp://127.0.0.1:1234",
        "--timeout",
        "10",
        "build",
    ]
    pairs = list(itertools.pairwise(argv))
    assert ("--local", f"context={tmp_path / 'ctx'}") in pairs
    assert ("--local", f"dockerfile={tmp_path / 'gen'}") in pairs
    assert ("--opt", "filename=Dockerfile.release") in pairs
    assert ("--opt", "platform=linux/amd64") in pairs
    for key, arg in BUILD_ARGS.items():
        assert ("--opt", f"build-arg:{arg}={values[key]}") in pairs
    # The secret is a path: the password is never an argument.
    assert ("--secret", f"id=netrc,src={netrc}") in pairs
    assert not any("s3cret-pw" in a for a in argv)
    dest = tmp_path / "o,ut" / "image.tar"
    assert ("--output", f'type=docker,name=app:v1,"dest={dest}"') in pairs
    assert (
        "--export-cache",
        "type=registry,ref=127.0.0.1:5000/cache/app:main,mode=max,ignore-error=true",
    ) in pairs
    assert ("--import-cache", "type=registry,ref=127.0.0.1:5000/cache/app:main") in pairs
    # No cache, no platform, no secret: none of their flags.
    bare = buildkit.build_argv(
        Path("buildctl"),
        remote,
        context=tmp_path,
        dockerfile=tmp_path / "Dockerfile",
        tag="t:1",
        inputs=build.inputs(values, Environment({"HOME": str(tmp_path)}), secrets=False),
        dest=tmp_path / "i.tar",
        metadata=tmp_path / "m.json",
        cache=None,
    )
    for flag in ("--export-cache", "--import-cache", "--secret"):
        assert flag not in bare
    assert not any(a.startswith("platform=") for a in bare)


def test_inputs_leave_out_a_missing_netrc_and_secrets_false(tmp_path: Path) -> None:
    values = dict.fromkeys(BUILD_ARGS, "x")
    assert build.inputs(values, Environment({"HOME": str(tmp_path)})).secrets == {}
    (tmp_path / ".netrc").write_text("")
    env = Environment({"HOME": str(tmp_path)})
    assert build.inputs(values, env).secrets == {"netrc": tmp_path / ".netrc"}
    assert build.inputs(values, env, secrets=False).secrets == {}


def test_csv_fields_are_quoted_only_when_needed() -> None:
    assert buildkit.csv_field("src=/a/b") == "src=/a/b"
    assert buildkit.csv_field("src=/a,b") == '"src=/a,b"'
    assert buildkit.csv_field('src=/a"b') == '"src=/a""b"'


# -- what came back ------------------------------------------------------------------------

COLD = """#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s

#2 importing cache manifest from 127.0.0.1:5000/cache/app:main
#2 ERROR: 127.0.0.1:5000/cache/app:main: not found

#9 [build 1/5] FROM 127.0.0.1:5000/golang:1.22.10-alpine3.20@sha256:e37c
#9 DONE 0.0s

#3 [build 2/5] WORKDIR /src
#3 DONE 0.1s

#4 [build 3/5] COPY go.mod ./
#4 DONE 0.1s

#5 [build 4/5] RUN go build
#5 0.3 compiling
#5 DONE 9.1s

#6 [stage-1 1/1] COPY --from=build /out/a /usr/local/bin/a
#6 DONE 0.1s

#7 exporting to docker image format
#7 DONE 0.3s

#8 exporting cache to registry
#8 preparing build cache for export done
#8 DONE 0.4s
"""
# The cached COPY is reported once more, DONE, when the exporter fetches its layer.
REFETCHED = (
    "\n#6 [stage-1 1/1] COPY --from=build /out/a /usr/local/bin/a\n"
    "#6 sha256:7529d642bd4e608f77c5e585e42d07ec7673780827c57ddbf50b72d94685d751 588.91kB / "
    "588.91kB 0.0s done\n#6 DONE 0.2s\n"
)

WARM = (
    COLD.replace("#2 ERROR: 127.0.0.1:5000/cache/app:main: not found", "#2 DONE 0.1s")
    .replace("#3 DONE 0.1s", "#3 CACHED")
    .replace("#4 DONE 0.1s", "#4 CACHED")
    .replace("#5 0.3 compiling\n#5 DONE 9.1s", "#5 CACHED")
    .replace("#6 DONE 0.1s", "#6 CACHED")
    + REFETCHED
)
# Or that step reported only once, with the download of its layers and no CACHED line.
PULLED_ONLY = WARM.replace("#6 CACHED\n", "")


def test_cache_use_from_the_progress() -> None:
    cold = buildkit.cache_use("r/c:main", COLD)
    assert (cold.imported, cold.exported, cold.cached, cold.steps) == (False, True, 0, 4)
    assert cold.text() == "registry r/c:main: nothing to import yet, exported (mode=max)"
    warm = buildkit.cache_use("r/c:main", WARM)
    assert (warm.imported, warm.exported, warm.cached, warm.steps) == (True, True, 4, 4)
    assert warm.text() == "registry r/c:main: imported (4 of 4 steps cached), exported (mode=max)"
    assert buildkit.cache_use("r/c:main", PULLED_ONLY) == warm
    # A step that ran (its output is more than downloads) is not cached.
    ran = PULLED_ONLY.replace("#6 DONE 0.2s", "#6 0.1 copying\n#6 DONE 0.2s")
    assert buildkit.cache_use("r/c:main", ran).cached == 3
    # A registry that is down: the build goes on, the report says why nothing moved.
    down = COLD.replace(
        "#2 ERROR: 127.0.0.1:5000/cache/app:main: not found",
        "#2 ERROR: failed to configure registry cache importer: failed to do request: Head "
        '"http://127.0.0.1:5000/v2/cache/app/manifests/main": connect: connection refused',
    ).replace(
        "#8 DONE 0.4s",
        "#8 writing layer sha256:eeb2 done\n#8 ERROR: error writing layer blob: 401 Unauthorized",
    )
    failed = buildkit.cache_use("r/c:main", down)
    assert (failed.imported, failed.exported) == (False, False)
    assert failed.text() == (
        "registry r/c:main: not imported (failed to configure registry cache importer: failed "
        'to do request: Head "http://127.0.0.1:5000/v2/cache/app/manifests/main": connect: '
        "connection refused), not exported (error writing layer blob: 401 Unauthorized)"
    )
    assert buildkit.steps(COLD)[1] == (
        "importing cache manifest from 127.0.0.1:5000/cache/app:main",
        "ERROR",
    )


REMOTE = Remote("tcp://127.0.0.1:4444", None, "BUILDKIT_HOST")
WITH_TLS = Remote("tcp://127.0.0.1:4444", ClientTLS(Path("c"), Path("d"), Path("k")), "x")


@pytest.mark.parametrize(
    ("remote", "stderr", "reason"),
    [
        (
            REMOTE,
            'error: failed to list workers: Unavailable: connection error: desc = "transport: '
            'Error while dialing: dial tcp 127.0.0.1:4444: connect: connection refused"',
            "nothing listens there (connection refused)",
        ),
        (
            REMOTE,
            'error: failed to list workers: Unavailable: connection error: desc = "error '
            'reading server preface: EOF"',
            "it refused the TLS handshake",
        ),
        (
            WITH_TLS,
            "error: failed to list workers: Unavailable: write tcp 127.0.0.1:1->127.0.0.1:4444: "
            "write: broken pipe",
            "it refused the TLS handshake",
        ),
        (
            WITH_TLS,
            'error: ... desc = "transport: authentication handshake failed: tls: failed to '
            'verify certificate: x509: certificate signed by unknown authority"',
            "its certificate is not signed by the CA of the TLS files",
        ),
        (REMOTE, "error: lookup nonexistent.invalid: no such host", "no such host"),
        (REMOTE, "error: something else\n", "something else"),
    ],
)
def test_unreachable_builders_are_one_line(remote: Remote, stderr: str, reason: str) -> None:
    message = buildkit.why_unreachable(remote, stderr)
    assert message.startswith(f"builder tcp://127.0.0.1:4444 ({remote.source}) is unreachable: ")
    assert reason in message
    assert "\n" not in message
    # Without TLS files, a TLS refusal says where they are set.
    assert ("builder_tls" in message) == (remote.tls is None and "TLS" in reason)


def test_a_failed_build_is_one_line_naming_the_step() -> None:
    progress = COLD.replace(
        "#5 0.3 compiling\n#5 DONE 9.1s",
        "#5 0.3 ./main.go:3:1: syntax error\n#5 ERROR: exit code: 1",
    ).split("#6 ")[0] + (
        "------\n > [build 4/5] RUN go build:\n------\n"
        'error: failed to solve: process "/bin/sh -c go build" did not complete successfully: '
        "exit code: 1\n"
    )
    message = buildkit.failure(REMOTE, progress)
    assert "\n" not in message
    assert message.startswith(
        "build on tcp://127.0.0.1:4444 failed at [build 4/5] RUN go build: failed to solve: "
    )
    assert "syntax error" in message


@pytest.mark.parametrize(
    ("toml", "env", "pins"),
    [
        ("", {}, False),
        ('[docker]\nbuilder = "docker"\n', {}, False),
        ('[docker]\nbuilder = "tcp://127.0.0.1:1234"\n', {}, True),
        ('[docker]\nbuilder = "ci-builder"\n', {}, True),  # a buildx builder's name
        ('[docker]\ncache = "registry.example.com/team/cache"\n', {}, True),
        ("", {"BUILDKIT_HOST": "tcp://127.0.0.1:1234"}, True),
    ],
)
def test_buildctl_is_pinned_wherever_images_may_build_on_a_daemon(
    tmp_path: Path, toml: str, env: dict[str, str], pins: bool
) -> None:
    """So the first `doit image` on a daemon never writes gobuild.lock (which would make
    the version the image embeds say -dirty)."""
    from gobuild.tools.locking import pinned

    assert ("buildctl" in pinned(project(tmp_path, toml, **env))) is pins

"""The generated Dockerfiles' values, from the same build plan as ``doit build``.

The template places values; it decides no flags. The build stage runs the
host plan's go command line with the volatile values (VERSION, COMMIT, DATE,
TREE_STATE) arriving as build args, because the context has no .git. The release
form (Dockerfile.release) has no build stage: it copies the binary ``doit dist``
wrote for the target platform. Both end in the same runtime stage, from
:func:`runtime_values`.
"""

from __future__ import annotations

import dataclasses
import posixpath
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from gobuild.builds.goenv import FIXED, PROFILE_VARIABLES, profile_env
from gobuild.builds.imagespec import binary_path, image_binary, runtime_ref, static_labels
from gobuild.builds.plan import build_plan, dist_plans, quote_field
from gobuild.errors import ConfigError
from gobuild.gocache import command
from gobuild.project import lock as lockfile
from gobuild.project.config import Project
from gobuild.project.layout import RELEASE_DOCKERFILE_NAME
from gobuild.project.lock import locked_version
from gobuild.project.settings import BinarySection
from gobuild.render.dockerignore import ignore_groups

# The embedded values a build context cannot know (it has no .git): build args, by value key.
BUILD_ARGS = {"version": "VERSION", "commit": "COMMIT", "date": "DATE", "tree_state": "TREE_STATE"}
# Profile variables that become build args (their defaults are the profile's values).
PROFILE_ARGS = (*PROFILE_VARIABLES.values(), "GOFLAGS")
# The release Dockerfile's stages holding one platform's binary: dist-linux-arm64, ...
DIST_STAGE = "dist"


def image_project(project: Project) -> Project:
    """``project`` as the image builds it: the docker profile, no GOBUILD_TAGS."""
    settings = project.settings
    profile = settings.docker.profile or settings.build.default_profile
    return dataclasses.replace(project, env_tags=()).with_profile(profile)


def base_images(project: Project) -> tuple[str, str | None]:
    """The build and runtime base image references (runtime None for scratch)."""
    docker = project.settings.docker
    go = f"{docker.go_image}:{locked_version(project)}-alpine{docker.alpine_version}"
    if docker.go_digest:
        go += f"@{docker.go_digest}"
    return go, runtime_ref(docker, docker.alpine_version)


def runtime_values(project: Project, binary: BinarySection) -> dict[str, Any]:
    """The runtime stage's values, the same in both Dockerfiles: the base (or scratch),
    labels, user, ports, healthcheck and entrypoint of ``binary``."""
    docker = project.settings.docker
    return {
        "syntax": docker.syntax,
        "runtime": runtime_ref(docker, "${ALPINE_VERSION}"),
        "scratch": docker.runtime == "scratch",
        "binary": binary.name,
        "binary_path": binary_path(binary),
        "labels": sorted(static_labels(project, binary).items()),
        "user": docker.user,
        "expose": docker.expose,
        "healthcheck": docker.healthcheck,
        "healthcheck_interval": docker.healthcheck_interval,
    }


def context(project: Project) -> dict[str, Any]:
    """The values the Dockerfile template places."""
    version = locked_version(project)
    docker = project.settings.docker
    p = image_project(project)
    binary = image_binary(p)
    plan = build_plan(p, binary, str(version))
    xvars = plan.xvar_values()
    env = dict(plan.env)
    static_env = [(k, env[k]) for k in FIXED]
    profile = profile_env(p)
    return {
        **runtime_values(project, binary),
        "go_version": str(version),
        "alpine_version": docker.alpine_version,
        "go_image": docker.go_image,
        "go_digest": docker.go_digest,
        "chdir": list(plan.chdir),
        "package": plan.module_package,
        "flags": list(plan.flags),
        "static_ldflags": " ".join(
            quote_field(f)
            for f in [*plan.ldflags, *(f"-X={v}={x}" for v, _, x in xvars if x is not None)]
        ),
        "dynamic_ldflags": [(f"-X={v}=", BUILD_ARGS[k]) for v, k, x in xvars if x is None],
        "static_env": static_env,
        # `go mod download` compiles nothing: CGO_ENABLED does not concern it.
        "module_env": [(k, v) for k, v in static_env if k != "CGO_ENABLED"],
        "profile_args": [(k, profile.get(k)) for k in PROFILE_ARGS],
        "build_args": tuple(BUILD_ARGS.values()),
        # One module: its dependencies download in a layer of their own (go.mod and
        # go.sum only). Several, or a go.work (even one using only the root, whose
        # replace directives that layer would not have): the module cache mount alone
        # keeps them, as `go mod download` there fetches requirements the workspace
        # replaces, which may be published nowhere.
        "download": not p.vendored
        and p.workspace.gowork is None
        and len(p.workspace.modules) == 1
        and not plan.chdir,
        # The runtime stage takes the binary (and scratch's CA bundle) from the build stage.
        "certs_from": "build",
        "copy_from": "build",
        "copy_source": f"/out/{binary.name}",
        "shared_cache": shared_cache(project),
    }


# Where the build stage finds the shared cache's programs, and where the plugin stages
# objects: inside the build's cache mount of the go command's cache, kept between builds.
CACHEPROG_HOME = "/usr/local/lib/gobuild-cacheprog"
CACHEPROG_STAGING = "/root/.cache/go-build/gocacheprog"


def shared_cache(project: Project) -> dict[str, Any] | None:
    """``[cache] remote`` in the Dockerfile (None without it): the pinned plugin as
    gobuild.lock records it, the verifier's source, GOCACHEPROG's value in the build
    stage, the URL to probe. ConfigError when gobuild.lock lacks the plugin."""
    cache = project.settings.cache
    if cache.remote is None:
        return None
    command.require_go(locked_version(project), project.config_file)
    pin = project.tool_pin("go-cache-plugin")
    locked = lockfile.read(project.lock_file).tools.get("go-cache-plugin")
    if locked is None or not locked.at(pin):
        raise ConfigError(
            f"{project.config_file}: cache.remote: gobuild.lock records no {pin.spec}, which "
            "the Dockerfile checks the plugin against: run `gobuild lock`"
        )
    home = PurePosixPath(CACHEPROG_HOME)
    staging = PurePosixPath(CACHEPROG_STAGING, command.staging_name(cache))
    plugin = command.plugin_argv(cache, Path(home / "go-cache-plugin"), Path(staging))
    return {
        "home": str(home),
        "module_version": f"{locked.module}@{pin.version}",
        "h1": locked.h1,
        "mismatch": locked.differs("go-cache-plugin"),
        "package_dir": locked.package_dir,
        "verifier": command.verifier_source().splitlines(),
        "gocacheprog": command.join(command.verified_argv(Path(home / "verify"), plugin)),
        "probe_url": command.probe_url(cache),
        "warning": f"gobuild: {command.unanswered(cache.remote)}",
    }


@dataclass(frozen=True)
class Released:
    """One binary of the release the release Dockerfile can pack: the container
    platform it serves, the stage that holds it, its file in the dist directory."""

    platform: str  # linux/arm/v7, as BuildKit normalises --platform
    stage: str  # dist-linux-arm-v7: DIST_STAGE, TARGETOS, TARGETARCH, TARGETVARIANT
    file: str  # app_linux_arm_7, relative to the dist directory (the build context)


def released_binaries(project: Project) -> list[Released]:
    """The image binary's linux builds in ``doit dist`` (``[dist] platforms``), one per
    container platform: the first listed serves a platform two of them map to
    (linux/arm and linux/arm/7, linux/386 and linux/386/sse2: the same code)."""
    binary = image_binary(image_project(project))
    found: dict[str, Released] = {}
    for plan in dist_plans(project, str(locked_version(project)), [binary]):
        platform = plan.target.image_platform() if plan.target else None
        if platform is None or platform in found:
            continue
        stage = "-".join([DIST_STAGE, *platform.split("/")])
        file = posixpath.relpath(plan.output, project.settings.build.out_dir)
        found[platform] = Released(platform, stage, file)
    return list(found.values())


def release_context(project: Project) -> dict[str, Any]:
    """The values the release Dockerfile template places."""
    docker = project.settings.docker
    binary = image_binary(image_project(project))
    values = runtime_values(project, binary)
    scratch = values["scratch"]
    args = [("GO_VERSION", str(locked_version(project)))] if scratch else []
    if docker.runtime != "distroless":
        args.append(("ALPINE_VERSION", docker.alpine_version))
    go = f"{docker.go_image}:${{GO_VERSION}}-alpine${{ALPINE_VERSION}}"
    released = released_binaries(project)
    return {
        **values,
        "args": args,
        "released": released,
        "platforms": ",".join(r.platform for r in released),
        "dist_stage": DIST_STAGE,
        "dockerfile": project.settings.generate.paths()[RELEASE_DOCKERFILE_NAME],
        "out_dir": project.settings.build.out_dir,
        # scratch has no CA bundle: the build-from-source form's, from the same go image
        # (run nowhere: the build platform's is as good as any).
        "certs": go + (f"@{docker.go_digest}" if docker.go_digest else ""),
        "certs_from": "certs",
        "copy_from": DIST_STAGE,
        "copy_source": f"/{binary.name}",
    }


def ignore_context(project: Project) -> dict[str, Any]:
    """The values the .dockerignore template places."""
    return {"groups": ignore_groups(project)}

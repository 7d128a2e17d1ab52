"""The generated Dockerfile's values, from the same build plan as ``doit build``.

The template places values; it decides no flags. The build stage runs the
host plan's go command line with the volatile values (VERSION, COMMIT, DATE,
TREE_STATE) arriving as build args, because the context has no .git.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from gobuild.builds.goenv import FIXED, PROFILE_VARIABLES, profile_env
from gobuild.builds.plan import build_plan, checked_binaries, quote_field
from gobuild.errors import ConfigError
from gobuild.project.config import Project
from gobuild.project.lock import locked_version
from gobuild.project.settings import BinarySection, DockerSection
from gobuild.render.dockerignore import ignore_groups

# The embedded values a build context cannot know (it has no .git): build args, by value key.
BUILD_ARGS = {"version": "VERSION", "commit": "COMMIT", "date": "DATE", "tree_state": "TREE_STATE"}
# Profile variables that become build args (their defaults are the profile's values).
PROFILE_ARGS = (*PROFILE_VARIABLES.values(), "GOFLAGS")
DISTROLESS = "gcr.io/distroless/static-debian12"
BIN_DIR = "/usr/local/bin"


def image_binary(project: Project) -> BinarySection:
    """The binary the image runs: ``[docker] binary``, else the first one."""
    binaries = checked_binaries(project)
    wanted = project.settings.docker.binary
    if wanted is None:
        return binaries[0]
    for b in binaries:
        if b.name == wanted:
            return b
    raise ConfigError(f"docker.binary {wanted!r} is not one of {[b.name for b in binaries]}")


def image_name(project: Project) -> str:
    """The repository ``doit image`` tags: ``[docker] name`` or the binary's name."""
    name = project.settings.docker.name
    if name:
        return name
    base = re.sub(r"[^a-z0-9._-]+", "-", image_binary(project).name.lower()).strip("._-")
    return base or "app"


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
    if docker.runtime == "scratch":
        return go, None
    runtime = _runtime_ref(docker, docker.alpine_version)
    return go, runtime


def _runtime_ref(docker: DockerSection, alpine_tag: str) -> str:
    if docker.runtime == "alpine":
        image, tag = docker.runtime_image or "alpine", docker.runtime_tag or alpine_tag
    else:
        image, tag = docker.runtime_image or DISTROLESS, docker.runtime_tag or "nonroot"
    ref = f"{image}:{tag}"
    return ref + (f"@{docker.runtime_digest}" if docker.runtime_digest else "")


def source_url(project: Project) -> str:
    """The org.opencontainers.image.source label: configured, or from the module path."""
    configured = project.settings.docker.source
    if configured is not None:
        return configured
    module = project.gomod.module
    host = module.split("/", 1)[0]
    # Hosting sites whose module paths are also browsable URLs.
    if host in ("github.com", "gitlab.com", "bitbucket.org", "codeberg.org"):
        return "https://" + "/".join(module.split("/")[:3])
    return module


def static_labels(project: Project, binary: BinarySection) -> dict[str, str]:
    """The labels the Dockerfile fixes (version, revision and created come as build args)."""
    return {
        "org.opencontainers.image.title": binary.name,
        "org.opencontainers.image.source": source_url(project),
        **project.settings.docker.labels,
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
    runtime = None if docker.runtime == "scratch" else _runtime_ref(docker, "${ALPINE_VERSION}")
    labels = static_labels(project, binary)
    static_env = [(k, env[k]) for k in FIXED]
    profile = profile_env(p)
    return {
        "syntax": docker.syntax,
        "go_version": str(version),
        "alpine_version": docker.alpine_version,
        "go_image": docker.go_image,
        "go_digest": docker.go_digest,
        "runtime": runtime,
        "scratch": docker.runtime == "scratch",
        "binary": binary.name,
        "binary_path": f"{BIN_DIR}/{binary.name}",
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
        "labels": sorted(labels.items()),
        "user": docker.user,
        "expose": docker.expose,
        "healthcheck": docker.healthcheck,
        "healthcheck_interval": docker.healthcheck_interval,
    }


def ignore_context(project: Project) -> dict[str, Any]:
    """The values the .dockerignore template places."""
    return {"groups": ignore_groups(project)}

"""``doit image``: build the image from the generated Dockerfile, check it, and say what
it holds.

The Dockerfile must be the generated one and current (a hand-edited one is built, with
a warning); the base images it names must be on the engine or pullable; the built
image must carry the labels, a numeric non-root USER and a binary whose smoke run
exits 0. The report compares that binary with ``dist/NAME`` from ``doit build``.

``released``: the image of the release instead, from the release Dockerfile with the
dist directory as the context: it packs ``dist/NAME_linux_ARCH`` from ``doit dist`` for
the engine's platform, and the report must find the very same bytes in the image.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gobuild.builds import gitinfo, imagespec
from gobuild.digest import sha256_file
from gobuild.errors import BuilderError, ConfigError
from gobuild.gocache import credentials
from gobuild.image import build, builder, buildkit, client, context, examine
from gobuild.progress import Reporter
from gobuild.project.config import Project
from gobuild.project.layout import DOCKERFILE_NAME, RELEASE_DOCKERFILE_NAME
from gobuild.project.platforms import Target
from gobuild.render import dockerfile
from gobuild.render.generate import check_one

if TYPE_CHECKING:
    import docker


@dataclass(frozen=True)
class ImageReport:
    """What ``doit image`` built and found."""

    tag: str
    builder: str  # where it built: the docker client, or the BuildKit daemon's address
    checked: examine.Checked
    sent: context.Report  # the build context
    labels: dict[str, str]
    compared: str  # the image's binary against dist/NAME
    cache: str | None = None  # what the build did with [docker] cache, when it used one

    def text(self) -> str:
        """The report as a person reads it."""
        c = self.checked
        if c.base_size is None:
            size = (
                f"size     {c.size:,} bytes = binary {c.binary_size:,} + "
                f"{c.size - c.binary_size:,} base and other (the base is not on this engine)"
            )
        else:
            overhead = c.size - c.base_size - c.binary_size
            size = (
                f"size     {c.size:,} bytes = base {c.base_size:,} + binary "
                f"{c.binary_size:,} + {overhead:,} other"
            )
        return "\n".join(
            [
                f"image    {self.tag}  {c.image_id[:19]}  built with {self.builder}",
                *([f"cache    {self.cache}"] if self.cache is not None else []),
                size,
                f"binary   sha256 {c.binary_sha256}  ({self.compared})",
                f"context  {self.sent.files} files, {self.sent.bytes:,} bytes sent "
                f"({self.sent.rules_from})",
                f"user     {c.user}; labels checked: {len(self.labels)}",
                f"smoke    exit 0: {c.smoke_output.strip()[:200]}",
            ]
        )


def make_image(
    project: Project,
    reporter: Reporter,
    *,
    released: bool = False,
    buildctl: Callable[[], Path] | None = None,
) -> ImageReport:
    """Build and check ``project``'s image; warnings go to ``reporter``'s notices.

    ``released``: from the release Dockerfile and the dist binary for the engine's
    platform (ConfigError when ``doit dist`` has not written it). The builder is
    :func:`gobuild.image.builder.choose`'s; a BuildKit daemon is driven with the
    program ``buildctl`` returns (the pinned one: the front end builds it, since this
    room installs nothing)."""
    role = RELEASE_DOCKERFILE_NAME if released else DOCKERFILE_NAME
    state = check_one(project, role)
    shown = project.generated(role).relative_to(project.root)
    if state in ("missing", "stale"):
        raise ConfigError(f"{shown} is {state}: run `gobuild generate` (or doit generate)")
    if state == "edited":
        reporter.notice(f"warning: building {shown}, edited by hand")
    binary = imagespec.image_binary(dockerfile.image_project(project))
    where = builder.choose(project)
    info = gitinfo.of(project)
    for message in info.warnings:
        reporter.notice(f"warning: {message}")
    values = info.values("")
    engine = client.connect(project.env)
    build_base, runtime_base = dockerfile.base_images(project)
    platform: str | None = None
    if released:
        platform, host = released_binary(project, client.engine_platform(engine))
        # scratch's CA bundle comes from the go image (nothing is built in it).
        bases = [runtime_base or build_base]
        context_dir = project.out_dir
        sent = context.Report(
            files=1, bytes=host.stat().st_size, rules_from=f"{platform}'s binary alone"
        )
    else:
        host = project.out_dir / binary.name
        bases = [build_base, *([runtime_base] if runtime_base else [])]
        context_dir = project.root
        sent = context.report(project)
    with tempfile.TemporaryDirectory(prefix="gobuild-secrets-") as scratch:
        # [cache] remote: the build stage's go command reaches the bucket with these keys,
        # as a secret file that exists for the build alone (never an ARG or a layer).
        keys = None
        if not released and project.settings.cache.remote is not None:
            keys = credentials.write_credentials(project.env.variables, Path(scratch))
            if keys is None:
                reporter.notice(
                    "warning: [cache] remote: no AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                    "here, so the image build uses its builder's cache alone"
                )
        job = _Job(
            dockerfile=project.generated(role),
            context=context_dir,
            tag=build.tag_for(imagespec.image_name(project), info.version),
            values=values,
            platform=platform,
            bases=bases,
            secrets=not released,
            extra_secrets={credentials.SECRET_ID: keys} if keys else {},
        )
        if isinstance(where, builder.Remote):
            if buildctl is None:
                raise BuilderError(f"builder {where.shown} needs the pinned buildctl (doit image)")
            image_id, used, cache = _on_daemon(
                project,
                where=where,
                buildctl=buildctl(),
                engine=engine,
                job=job,
                reporter=reporter,
            )
        else:
            image_id, used, cache = _on_engine(project, engine, job, reporter)
    tag = job.tag
    settings = project.settings.docker
    labels = {
        **imagespec.commit_labels(values["version"], values["commit"], values["date"]),
        **imagespec.static_labels(project, binary),
    }
    checked = examine.check(
        engine,
        image_id,
        binary_path=imagespec.binary_path(binary),
        base=runtime_base,
        labels=labels,
        smoke_args=settings.smoke_args,
        smoke_timeout=settings.smoke_timeout,
    )
    if host.is_file():
        same = sha256_file(host) == checked.binary_sha256
        compared = f"{'same bytes as' if same else 'differs from'} {host.relative_to(project.root)}"
    else:
        compared = "no host build to compare (doit build)"
    return ImageReport(tag, used, checked, sent, labels, compared, cache)


@dataclass(frozen=True)
class _Job:
    """One image to build, wherever it builds."""

    dockerfile: Path
    context: Path
    tag: str
    values: dict[str, str]
    platform: str | None  # None: the builder's own
    bases: list[str]  # the base images an engine build needs on the engine
    secrets: bool
    extra_secrets: dict[str, Path]  # the shared Go build cache's credentials file


def _on_daemon(
    project: Project,
    *,
    where: builder.Remote,
    buildctl: Path,
    engine: docker.DockerClient,
    job: _Job,
    reporter: Reporter,
) -> tuple[str, str, str | None]:
    """Build ``job`` on a BuildKit daemon: the image id, the builder, the cache line."""
    # The checks run the image on this engine: build for its platform, whatever the
    # daemon's own is. Base images are the daemon's to pull, not the engine's.
    platform = job.platform or client.engine_platform(engine)
    built = buildkit.build(
        buildctl,
        where,
        engine,
        context=job.context,
        dockerfile=job.dockerfile,
        tag=job.tag,
        inputs=build.inputs(
            job.values,
            project.env,
            platform=platform,
            secrets=job.secrets,
            extra_secrets=job.extra_secrets,
        ),
        cache=project.settings.docker.cache,
        env=project.env.for_children(),
    )
    if built.cache is None:
        return built.image_id, str(where), None
    line = built.cache.text()
    if not built.cache.exported or built.cache.import_error:
        reporter.notice(f"warning: build cache: {line}")
    return built.image_id, str(where), line


def _on_engine(
    project: Project, engine: docker.DockerClient, job: _Job, reporter: Reporter
) -> tuple[str, str, None]:
    """Build ``job`` on the Docker engine: the image id, the client, no cache line."""
    docker_client = client.find_builder(project.env)
    cache_ref = project.settings.docker.cache
    if cache_ref is not None:
        # A docker client's engine builder exports no registry cache (buildx's docker
        # driver refuses type=registry, a classic client has no --cache-to): said once
        # rather than passing a flag that fails or does nothing.
        reporter.notice(
            f"warning: [docker] cache {cache_ref} is not used: the Docker engine's "
            "builder does not export cache to a registry (set [docker] builder to a "
            "BuildKit daemon's address)"
        )
    client.require_images(engine, job.bases)
    image_id = build.build(
        docker_client,
        project.root,
        tag=job.tag,
        values=job.values,
        environ=project.env,
        dockerfile=job.dockerfile,
        context=job.context,
        platform=job.platform,
        secrets=job.secrets,
        extra_secrets=job.extra_secrets,
    )
    return image_id, str(docker_client), None


def released_binary(project: Project, engine_platform: str) -> tuple[str, Path]:
    """The container platform of ``engine_platform`` (``linux/amd64``) and the dist
    binary the release Dockerfile packs for it; ConfigError when ``[dist]`` has none for
    it or ``doit dist`` has not written it."""
    wanted = Target.parse(engine_platform).image_platform() or engine_platform
    found = {r.platform: r for r in dockerfile.released_binaries(project)}
    if wanted not in found:
        have = ", ".join(found) or "no linux platform"
        raise ConfigError(
            f"[dist] platforms has no build for the engine's platform {wanted} "
            f"(it has {have}): the released image packs the dist binary"
        )
    path = project.out_dir / found[wanted].file
    if not path.is_file():
        rel = path.relative_to(project.root)
        raise ConfigError(f"{rel} is missing: run `doit dist` (the released image packs it)")
    return wanted, path

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

from dataclasses import dataclass
from pathlib import Path

from gobuild.builds import gitinfo, imagespec
from gobuild.digest import sha256_file
from gobuild.errors import ConfigError
from gobuild.image import build, client, context, examine
from gobuild.progress import Reporter
from gobuild.project.config import Project
from gobuild.project.layout import DOCKERFILE_NAME, RELEASE_DOCKERFILE_NAME
from gobuild.project.platforms import Target
from gobuild.render import dockerfile
from gobuild.render.generate import check_one


@dataclass(frozen=True)
class ImageReport:
    """What ``doit image`` built and found."""

    tag: str
    builder: client.Builder
    checked: examine.Checked
    sent: context.Report  # the build context
    labels: dict[str, str]
    compared: str  # the image's binary against dist/NAME

    def text(self) -> str:
        """The report as a person reads it."""
        c = self.checked
        overhead = c.size - c.base_size - c.binary_size
        return "\n".join(
            [
                f"image    {self.tag}  {c.image_id[:19]}  built with {self.builder}",
                f"size     {c.size:,} bytes = base {c.base_size:,} + binary "
                f"{c.binary_size:,} + {overhead:,} other",
                f"binary   sha256 {c.binary_sha256}  ({self.compared})",
                f"context  {self.sent.files} files, {self.sent.bytes:,} bytes sent "
                f"({self.sent.rules_from})",
                f"user     {c.user}; labels checked: {len(self.labels)}",
                f"smoke    exit 0: {c.smoke_output.strip()[:200]}",
            ]
        )


def make_image(project: Project, reporter: Reporter, *, released: bool = False) -> ImageReport:
    """Build and check ``project``'s image; warnings go to ``reporter``'s notices.

    ``released``: from the release Dockerfile and the dist binary for the engine's
    platform (ConfigError when ``doit dist`` has not written it)."""
    role = RELEASE_DOCKERFILE_NAME if released else DOCKERFILE_NAME
    state = check_one(project, role)
    shown = project.generated(role).relative_to(project.root)
    if state in ("missing", "stale"):
        raise ConfigError(f"{shown} is {state}: run `gobuild generate` (or doit generate)")
    if state == "edited":
        reporter.notice(f"warning: building {shown}, edited by hand")
    binary = imagespec.image_binary(dockerfile.image_project(project))
    info = gitinfo.of(project)
    for message in info.warnings:
        reporter.notice(f"warning: {message}")
    values = info.values("")
    builder = client.find_builder(project.env)
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
    client.require_images(engine, bases)
    tag = build.tag_for(imagespec.image_name(project), info.version)
    image_id = build.build(
        builder,
        project.root,
        tag=tag,
        values=values,
        environ=project.env,
        dockerfile=project.generated(role),
        context=context_dir,
        platform=platform,
        secrets=not released,
    )
    docker = project.settings.docker
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
        smoke_args=docker.smoke_args,
        smoke_timeout=docker.smoke_timeout,
    )
    if host.is_file():
        same = sha256_file(host) == checked.binary_sha256
        compared = f"{'same bytes as' if same else 'differs from'} {host.relative_to(project.root)}"
    else:
        compared = "no host build to compare (doit build)"
    return ImageReport(tag, builder, checked, sent, labels, compared)


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

"""``doit image``: build the image from the generated Dockerfile, check it, and say what
it holds.

The Dockerfile must be the generated one and current (a hand-edited one is built, with
a warning); the base images it names must be on the engine or pullable; the built
image must carry the labels, a numeric non-root USER and a binary whose smoke run
exits 0. The report compares that binary with ``dist/NAME`` from ``doit build``.
"""

from __future__ import annotations

from dataclasses import dataclass

from gobuild.builds import gitinfo
from gobuild.digest import sha256_file
from gobuild.errors import ConfigError
from gobuild.image import build, client, context, examine
from gobuild.progress import Reporter
from gobuild.project.config import Project
from gobuild.project.layout import DOCKERFILE_NAME
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


def make_image(project: Project, reporter: Reporter) -> ImageReport:
    """Build and check ``project``'s image; warnings go to ``reporter``'s notices."""
    state = check_one(project, DOCKERFILE_NAME)
    shown = project.generated(DOCKERFILE_NAME).relative_to(project.root)
    if state in ("missing", "stale"):
        raise ConfigError(f"{shown} is {state}: run `gobuild generate` (or doit generate)")
    if state == "edited":
        reporter.notice(f"warning: building {shown}, edited by hand")
    info = gitinfo.of(project)
    for message in info.warnings:
        reporter.notice(f"warning: {message}")
    values = info.values("")
    builder = client.find_builder(project.env)
    engine = client.connect(project.env)
    build_base, runtime_base = dockerfile.base_images(project)
    client.require_images(engine, [build_base, *([runtime_base] if runtime_base else [])])
    tag = build.tag_for(dockerfile.image_name(project), info.version)
    sent = context.report(project)
    image_id = build.build(
        builder,
        project.root,
        tag=tag,
        values=values,
        environ=project.env,
        dockerfile=project.generated(DOCKERFILE_NAME),
    )
    binary = dockerfile.image_binary(dockerfile.image_project(project))
    docker = project.settings.docker
    labels = {
        "org.opencontainers.image.version": values["version"],
        "org.opencontainers.image.revision": values["commit"],
        "org.opencontainers.image.created": values["date"],
        **dockerfile.static_labels(project, binary),
    }
    checked = examine.check(
        engine,
        image_id,
        binary_path=f"{dockerfile.BIN_DIR}/{binary.name}",
        base=runtime_base,
        labels=labels,
        smoke_args=docker.smoke_args,
        smoke_timeout=docker.smoke_timeout,
    )
    host = project.out_dir / binary.name
    if host.is_file():
        same = sha256_file(host) == checked.binary_sha256
        compared = f"{'same bytes as' if same else 'differs from'} {host.relative_to(project.root)}"
    else:
        compared = "no host build to compare (doit build)"
    return ImageReport(tag, builder, checked, sent, labels, compared)

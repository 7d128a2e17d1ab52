"""Building the image: the generated Dockerfile, through BuildKit, with the embedded
values as build args and credentials only ever as a secret."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

from gobuild import proc
from gobuild.builds.imagespec import version_tag
from gobuild.image.client import Builder
from gobuild.project.environ import Environment
from gobuild.project.layout import DOCKERFILE_NAME
from gobuild.render.dockerfile import BUILD_ARGS


def build(
    builder: Builder,
    root: Path,
    *,
    tag: str,
    values: Mapping[str, str],
    environ: Environment,
    dockerfile: Path | None = None,
    context: Path | None = None,
    platform: str | None = None,
    secrets: bool = True,
) -> str:
    """Build ``context`` (default: ``root``) with ``dockerfile`` (default: the root's
    Dockerfile) for ``platform`` (default: the engine's), from ``root``; return the
    image id. ``secrets``: pass ~/.netrc as the netrc secret when there is one (only a
    Dockerfile that downloads modules needs it)."""
    argv = [*builder.argv(), "-f", str(dockerfile or root / DOCKERFILE_NAME), "-t", tag]
    if platform is not None:
        argv += ["--platform", platform]
    for key, arg in BUILD_ARGS.items():
        argv += ["--build-arg", f"{arg}={values[key]}"]
    netrc = environ.netrc
    if secrets and netrc.is_file():
        # Private modules: credentials reach only the secret mount, never an ARG or layer.
        argv += ["--secret", f"id=netrc,src={netrc}"]
    with tempfile.TemporaryDirectory(prefix="gobuild-image-") as tmp:
        iid = Path(tmp) / "iid"
        argv += ["--iidfile", str(iid), str(context or root)]
        proc.run(argv, env=builder.environ(environ.for_children()), cwd=root)
        return iid.read_text().strip()


def tag_for(name: str, version: str) -> str:
    """``name:version`` with the version made a valid tag (``+`` and others become ``-``)."""
    return f"{name}:{version_tag(version)}"

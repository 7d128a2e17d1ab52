"""Building the image: the generated Dockerfile, through BuildKit, with the embedded
values as build args and credentials only ever as a secret."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from gobuild import proc
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
) -> str:
    """Build ``root`` with ``dockerfile`` (default: its Dockerfile) and return the image id."""
    argv = [*builder.argv(), "-f", str(dockerfile or root / DOCKERFILE_NAME), "-t", tag]
    for key, arg in BUILD_ARGS.items():
        argv += ["--build-arg", f"{arg}={values[key]}"]
    netrc = environ.netrc
    if netrc.is_file():
        # Private modules: credentials reach only the secret mount, never an ARG or layer.
        argv += ["--secret", f"id=netrc,src={netrc}"]
    with tempfile.TemporaryDirectory(prefix="gobuild-image-") as tmp:
        iid = Path(tmp) / "iid"
        argv += ["--iidfile", str(iid), str(root)]
        proc.run(argv, env=builder.environ(environ.for_children()), cwd=root)
        return iid.read_text().strip()


def tag_for(name: str, version: str) -> str:
    """``name:version`` with the version made a valid tag (``+`` and others become ``-``)."""
    tag = re.sub(r"[^A-Za-z0-9_.-]", "-", version).lstrip(".-")[:128] or "latest"
    return f"{name}:{tag}"

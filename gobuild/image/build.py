"""Building the image: the generated Dockerfile, through BuildKit, with the embedded
values as build args and credentials only ever as a secret.

:func:`inputs` decides what every build gets besides its files, wherever it runs;
:func:`build` runs it on the engine's BuildKit through a docker client (a BuildKit
daemon of its own: :mod:`.buildkit`, with the same inputs).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gobuild import proc
from gobuild.builds.imagespec import version_tag
from gobuild.image.client import Builder
from gobuild.project.environ import Environment
from gobuild.project.layout import DOCKERFILE_NAME
from gobuild.render.dockerfile import BUILD_ARGS


@dataclass(frozen=True)
class Inputs:
    """What a build gets besides its files: build-arg values by name, the target
    platform (None: the builder's own) and secret files by id (``netrc``)."""

    args: Mapping[str, str]
    platform: str | None
    secrets: Mapping[str, Path]


def inputs(
    values: Mapping[str, str],
    environ: Environment,
    *,
    platform: str | None = None,
    secrets: bool = True,
    extra_secrets: Mapping[str, Path] | None = None,
) -> Inputs:
    """The embedded ``values`` as the Dockerfile's build args, ``platform``, and
    ``secrets``: ~/.netrc as the netrc secret when there is one (only a Dockerfile that
    downloads modules needs it), and ``extra_secrets`` (the shared Go build cache's
    ``aws``)."""
    args = {arg: values[key] for key, arg in BUILD_ARGS.items()}
    netrc = environ.netrc
    files = {"netrc": netrc} if secrets and netrc.is_file() else {}
    if secrets:
        files.update(extra_secrets or {})
    return Inputs(args, platform, files)


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
    extra_secrets: Mapping[str, Path] | None = None,
) -> str:
    """Build ``context`` (default: ``root``) with ``dockerfile`` (default: the root's
    Dockerfile) for ``platform`` (default: the engine's) on the engine, from ``root``;
    return the image id. ``secrets``: see :func:`inputs`."""
    given = inputs(values, environ, platform=platform, secrets=secrets, extra_secrets=extra_secrets)
    argv = [*builder.argv(), "-f", str(dockerfile or root / DOCKERFILE_NAME), "-t", tag]
    if given.platform is not None:
        argv += ["--platform", given.platform]
    for arg, value in given.args.items():
        argv += ["--build-arg", f"{arg}={value}"]
    for ident, path in given.secrets.items():
        # Private modules: credentials reach only the secret mount, never an ARG or layer.
        argv += ["--secret", f"id={ident},src={path}"]
    with tempfile.TemporaryDirectory(prefix="gobuild-image-") as tmp:
        iid = Path(tmp) / "iid"
        argv += ["--iidfile", str(iid), str(context or root)]
        proc.run(argv, env=builder.environ(environ.for_children()), cwd=root)
        return iid.read_text().strip()


def tag_for(name: str, version: str) -> str:
    """``name:version`` with the version made a valid tag (``+`` and others become ``-``)."""
    return f"{name}:{version_tag(version)}"

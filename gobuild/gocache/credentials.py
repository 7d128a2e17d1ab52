"""The shared cache's credentials for an image build: an AWS credentials file, handed to
BuildKit as the ``aws`` secret.

The build stage's go commands reach the bucket through the plugin, which reads the file
through AWS_SHARED_CREDENTIALS_FILE; a secret mount is never part of a layer, and no
build arg or environment variable of the image holds the keys. The file is written
readable by its owner alone, into a directory the caller removes after the build.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gobuild import atomic

# --secret id=aws,src=FILE; the Dockerfile mounts it at /run/secrets/aws.
SECRET_ID = "aws"  # noqa: S105 - the secret's name, not a secret
_KEYS = (
    ("AWS_ACCESS_KEY_ID", "aws_access_key_id"),
    ("AWS_SECRET_ACCESS_KEY", "aws_secret_access_key"),
    ("AWS_SESSION_TOKEN", "aws_session_token"),
)


def credentials_text(variables: Mapping[str, str]) -> str | None:
    """The ``[default]`` profile of an AWS credentials file from the AWS_* variables, or
    None without both the key ID and the secret (then the build uses its own cache)."""
    if not (variables.get("AWS_ACCESS_KEY_ID") and variables.get("AWS_SECRET_ACCESS_KEY")):
        return None
    lines = ["[default]"]
    lines += [f"{name} = {variables[var]}" for var, name in _KEYS if variables.get(var)]
    return "\n".join(lines) + "\n"


def write_credentials(variables: Mapping[str, str], directory: Path) -> Path | None:
    """The credentials file in ``directory`` (mode 0600), or None (see
    :func:`credentials_text`)."""
    text = credentials_text(variables)
    if text is None:
        return None
    path = directory / "aws-credentials"
    atomic.write_text(path, text, 0o600, durable=False)  # mkstemp's file: never readable
    return path

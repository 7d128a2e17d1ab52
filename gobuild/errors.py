"""The one error hierarchy of gobuild.

Library code raises these; only the CLI turns them into messages and exit codes.
A ``GobuildError`` is a *user* error: its ``str()`` is a complete one-line
message that needs no traceback. Anything else escaping the library is a bug.
"""

from __future__ import annotations

import shlex


class GobuildError(Exception):
    """Base class: a failure the user can act on, described in one line."""


class ConfigError(GobuildError):
    """gobuild.toml, go.mod or gobuild.lock is missing, malformed or invalid."""


class VersionError(GobuildError):
    """A Go version string cannot be parsed or resolved."""


class SourceError(GobuildError):
    """A toolchain source could not provide a listing or an archive."""


class SourceUnreachable(SourceError):
    """The source could not be reached at all (DNS, refused, timeouts, 5xx)."""


class NotFound(SourceError):
    """The server answered that the resource does not exist (HTTP 404 or 410, or no such file).

    GOPROXY lists fall through to the next proxy after ``,`` only on this error.
    """


class IntegrityError(GobuildError):
    """A checksum did not match what a listing or gobuild.lock recorded."""


class ArchiveError(GobuildError):
    """An archive was rejected by the extraction allowlist or was corrupt."""


class ToolchainError(GobuildError):
    """Installing, finding or removing a toolchain failed."""


class ProcessError(GobuildError):
    """A subprocess failed; the message carries command, exit code and output."""

    def __init__(self, argv: list[str], returncode: int, output: str) -> None:
        self.argv = argv
        self.returncode = returncode
        self.output = output
        tail = output.strip().splitlines()[-20:]
        detail = (" | " + " | ".join(tail)) if tail else ""
        super().__init__(f"command failed with exit code {returncode}: {_show(argv)}{detail}")


def _show(argv: list[str]) -> str:
    return shlex.join(argv)


class DockerError(GobuildError):
    """No engine or client, a missing base image, or an image that fails its checks."""


class BuilderError(DockerError):
    """The BuildKit builder cannot be named, reached or trusted (TLS): the message names
    the builder's address, never a credential."""

"""The release record: ``release.json`` lists every artifact of a release with its digest.

Written last, after SHA256SUMS, so a release directory with a record is a whole one.
It holds nothing of the moment or the machine (no times but the commit's, no paths but
names inside the directory): two releases of the same commit write the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from gobuild import atomic
from gobuild.digest import sha256_file

RECORD_NAME = "release.json"
FORMAT = 1


@dataclass(frozen=True)
class Artifact:
    """One file of the release."""

    name: str  # inside the release directory
    kind: str  # "archive", "sbom", "checksums"
    sha256: str
    size: int
    binary: str = ""  # the binary an archive or SBOM is about
    platform: str = ""  # "linux/amd64"


def artifact(path: Path, kind: str, binary: str = "", platform: str = "") -> Artifact:
    """``path`` as the record lists it (digest and size read now)."""
    return Artifact(path.name, kind, sha256_file(path), path.stat().st_size, binary, platform)


@dataclass(frozen=True)
class Image:
    """The release's OCI image index (``image/``, an OCI image layout)."""

    layout: str  # the layout's directory inside the release
    tag: str  # the layout's name for it, and the tag `doit publish` pushes
    index: str  # the index's digest: what is published
    manifests: dict[str, str]  # "linux/amd64" → that platform's manifest digest
    base: str  # "registry/repository@sha256:…", or "scratch"
    binary: str  # the binary the image runs


@dataclass(frozen=True)
class Record:
    """What a release is: the project, the commit, the Go, the artifacts."""

    project: str  # the main module's path
    version: str
    commit: str
    date: str  # the commit time, RFC 3339
    snapshot: bool
    go: str
    artifacts: tuple[Artifact, ...]
    image: Image | None = None

    def to_json(self) -> str:
        """The record's file text: sorted keys, artifacts by name."""
        data = asdict(self)
        data["format"] = FORMAT
        data["artifacts"] = sorted(data["artifacts"], key=lambda a: a["name"])
        if data["image"] is None:
            del data["image"]
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write(out_dir: Path, record: Record) -> Path:
    """``release.json`` into ``out_dir``."""
    path = out_dir / RECORD_NAME
    atomic.write_text(path, record.to_json())
    return path

"""The OCI image layout: content-addressed blobs on disk, and the JSON documents that
name them (image config, manifest, index) written byte for byte the same every time.

A layout directory holds ``oci-layout``, ``index.json`` and ``blobs/sha256/HEX``; every
document is serialised one way (sorted keys, no spaces), so the same content always has
the same digest: the property reproducible images rest on.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gobuild import atomic
from gobuild.digest import sha256_file
from gobuild.errors import GobuildError

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
EMPTY = "application/vnd.oci.empty.v1+json"
EMPTY_JSON = b"{}"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
INDEX_TYPES = (INDEX, DOCKER_LIST)
MANIFEST_TYPES = (MANIFEST, DOCKER_MANIFEST)
# The annotation naming a layout's entry (its tag), as the image-spec defines it.
REF_NAME = "org.opencontainers.image.ref.name"


def canonical(document: Mapping[str, Any]) -> bytes:
    """``document``'s one serialisation: sorted keys, no whitespace, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_digest(data: bytes) -> str:
    """``sha256:HEX`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Descriptor:
    """A reference to a blob: media type, digest, size, and what an index says of it."""

    media_type: str
    digest: str
    size: int
    platform: Mapping[str, str] | None = None
    annotations: Mapping[str, str] | None = None
    artifact_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The descriptor as a manifest or index holds it."""
        data: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if self.platform:
            data["platform"] = dict(self.platform)
        if self.annotations:
            data["annotations"] = dict(self.annotations)
        if self.artifact_type:
            data["artifactType"] = self.artifact_type
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Descriptor:
        """A descriptor read from a manifest or index."""
        try:
            return cls(
                str(data["mediaType"]),
                str(data["digest"]),
                int(data["size"]),
                data.get("platform"),
                data.get("annotations"),
                data.get("artifactType"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise GobuildError(f"malformed OCI descriptor {dict(data)!r}: {exc}") from None

    @property
    def hex(self) -> str:
        """The digest without ``sha256:``."""
        return self.digest.split(":", 1)[1]


class Layout:
    """An OCI image layout directory being written or read."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def create(cls, root: Path) -> Layout:
        """An empty layout at ``root`` (created)."""
        (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(root / "oci-layout", canonical({"imageLayoutVersion": "1.0.0"}))
        return cls(root)

    def blob(self, digest: str) -> Path:
        """Where the blob ``digest`` is (or goes)."""
        algorithm, _, hexdigest = digest.partition(":")
        if algorithm != "sha256" or len(hexdigest) != 64:
            raise GobuildError(f"unsupported digest {digest!r} (sha256 only)")
        return self.root / "blobs" / "sha256" / hexdigest

    def has(self, digest: str) -> bool:
        """Whether the blob is present."""
        return self.blob(digest).is_file()

    def put_bytes(self, data: bytes, media_type: str, **kw: Any) -> Descriptor:
        """Store ``data``; its descriptor (``kw``: platform, annotations, artifact_type)."""
        digest = sha256_digest(data)
        path = self.blob(digest)
        if not path.is_file():
            atomic.write_bytes(path, data)
        return Descriptor(media_type, digest, len(data), **kw)

    def put_json(self, document: Mapping[str, Any], media_type: str, **kw: Any) -> Descriptor:
        """Store ``document`` in its canonical form."""
        return self.put_bytes(canonical(document), media_type, **kw)

    def put_file(self, path: Path, media_type: str, **kw: Any) -> Descriptor:
        """Store a copy of the file at ``path``."""
        digest = "sha256:" + sha256_file(path)
        target = self.blob(digest)
        if not target.is_file():
            tmp = target.with_name(f".{target.name}.partial")
            shutil.copyfile(path, tmp)
            tmp.replace(target)
        return Descriptor(media_type, digest, path.stat().st_size, **kw)

    def read(self, descriptor: Descriptor) -> bytes:
        """The blob's bytes, checked against the descriptor's digest and size."""
        data = self.blob(descriptor.digest).read_bytes()
        if len(data) != descriptor.size or sha256_digest(data) != descriptor.digest:
            raise GobuildError(f"{self.root}: blob {descriptor.digest} does not match its digest")
        return data

    def read_json(self, descriptor: Descriptor) -> dict[str, Any]:
        """A JSON blob, parsed."""
        data = json.loads(self.read(descriptor))
        if not isinstance(data, dict):
            raise GobuildError(f"{self.root}: blob {descriptor.digest} is not a JSON object")
        return data

    def write_index(self, entries: list[Descriptor]) -> None:
        """``index.json``: the layout's entry points."""
        document = {
            "schemaVersion": 2,
            "mediaType": INDEX,
            "manifests": [d.to_json() for d in entries],
        }
        atomic.write_bytes(self.root / "index.json", canonical(document))

    def entries(self) -> list[Descriptor]:
        """What ``index.json`` lists."""
        path = self.root / "index.json"
        try:
            document = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise GobuildError(f"{path}: not an OCI image layout index: {exc}") from None
        return [Descriptor.from_json(d) for d in document.get("manifests", [])]

    def walk(self, descriptor: Descriptor) -> Iterator[Descriptor]:
        """``descriptor`` and every blob it reaches (index → manifests → config, layers)."""
        yield descriptor
        if descriptor.media_type in INDEX_TYPES:
            for child in self.read_json(descriptor).get("manifests", []):
                yield from self.walk(Descriptor.from_json(child))
        elif descriptor.media_type in MANIFEST_TYPES:
            manifest = self.read_json(descriptor)
            yield Descriptor.from_json(manifest["config"])
            for layer in manifest.get("layers", []):
                yield Descriptor.from_json(layer)

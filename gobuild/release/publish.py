"""Publishing a release's image to a registry: ``doit publish``.

The release directory is verified first (nothing is pushed that does not match its
record). Then, to ``[release] repository``: every blob the image index reaches (those
the registry holds already are skipped), each platform's manifest by digest, and the
index under the version's tag, last, so a tag never names a half-pushed image. A tag
that already points to other content is refused unless ``force``.

The SBOMs and the signed provenance are attached as OCI 1.1 artifacts: an image
manifest with an ``artifactType``, the empty config, the file as its one layer, and a
``subject``: each SBOM names its platform's manifest, the provenance the index.
Registries with the referrers API list them themselves; for the others (distribution
2.x) the referrers tag schema is kept: the tag ``sha256-HEX`` of each subject holds an
index of its artifacts. ``dist/published.json`` is written only when all of it is done;
a publish that stops midway says what was pushed and what was not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gobuild import atomic
from gobuild.errors import GobuildError
from gobuild.oci import layout
from gobuild.oci.layout import Descriptor, Layout
from gobuild.oci.reference import Reference, parse
from gobuild.oci.registry import Client, RegistryError
from gobuild.progress import Reporter
from gobuild.project.config import Project
from gobuild.project.platforms import Target
from gobuild.release.record import RECORD_NAME
from gobuild.release.verify import verify

PUBLISHED_NAME = "published.json"  # in the project's output directory
SBOM_TYPE = "application/vnd.cyclonedx+json"
PROVENANCE_TYPE = "application/vnd.dsse.envelope.v1+json"
TITLE = "org.opencontainers.image.title"
CREATED = "org.opencontainers.image.created"


class PublishError(GobuildError):
    """A publish that stopped: what was pushed, what was not."""


@dataclass
class Published:
    """What a publish did."""

    repository: str
    tag: str
    index: str
    attachments: list[tuple[str, str]] = field(default_factory=list)  # (file, manifest digest)
    referrers: str = ""  # "the referrers API" or "tags sha256-…"
    pushed: int = 0  # blobs uploaded
    present: int = 0  # blobs the registry had
    retried: int = 0

    def summary(self) -> list[str]:
        """Lines for the person who ran it."""
        lines = [
            f"pushed   {self.repository}:{self.tag}@{self.index}",
            f"blobs    {self.pushed} uploaded, {self.present} already there"
            + (f", {self.retried} requests retried" if self.retried else ""),
        ]
        lines += [f"attached {name}  {digest}" for name, digest in self.attachments]
        if self.attachments:
            lines.append(f"listed   through {self.referrers}")
        return lines

    def to_json(self) -> str:
        """``published.json``'s text."""
        data = {
            "repository": self.repository,
            "tag": self.tag,
            "index": self.index,
            "attachments": [{"file": f, "manifest": d} for f, d in self.attachments],
            "referrers": self.referrers,
        }
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


def repository(project: Project) -> Reference:
    """``[release] repository`` as a reference; ConfigError naming the key when unset."""
    configured = project.settings.release.repository
    if not configured:
        raise GobuildError(
            f'{project.config_file}: set [release] repository (e.g. "ghcr.io/acme/app") to publish'
        )
    return parse(configured, "release.repository")


def publish(
    project: Project,
    directory: Path,
    *,
    client: Client,
    force: bool = False,
    key: Path | None = None,
    reporter: Reporter,
) -> Published:
    """Push the release in ``directory`` (verified first, with ``key`` for its
    provenance) to the project's repository; write ``published.json`` when done."""
    target = repository(project)
    verdict = verify(directory, key)
    unsigned = [p for p in verdict.problems if "signature not checked" in p]
    if len(unsigned) != len(verdict.problems):
        raise GobuildError(
            f"{directory} does not verify ({len(verdict.problems)} problem(s), first: "
            f"{verdict.problems[0]}): run `gobuild release verify`, or doit release again"
        )
    record = json.loads((directory / RECORD_NAME).read_text(encoding="utf-8"))
    image = record.get("image")
    if not isinstance(image, dict):
        raise GobuildError(
            f"{directory}: the release has no image: set [release] image = true and "
            "run doit release"
        )
    store = Layout(directory / str(image["layout"]))
    index = next(e for e in store.entries() if e.digest == image["index"])
    tag = str(image["tag"])
    ref = target.with_tag(tag)
    done = Published(f"{target.registry}/{target.repository}", tag, index.digest)
    existing = client.manifest_digest(ref, tag)
    if existing is not None and existing != index.digest and not force:
        raise GobuildError(
            f"{ref} already points to {existing}, not this release's {index.digest}: "
            "publish --force to move the tag"
        )
    blobs = [d for d in store.walk(index) if d.media_type not in _DOCUMENTS]
    manifests = [d for d in store.walk(index) if d.media_type in layout.MANIFEST_TYPES]
    tagged = False
    try:
        for d in _unique(blobs):
            if client.has_blob(ref, d.digest):
                done.present += 1
            else:
                reporter.notice(f"push {d.digest[:19]} ({d.size:,} bytes)")
                client.push_blob(ref, d.digest, store.blob(d.digest).read_bytes())
                done.pushed += 1
        for m in _unique(manifests):
            client.put_manifest(ref, m.digest, store.read(m), m.media_type)
        client.put_manifest(ref, tag, store.read(index), index.media_type)
        tagged = True
        _attach(project, client, ref, directory, record, store, index, done)
    except (RegistryError, OSError) as exc:
        state = (
            f"{ref} is tagged, but not every attachment was pushed"
            if tagged
            else f"{done.pushed} blob(s) pushed, the tag {tag} was not moved"
        )
        raise PublishError(
            f"publish to {target.registry}/{target.repository} stopped: {exc}. {state}; "
            "nothing recorded: run doit publish again"
        ) from None
    finally:
        done.retried = client.retried
    atomic.write_text(project.out_dir / PUBLISHED_NAME, done.to_json())
    return done


_DOCUMENTS = (*layout.INDEX_TYPES, *layout.MANIFEST_TYPES)


def _unique(descriptors: list[Descriptor]) -> list[Descriptor]:
    seen: set[str] = set()
    out = []
    for d in descriptors:
        if d.digest not in seen:
            seen.add(d.digest)
            out.append(d)
    return out


def _attach(  # noqa: PLR0917 - the publish's state, handed on
    project: Project,
    client: Client,
    ref: Reference,
    directory: Path,
    record: dict[str, Any],
    store: Layout,
    index: Descriptor,
    done: Published,
) -> None:
    """Push the SBOMs (subject: their platform's manifest) and the provenance
    (subject: the index), and list them for their subjects."""
    image = record["image"]
    platforms = {str(k): str(v) for k, v in image["manifests"].items()}
    by_digest = {m.digest: m for m in store.walk(index) if m.media_type in layout.MANIFEST_TYPES}
    date = str(record.get("date", ""))
    wanted: list[tuple[dict[str, Any], str, Descriptor]] = []
    for artifact in record["artifacts"]:
        kind = artifact.get("kind")
        if kind == "sbom" and artifact.get("binary") == image["binary"]:
            served = Target.parse(str(artifact.get("platform"))).image_platform()
            digest = platforms.get(served) if served else None
            if digest is not None:
                wanted.append((artifact, SBOM_TYPE, by_digest[digest]))
        elif kind == "provenance":
            wanted.append((artifact, PROVENANCE_TYPE, index))
    if not wanted:
        return
    empty = Descriptor(layout.EMPTY, layout.sha256_digest(layout.EMPTY_JSON), 2)
    if not client.has_blob(ref, empty.digest):
        client.push_blob(ref, empty.digest, layout.EMPTY_JSON)
    listed: dict[str, list[Descriptor]] = {}
    for artifact, artifact_type, subject in wanted:
        path = directory / str(artifact["name"])
        file = Descriptor(artifact_type, "sha256:" + str(artifact["sha256"]), int(artifact["size"]),
                          annotations={TITLE: path.name})  # fmt: skip
        if client.has_blob(ref, file.digest):
            done.present += 1
        else:
            client.push_blob(ref, file.digest, path.read_bytes())
            done.pushed += 1
        manifest = {
            "schemaVersion": 2,
            "mediaType": layout.MANIFEST,
            "artifactType": artifact_type,
            "config": empty.to_json(),
            "layers": [file.to_json()],
            "subject": Descriptor(subject.media_type, subject.digest, subject.size).to_json(),
            "annotations": {CREATED: date, TITLE: path.name},
        }
        data = layout.canonical(manifest)
        digest = layout.sha256_digest(data)
        client.put_manifest(ref, digest, data, layout.MANIFEST)
        done.attachments.append((path.name, digest))
        listed.setdefault(subject.digest, []).append(
            Descriptor(
                layout.MANIFEST,
                digest,
                len(data),
                artifact_type=artifact_type,
                annotations={CREATED: date, TITLE: path.name},
            )
        )
    if _has_referrers_api(client, ref, index.digest):
        done.referrers = "the referrers API"
        return
    for subject_digest, entries in listed.items():
        _tag_referrers(client, ref, subject_digest, entries)
    done.referrers = "tags " + ", ".join(_referrers_tag(d) for d in listed)


def _has_referrers_api(client: Client, ref: Reference, digest: str) -> bool:
    url = f"{ref.base_url}/referrers/{digest}"
    resp = client.request("GET", url, ref, "pull", headers={"Accept": layout.INDEX})
    content_type = resp.headers.get("Content-Type", "")
    return resp.status == 200 and content_type.startswith(layout.INDEX)


def _referrers_tag(digest: str) -> str:
    return digest.replace(":", "-")


def _tag_referrers(client: Client, ref: Reference, subject: str, entries: list[Descriptor]) -> None:
    """Merge ``entries`` into the index under the subject's referrers tag."""
    tag = _referrers_tag(subject)
    current: list[dict[str, Any]] = []
    if client.manifest_digest(ref, tag) is not None:
        document = json.loads(client.get_manifest(ref, tag))
        current = list(document.get("manifests", []))
    have = {str(m.get("digest")) for m in current}
    merged = current + [e.to_json() for e in entries if e.digest not in have]
    if len(merged) == len(current):
        return
    index = {"schemaVersion": 2, "mediaType": layout.INDEX, "manifests": merged}
    client.put_manifest(ref, tag, layout.canonical(index), layout.INDEX)

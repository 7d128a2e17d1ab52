"""The release's image: an OCI image index of the released linux binaries, written by
gobuild itself into the release (``image/``, an OCI image layout).

As ko does, nothing is built by an engine: each platform's image is the runtime base's
layers, pulled from its registry unchanged, plus one layer holding the released binary
at ``/usr/local/bin/NAME``, written by the release archiver (sorted, 0:0, mode 0755,
the commit time, a gzip header without name or time). Config, manifests and index are
serialised one way and dated by the commit. So the same commit on the same base gives
the same digests in any clone, and the image holds the very bytes the archives hold.
The base is named by ``[docker]`` (``runtime``, ``runtime_image``, ``runtime_tag``,
``runtime_digest``); its digest is recorded, and pinning ``runtime_digest`` keeps a
moving tag from changing the image.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gobuild import proc
from gobuild.builds import imagespec
from gobuild.builds.plan import BuildPlan
from gobuild.errors import ConfigError, GobuildError
from gobuild.oci import layout, reference
from gobuild.oci.layout import Descriptor, Layout
from gobuild.oci.reference import Reference
from gobuild.oci.registry import Client
from gobuild.progress import Reporter
from gobuild.project.config import Project
from gobuild.project.quantities import parse_duration
from gobuild.project.settings import DockerSection
from gobuild.release.record import Image

LAYOUT_DIR = "image"  # inside the release directory


@dataclass(frozen=True)
class _Base:
    """One platform's base image: its config document and layer descriptors."""

    config: dict[str, Any]
    layers: tuple[Descriptor, ...]


def linux_plans(project: Project, plans: Sequence[BuildPlan]) -> list[BuildPlan]:
    """The dist plans of the image's binary for linux, in [dist] order."""
    binary = imagespec.image_binary(project).name
    chosen: list[BuildPlan] = []
    served: set[str] = set()
    for p in plans:
        platform = p.target.image_platform() if p.target else None
        # Two builds for one container platform (amd64 and amd64/v1): the first serves it.
        if p.binary == binary and platform is not None and platform not in served:
            served.add(platform)
            chosen.append(p)
    if not chosen:
        raise ConfigError(
            f"{project.config_file}: release.image needs a linux platform in [dist] "
            f"(e.g. linux/amd64) for {binary}"
        )
    return chosen


def write_image(
    project: Project,
    plans: Sequence[BuildPlan],
    *,
    archiver: Path,
    client: Client,
    tag: str,
    values: Mapping[str, str],
    epoch: int,
    out_dir: Path,
    reporter: Reporter,
) -> Image:
    """Write the OCI layout of ``project``'s image into ``out_dir/image``.

    ``values`` are the commit's: version, commit and date (RFC 3339); ``tag`` names the
    index in the layout. Raises GobuildError when the base cannot be pulled or has no
    image for a platform.
    """
    chosen = linux_plans(project, plans)
    binary = imagespec.image_binary(project)
    docker = project.settings.docker
    store = Layout.create(out_dir / LAYOUT_DIR)
    base_text = imagespec.runtime_ref(docker, docker.alpine_version)
    bases: dict[str, _Base]
    if base_text is None:
        base_name = "scratch"
        bases = {image_platform(p): _Base(_scratch_config(), ()) for p in chosen}
    else:
        ref = reference.parse(base_text, "[docker] runtime base")
        reporter.notice(f"image base {ref}")
        base_name, bases = _pull_bases(client, ref, [image_platform(p) for p in chosen], store)
    labels = {
        **imagespec.commit_labels(values["version"], values["commit"], values["date"]),
        **imagespec.static_labels(project, binary),
    }
    target_path = imagespec.binary_path(binary)
    manifests: list[Descriptor] = []
    by_platform: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="gobuild-layer-") as tmp:
        for plan in chosen:
            assert plan.target is not None  # linux_plans keeps targets only
            platform = image_platform(plan)
            layer_file = Path(tmp) / f"{plan.target.goarch}{plan.target.variant or ''}.tar.gz"
            source = project.root / plan.output
            if not source.is_file():
                raise GobuildError(f"{plan.output} does not exist: run `doit dist` first")
            proc.run(
                [str(archiver), "-o", str(layer_file), "-mtime", str(epoch),
                 f"0755:{target_path.lstrip('/')}={source}"],
                cwd=Path(tmp), timeout=600,
            )  # fmt: skip
            layer = store.put_file(layer_file, layout.LAYER_GZIP)
            diff_id = _diff_id(layer_file)
            base = bases[platform]
            config = _config(
                base.config, plan, diff_id, labels=labels, path=target_path, docker=docker,
                date=values["date"], source=plan.output,
            )  # fmt: skip
            config_desc = store.put_json(config, layout.CONFIG)
            manifest = {
                "schemaVersion": 2,
                "mediaType": layout.MANIFEST,
                "config": config_desc.to_json(),
                "layers": [d.to_json() for d in (*base.layers, layer)],
                "annotations": _base_annotations(base_name),
            }
            manifests.append(store.put_json(manifest, layout.MANIFEST, platform=_platform(plan)))
            by_platform[platform] = manifests[-1].digest
    index = {
        "schemaVersion": 2,
        "mediaType": layout.INDEX,
        "manifests": [d.to_json() for d in manifests],
        "annotations": _base_annotations(base_name),
    }
    index_desc = store.put_json(index, layout.INDEX, annotations={layout.REF_NAME: tag})
    store.write_index([index_desc])
    return Image(LAYOUT_DIR, tag, index_desc.digest, by_platform, base_name, binary.name)


def image_platform(plan: BuildPlan) -> str:
    """The container platform ``plan``'s binary serves (``linux/arm/v7``), as BuildKit
    and the Dockerfiles name it (:meth:`~gobuild.project.platforms.Target.image_platform`)."""
    platform = plan.target.image_platform() if plan.target else None
    if platform is None:
        raise GobuildError(f"{plan.output} is no linux binary: it has no image")
    return platform


def _platform(plan: BuildPlan) -> dict[str, str]:
    goos, goarch, *variant = image_platform(plan).split("/")
    return {"architecture": goarch, "os": goos, **({"variant": variant[0]} if variant else {})}


def _base_annotations(base: str) -> dict[str, str]:
    if base == "scratch":
        return {}
    name, _, digest = base.partition("@")
    return {
        "org.opencontainers.image.base.name": name,
        "org.opencontainers.image.base.digest": digest,
    }


def _scratch_config() -> dict[str, Any]:
    return {
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [],
    }


def _config(
    base: Mapping[str, Any],
    plan: BuildPlan,
    diff_id: str,
    *,
    labels: Mapping[str, str],
    path: str,
    docker: DockerSection,
    date: str,
    source: str,
) -> dict[str, Any]:
    """The image config: the base's, with the binary's layer, entrypoint, user, labels."""
    assert plan.target is not None
    inner = dict(base.get("config") or {})
    inner.pop("Cmd", None)  # as ENTRYPOINT in a Dockerfile resets the base's CMD
    inner["Entrypoint"] = [path]
    inner["User"] = f"{docker.user}:{docker.user}"
    inner["Labels"] = {**(inner.get("Labels") or {}), **labels}
    if docker.expose:
        ports = {**(inner.get("ExposedPorts") or {})}
        ports.update({f"{p}/tcp": {} for p in docker.expose})
        inner["ExposedPorts"] = ports
    if docker.healthcheck:
        inner["Healthcheck"] = {
            "Test": ["CMD", path, *docker.healthcheck],
            # Docker's config counts nanoseconds ([docker] checked the duration at load).
            "Interval": round(parse_duration(docker.healthcheck_interval) * 1e9),
        }
    rootfs = base.get("rootfs") or {}
    history = list(base.get("history") or [])
    history.append({
        "created": date,
        "created_by": f"gobuild release: COPY {source} {path}",
        "comment": "the released binary",
    })  # fmt: skip
    config: dict[str, Any] = {
        "architecture": plan.target.goarch,
        "os": plan.target.goos,
        "created": date,
        "config": inner,
        "rootfs": {"type": "layers", "diff_ids": [*rootfs.get("diff_ids", []), diff_id]},
        "history": history,
    }
    variant = _platform(plan).get("variant")
    if variant:
        config["variant"] = variant
    return config


def _diff_id(layer: Path) -> str:
    """The uncompressed layer's digest (the config's rootfs names layers by it)."""
    digest = hashlib.sha256()
    with gzip.open(layer, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def _pull_bases(
    client: Client, ref: Reference, platforms: Sequence[str], store: Layout
) -> tuple[str, dict[str, _Base]]:
    """Each platform's base from ``ref``'s registry, its blobs stored in ``store``."""
    body = client.get_manifest(ref)
    digest = layout.sha256_digest(body)
    if ref.digest and digest != ref.digest:
        raise GobuildError(f"{ref}: the registry sent {digest}")
    document = _json(body, str(ref))
    media_type = document.get("mediaType", "")
    name = f"{ref.registry}/{ref.repository}@{digest}"
    if media_type in layout.INDEX_TYPES or (not media_type and "manifests" in document):
        entries = [Descriptor.from_json(d) for d in document.get("manifests", [])]
        chosen = {p: _choose(entries, p, ref) for p in platforms}
        return name, {
            p: _base_image(client, ref, _json(client.get_manifest(ref, d.digest), str(ref)), store)
            for p, d in chosen.items()
        }
    if media_type in layout.MANIFEST_TYPES or (not media_type and "config" in document):
        base = _base_image(client, ref, document, store)
        have = "/".join(str(base.config.get(k)) for k in ("os", "architecture"))
        for p in platforms:
            if not p.startswith(have):
                raise GobuildError(f"{ref} is a {have} image only; the release has {p}")
        return name, dict.fromkeys(platforms, base)
    raise GobuildError(f"{ref}: not an image or index ({media_type or 'no media type'})")


def _choose(entries: Sequence[Descriptor], platform: str, ref: Reference) -> Descriptor:
    goos, goarch, *rest = platform.split("/")
    variant = rest[0] if rest else None
    for d in entries:
        p = d.platform or {}
        if (
            p.get("os") == goos
            and p.get("architecture") == goarch
            and (variant is None or p.get("variant") == variant)
        ):
            return d
    have = sorted(
        "/".join(v for v in (d.platform or {}).values() if isinstance(v, str)) for d in entries
    )
    raise GobuildError(f"{ref} has no {platform} image (it has {', '.join(have) or 'none'})")


def _base_image(
    client: Client, ref: Reference, manifest: Mapping[str, Any], store: Layout
) -> _Base:
    # The base's config is read, not stored: the image has a config of its own.
    config = _json(client.blob_bytes(ref, Descriptor.from_json(manifest["config"])), str(ref))
    layers = []
    for raw in manifest.get("layers", []):
        d = Descriptor.from_json(raw)
        _fetch(client, ref, d, store)
        # Docker's gzip layer type is the OCI one under another name: same bytes.
        media = layout.LAYER_GZIP if d.media_type == layout.DOCKER_LAYER_GZIP else d.media_type
        layers.append(Descriptor(media, d.digest, d.size))
    return _Base(config, tuple(layers))


def _fetch(client: Client, ref: Reference, d: Descriptor, store: Layout) -> None:
    if not store.has(d.digest):
        store.put_bytes(client.blob_bytes(ref, d), d.media_type)


def _json(data: bytes, shown: str) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise GobuildError(f"{shown}: the registry sent no JSON manifest")
    return document

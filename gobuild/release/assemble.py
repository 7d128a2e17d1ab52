"""Assembling a release from the dist binaries: archives, SHA256SUMS, the record.

A release is cut from a clean tree whose HEAD is tagged (the tag is the version);
``snapshot`` allows any tree and says so in the record. Everything is written into a
fresh directory beside ``dist/release`` and swapped in at the end: an interrupted or
failed release leaves the previous one as it was, never half of a new one.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from gobuild import atomic, proc
from gobuild.atomic import remove_tree
from gobuild.builds import gitinfo, imagespec
from gobuild.builds.goenv import go_environ
from gobuild.builds.plan import dist_plans
from gobuild.builds.records import write_sums
from gobuild.digest import sha256_file
from gobuild.errors import GobuildError
from gobuild.oci.cache import BlobCache
from gobuild.oci.dockerauth import credential_for
from gobuild.oci.registry import Client
from gobuild.progress import Reporter, Silent
from gobuild.project.config import Project
from gobuild.release import archives, image, provenance, record, signing
from gobuild.release.buildinfo import read_buildinfo
from gobuild.release.sbom import sbom_json
from gobuild.toolchain.install import ensure, request_for

RELEASE_DIR = "release"  # inside the project's output directory


@dataclass(frozen=True)
class Release:
    """A release written: where, and what it holds."""

    directory: Path
    record: record.Record

    def summary(self) -> list[str]:
        """A line per artifact, then where they are."""
        lines = [f"{a.sha256[:12]}  {a.name}" for a in self.record.artifacts]
        image = self.record.image
        if image is not None:
            lines.append(
                f"{image.index[7:19]}  {image.layout}/ {image.tag}: "
                f"{', '.join(image.manifests)} on {image.base}"
            )
        kind = "snapshot" if self.record.snapshot else "release"
        return [*lines, f"{kind} {self.record.version}: {self.directory}"]


def release_dir(project: Project) -> Path:
    """``dist/release``: the last release of the project."""
    return project.out_dir / RELEASE_DIR


def tagged(project: Project) -> str | None:
    """The tag on HEAD (the newest, if several), or None."""
    res = proc.run(
        ["git", "tag", "--points-at", "HEAD", "--sort=-creatordate"],
        cwd=project.root, env={**project.env.variables, "LC_ALL": "C"}, check=False,
    )  # fmt: skip
    tags = [t for t in res.stdout.split() if t]
    return tags[0] if res.returncode == 0 and tags else None


def assemble(
    project: Project, *, snapshot: bool = False, reporter: Reporter | None = None
) -> Release:
    """Archive every dist binary, write SHA256SUMS and ``release.json`` into
    ``dist/release``. Raises GobuildError for an untagged or dirty tree (unless
    ``snapshot``), or a dist binary missing."""
    reporter = reporter or Silent()
    info = gitinfo.of(project)
    if info.epoch is None:
        raise GobuildError(
            f"{project.root}: a release needs a commit (its time dates the archives)"
        )
    if not snapshot:
        if info.tree_state != "clean":
            raise GobuildError(
                "the tree has uncommitted changes: commit them, or make a --snapshot"
            )
        if tagged(project) is None:
            raise GobuildError(
                "HEAD has no tag: tag the release (git tag v1.2.3), or make a --snapshot"
            )
    # The key first: a release that cannot be signed stops before anything is built.
    spec = project.settings.release.signing_key
    key = signing.load_signing_key(spec, project.root, project.env.variables) if spec else None
    installed = ensure(request_for(project), reporter).installed
    plans = dist_plans(project, str(installed.version))
    if not plans:
        raise GobuildError("no [dist] platforms: nothing to release")
    env = go_environ(installed.goroot, project.env.variables)
    wanted = archives.archive_plans(project, plans)
    label = archives.version_label(info.version)
    target = release_dir(project)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".release-", dir=target.parent))
    try:
        archiver = archives.build_archiver(installed.go, env, Path(tempfile.mkdtemp(dir=work)))
        written = archives.write_archives(
            wanted, label=label, archiver=archiver, root=project.root, out_dir=work,
            mtime=info.epoch,
        )  # fmt: skip
        listed = [
            record.artifact(path, "archive", plan.binary, plan.platform)
            for path, plan in zip(written, wanted, strict=True)
        ]
        when = datetime.fromtimestamp(info.epoch, UTC)
        for plan, archive in zip(plans, wanted, strict=True):
            # Each binary's SBOM, from its own build info, dated by the commit.
            binary = project.root / plan.output
            text = sbom_json(
                read_buildinfo(installed.go, binary, env), name=archive.binary,
                version=info.version, binary_sha256=sha256_file(binary), timestamp=when,
            )  # fmt: skip
            sbom = work / f"{archive.stem_for(label)}.cdx.json"
            atomic.write_text(sbom, text)
            listed.append(record.artifact(sbom, "sbom", archive.binary, archive.platform))
        sums = write_sums(work, written)
        listed.append(record.artifact(sums, "checksums"))
        made_image = None
        if project.settings.release.image:
            made_image = image.write_image(
                project, plans, archiver=archiver, client=registry_client(project),
                tag=imagespec.version_tag(info.version), values=info.values(""), epoch=info.epoch,
                out_dir=work, reporter=reporter,
            )  # fmt: skip
        remove_tree(archiver.parent)
        made = record.Record(
            project=project.workspace.primary.gomod.module, version=info.version,
            commit=info.commit, date=info.date, snapshot=snapshot, go=str(installed.version),
            artifacts=tuple(sorted(listed, key=lambda a: a.name)), image=made_image,
        )  # fmt: skip
        if key is not None:
            payload = provenance.statement(made, listed, plans, installed.locked)
            signed = work / provenance.FILE_NAME
            atomic.write_text(signed, signing.dumps(signing.envelope(payload, key)))
            listed.append(record.artifact(signed, "provenance"))
            made = replace(made, artifacts=tuple(sorted(listed, key=lambda a: a.name)))
        record.write(work, made)
        _swap(work, target)
    except BaseException:
        remove_tree(work)
        raise
    return Release(target, made)


def registry_client(project: Project) -> Client:
    """A registry client over the project's network, with its registry credentials."""
    variables = project.env.variables
    settings = project.settings.toolchain
    return Client(
        project.env.network,
        lambda registry: credential_for(registry, variables),
        cache=BlobCache(project.cache_dir / "oci"),
        retries=settings.retries,
        timeout=max(settings.timeout, 60.0),
    )


def _swap(new: Path, target: Path) -> None:
    """Put ``new`` where ``target`` is: the old one moved aside first, then removed."""
    old = target.with_name(f".{target.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        target.rename(old)
    new.rename(target)
    if old.exists():
        shutil.rmtree(old)

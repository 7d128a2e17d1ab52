"""The release's provenance: an in-toto statement with a SLSA v1 provenance predicate.

Its subjects are every archive, SBOM and SHA256SUMS of the release by sha256, and the
image index (``image:TAG``) when the release has one; the
predicate says what made them: the source commit, the version, the Go toolchain (its
verified hash, as gobuild.lock records it), the archives' build parameters (targets,
flags), and gobuild's version. No clock and no host: the same commit gives the same
statement, so its signed envelope is reproducible too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from gobuild import __version__
from gobuild.builds.plan import BuildPlan
from gobuild.digest import Artifact as Download
from gobuild.modules.dirhash import h1_hex
from gobuild.release.record import Artifact, Image, Record

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "https://github.com/gobuild/gobuild/release/v1"
FILE_NAME = "provenance.intoto.json"


def statement(
    made: Record, subjects: Sequence[Artifact], plans: Sequence[BuildPlan], toolchain: Download
) -> bytes:
    """The statement's bytes (compact JSON, sorted keys): what the envelope signs."""
    builds = [
        {"binary": p.binary, "package": p.package, "target": str(p.target), "output": p.output,
         "flags": list(p.flags), "ldflags": list(p.ldflags), "env": dict(p.env),
         "tags": list(p.tags)}
        for p in plans
    ]  # fmt: skip
    go: dict[str, Any] = {"uri": f"pkg:golang/toolchain@go{made.go}", "name": toolchain.filename}
    # A module-proxy zip is known by its h1 (Go's dirhash): in-toto's dirHash1, as hex.
    go["digest"] = (
        {"sha256": toolchain.sha256} if toolchain.sha256 else {"dirHash1": h1_hex(toolchain.h1)}
    )
    named = [{"name": a.name, "digest": {"sha256": a.sha256}} for a in subjects]
    dependencies: list[dict[str, Any]] = [
        {"uri": f"git+{made.project}", "digest": {"gitCommit": made.commit}},
        go,
    ]
    if made.image is not None:
        named.append({"name": image_subject(made.image), "digest": _sha256(made.image.index)})
        if made.image.base != "scratch":
            name, _, digest = made.image.base.partition("@")
            dependencies.append({"uri": f"oci://{name}", "digest": _sha256(digest)})
    document = {
        "_type": STATEMENT_TYPE,
        "subject": named,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "source": {"module": made.project, "commit": made.commit},
                    "version": made.version,
                    "snapshot": made.snapshot,
                },
                "internalParameters": {"builds": builds},
                "resolvedDependencies": dependencies,
            },
            "runDetails": {
                "builder": {"id": f"https://github.com/gobuild/gobuild@{__version__}"},
                "metadata": {"invocationId": f"{made.project}@{made.version}"},
            },
        },
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def image_subject(image: Image) -> str:
    """The statement's name for the release's image index: ``image:TAG``."""
    return f"{image.layout}:{image.tag}"


def _sha256(digest: str) -> dict[str, str]:
    return {"sha256": digest.removeprefix("sha256:")}

"""A CycloneDX 1.6 SBOM of one released binary, read from the binary's own build info.

The document is built with cyclonedx-python-lib and written by its JSON 1.6 outputter;
it describes:

- ``metadata.component``: the binary (an application: the release's name and version,
  the SHA-256 of its bytes), with the build as properties;
- ``components``: the main module, every dependency module linked, and the Go
  standard library (``std`` at the Go release, ``pkg:golang/std@go1.22.10``, as
  cyclonedx-gomod records it), each a library with a ``pkg:golang`` purl;
- ``dependencies``: the binary depends on its main module, the main module on every
  other module. Build info lists the modules a binary links but not which requires
  which, so that is all the graph this document can hold; its ``compositions`` say
  so (complete for the binary and main module, unknown below them, as cyclonedx-gomod
  writes them).

Properties follow the CycloneDX property taxonomy where it has a name
(``cdx:gomod:build:env:GOOS``, ``…:GOARCH``, ``…:CGO_ENABLED``, ``…:GOVERSION``, one
``cdx:gomod:build:tag`` per build tag) and gobuild's own namespace for the rest:

==============================  ===================================================
``gobuild:go:path``             the main package's import path
``gobuild:go:build:KEY``        every build setting as the go command recorded it
                                (``-ldflags``, ``GOAMD64``, ``vcs.revision``…)
``gobuild:gomod:sum``           a module's hash as go.sum spells it (``h1:…``)
``gobuild:gomod:replaces``      on a replacement: ``PATH@VERSION`` it stands in for
``gobuild:gomod:dir``           on a directory replacement: the directory
==============================  ===================================================

A module's ``h1:`` hash is also given as its SHA-256 hash, hex, as cyclonedx-gomod
does: it is the SHA-256 of the module's dirhash summary (the list of its files'
SHA-256s), not of any one file. A replaced module appears as the module linked in its
place (purl, version and hash of the replacement), so scanners match the code the
binary holds; a directory replacement keeps the module's path and has no version.

Purls keep module paths' case: Go module paths are case-sensitive (the purl type's
"lowercase" rule predates modules and would merge distinct modules).

The same build info and arguments give the same bytes on every machine and run: the
serial number is a UUID derived from the binary's SHA-256, name and version (never
random), the timestamp is the caller's (the commit's time, never now), every
``bom-ref`` is a purl or derived from the name and version, and the JSON is written
with sorted keys (the library sorts components, properties and dependencies).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from cyclonedx.model import HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentScope, ComponentType
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from gobuild import __version__
from gobuild.modules.dirhash import H1_PREFIX, h1_hex
from gobuild.release.buildinfo import DEVEL, BuildInfo, Module

# The taxonomy's names (github.com/CycloneDX/cyclonedx-property-taxonomy, cdx/gomod.md).
GOVERSION = "cdx:gomod:build:env:GOVERSION"
BUILD_TAG = "cdx:gomod:build:tag"
ENV_SETTINGS = {
    "GOOS": "cdx:gomod:build:env:GOOS",
    "GOARCH": "cdx:gomod:build:env:GOARCH",
    "CGO_ENABLED": "cdx:gomod:build:env:CGO_ENABLED",
}
# gobuild's own.
MAIN_PACKAGE = "gobuild:go:path"
SETTING = "gobuild:go:build:"
SUM = "gobuild:gomod:sum"
REPLACES = "gobuild:gomod:replaces"
DIRECTORY = "gobuild:gomod:dir"

STD = "std"
"""The standard library's component name and purl (cyclonedx-gomod's)."""

# Generated once: every serial number derives from it, so it never changes (a release
# made again from the same commit keeps its SBOM's serial number).
_SERIAL_NAMESPACE = uuid.UUID("9a37ba54-1ec3-42ef-ace6-74839d393746")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def sbom_json(
    info: BuildInfo, *, name: str, version: str, binary_sha256: str, timestamp: datetime
) -> str:
    """The CycloneDX 1.6 JSON SBOM of a binary ``name`` at release ``version`` whose bytes
    have SHA-256 ``binary_sha256`` (hex) and whose build info is ``info``.

    ``timestamp`` (timezone-aware; written in UTC) is the document's time: pass the
    commit's time so that releasing the commit again gives the same bytes. Raises
    ValueError for a naive timestamp or a digest that is not 64 lower-case hex digits
    (callers' bugs), and :class:`~gobuild.errors.IntegrityError` for an ``h1:`` hash
    in the build info that is not one.
    """
    if timestamp.tzinfo is None or timestamp.utcoffset() is None:
        raise ValueError(f"timestamp without a timezone: {timestamp.isoformat()}")
    if not _SHA256.fullmatch(binary_sha256):
        raise ValueError(f"not a hex SHA-256: {binary_sha256!r}")

    binary = Component(
        type=ComponentType.APPLICATION,
        name=name,
        version=version,
        bom_ref=f"binary:{name}@{version}",
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=binary_sha256)],
        properties=_build_properties(info),
    )
    main = _main_component(info.main) if info.main is not None else None
    linked = [_dependency_component(dep) for dep in info.deps]
    linked.append(_std_component(info.go_version))

    # Every value the library would otherwise make up is given: the timestamp (else
    # now), the serial number (else uuid4) and every bom-ref (else random).
    metadata = BomMetaData(timestamp=timestamp.astimezone(UTC), component=binary)
    metadata.tools.components.add(
        Component(type=ComponentType.APPLICATION, name="gobuild", version=__version__)
    )
    bom = Bom(
        serial_number=_serial(binary_sha256, name, version),
        version=1,
        metadata=metadata,
        components=linked,
    )
    if main is not None:
        bom.components.add(main)
        bom.register_dependency(binary, [main])
        bom.register_dependency(main, linked)
    else:
        bom.register_dependency(binary, linked)

    document: dict[str, Any] = json.loads(JsonV1Dot6(bom).output_as_string())
    # cyclonedx-python-lib has no model for compositions (yet): they are added here.
    known = [binary] if main is None else [binary, main]
    document["compositions"] = [
        {"aggregate": "complete", "dependencies": sorted(str(c.bom_ref) for c in known)},
        {"aggregate": "unknown", "dependencies": sorted(str(c.bom_ref) for c in linked)},
    ]
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _serial(binary_sha256: str, name: str, version: str) -> uuid.UUID:
    # JSON keeps the three apart whatever a name or version holds.
    return uuid.uuid5(_SERIAL_NAMESPACE, json.dumps([binary_sha256, name, version]))


def _build_properties(info: BuildInfo) -> list[Property]:
    props = [
        Property(name=GOVERSION, value=info.go_version),
        Property(name=MAIN_PACKAGE, value=info.path),
    ]
    for key, value in info.settings:
        props.append(Property(name=SETTING + key, value=value))
        if key in ENV_SETTINGS:
            props.append(Property(name=ENV_SETTINGS[key], value=value))
        elif key == "-tags":
            props.extend(Property(name=BUILD_TAG, value=t) for t in value.split(",") if t)
    return props


def _purl(path: str, version: str | None) -> PackageURL:
    # The purl type for Go: the module path's last element is the name, the rest
    # the namespace.
    namespace, _, last = path.rpartition("/")
    return PackageURL(type="golang", namespace=namespace or None, name=last, version=version)


def _library(
    path: str,
    version: str,
    *,
    sum_: str | None = None,
    properties: Iterable[Property] = (),
) -> Component:
    # Code no module version names ((devel)) gets a purl without a version.
    purl = _purl(path, None if version == DEVEL else version)
    props = list(properties)
    hashes = []
    if sum_ is not None:
        props.append(Property(name=SUM, value=sum_))
        if sum_.startswith(H1_PREFIX):
            hashes.append(HashType(alg=HashAlgorithm.SHA_256, content=h1_hex(sum_)))
    return Component(
        type=ComponentType.LIBRARY,
        name=path,
        version=version,
        purl=purl,
        bom_ref=purl.to_string(),
        scope=ComponentScope.REQUIRED,
        hashes=hashes,
        properties=props,
    )


def _main_component(main: Module) -> Component:
    return _library(main.path, main.version, sum_=main.sum)


def _dependency_component(dep: Module) -> Component:
    replacement = dep.replacement
    if replacement is None:
        return _library(dep.path, dep.version, sum_=dep.sum)
    replaces = Property(name=REPLACES, value=f"{dep.path}@{dep.version}")
    if replacement.is_directory:
        # Code from a directory: the module's path names it, no version does.
        return _library(
            dep.path,
            DEVEL,
            properties=[replaces, Property(name=DIRECTORY, value=replacement.path)],
        )
    return _library(
        replacement.path, replacement.version, sum_=replacement.sum, properties=[replaces]
    )


def _std_component(go_version: str) -> Component:
    # "go1.22.10", or "go1.22.10 X:loopvar" with a GOEXPERIMENT: the release is the
    # first word (a development Go's whole string is kept).
    release = go_version.split(maxsplit=1)[0]
    return _library(STD, go_version if release == "devel" else release)

"""Releases: the archives, checksums, SBOMs and record that ship a tagged commit.

The archives hold the binaries ``dist`` built, named ``NAME_VERSION_OS_ARCH``, written
byte for byte the same wherever the same commit is released (:mod:`.archives`); each
binary has a CycloneDX SBOM read from its own build info (:mod:`.sbom`); SHA256SUMS and
a JSON record list every artifact with its digest (:mod:`.record`).

May import: gobuild.builds (the dist plans and their binaries), gobuild.toolchain (the
pinned Go), gobuild.project, the foundation.
"""

"""Releases: the archives, checksums, SBOMs, image and record that ship a tagged commit.

The archives hold the binaries ``dist`` built, named ``NAME_VERSION_OS_ARCH``, written
byte for byte the same wherever the same commit is released (:mod:`.archives`); each
binary has a CycloneDX SBOM read from its own build info (:mod:`.sbom`); with
``[release] image``, an OCI image index holds the linux binaries on the runtime base
(:mod:`.image`); SHA256SUMS and a JSON record list every artifact with its digest
(:mod:`.record`); :mod:`.publish` pushes the image, SBOMs and provenance to a registry.

May import: gobuild.builds (the dist plans and their binaries), gobuild.toolchain (the
pinned Go), gobuild.oci (images and registries), gobuild.project, the foundation.
"""

"""The shared Go build cache: ``[cache] remote`` through a GOCACHEPROG program.

The go command (Go 1.24 and later) hands every cache lookup and store to the program
GOCACHEPROG names. gobuild runs a maintained one against S3-compatible storage (the
pinned ``go-cache-plugin``) behind its own verifier, which checks each object against
its output ID before the go command may use it (the go command checks only the build
ID at a package archive's head). :mod:`.command` writes the command line,
:mod:`.verifier` builds the verifier, :mod:`.shared` decides per run whether the
remote is used (it is probed first: one that is down costs one warning, not a slow
build), and :mod:`.lookups` reads what the lookups came to; :mod:`.credentials` hands the keys
to an image build as a secret.

May import: gobuild.tools (the pinned plugin), gobuild.builds (the go command's
environment), gobuild.toolchain (the Go that builds the verifier), fetch (the probe)
and the project model; the renderers use :mod:`.command` alone.
"""

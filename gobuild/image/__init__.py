"""Images: the project's container image, built by BuildKit from the generated
Dockerfile and checked on a Docker engine.

:mod:`.make` is ``doit image``; :mod:`.builder` decides where it builds (the engine, a
BuildKit daemon, a buildx builder), :mod:`.client` finds the docker client and the
engine, :mod:`.build` builds on the engine, :mod:`.buildkit` on a BuildKit daemon with
buildctl, :mod:`.examine` checks what was built, :mod:`.context` reports what a build
sends. (Named for what it makes, not ``docker``, so that ``import docker``
always means the SDK.)

May import: gobuild.render (the Dockerfile's values), gobuild.builds (git values),
gobuild.project, the foundation, and the docker SDK.
"""

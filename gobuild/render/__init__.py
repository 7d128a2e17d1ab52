"""Rendering: the files gobuild writes into a project, from the same plans as its builds.

:mod:`.generate` writes the Dockerfile, .dockerignore and Makefile (:mod:`.dockerfile`,
:mod:`.dockerignore`, :mod:`.makefile` gather their values from the build plan and the
check commands); :mod:`.scaffold` is ``gobuild init``. Templates only place values,
through :mod:`.engine` and the escaping filters of :mod:`.escape`.

May import: gobuild.checks (its command decisions only), gobuild.builds (the plan, not its
runner), gobuild.project, the foundation. Not gobuild.toolchain: gobuild.lock is read
with :mod:`gobuild.project.lock`.
"""

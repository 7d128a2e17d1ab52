"""Pinned Go tools: linters, the test reporter, the vulnerability check, benchstat.

Each is built from its pin (``[tools]``, :mod:`gobuild.project.toolpins`) with the
project's Go into a shared cache, its module checked against gobuild.lock and the
checksum database (:mod:`.install`).

May import: gobuild.builds (the go command's environment), gobuild.toolchain (to
install a Go), gobuild.modules (the checksum database), gobuild.project, the foundation.
"""

"""Pinned Go tools: linters, the test reporter, the vulnerability check, benchstat.

Each is built from its pin (``[tools]``, :mod:`gobuild.project.toolpins`) with the
project's Go into a shared cache, its module checked against gobuild.lock and the
checksum database (:mod:`.install`). ``gobuild lock`` records every pin beforehand
without building it (:mod:`.locking`), from the module proxy and the checksum database
(:mod:`.resolve`, whose module and checks the build shares).

May import: gobuild.builds (the go command's environment), gobuild.toolchain (to
install a Go), gobuild.modules (the checksum database), gobuild.project, the foundation.
"""

"""Checks: test, lint and bench units, run concurrently within a CPU and memory budget
whose caps the OS enforces.

The values (:mod:`.units`); the command lines, decided once for gobuild and the
Makefile (:mod:`.commands`); the run's plan (:mod:`.plan`) and budget
(:mod:`.budget`, shared through :mod:`.ledger`); running it (:mod:`.run`,
:mod:`.scheduler`, :mod:`.runner`, under :mod:`.limits`); what it reports
(:mod:`.report`, what failed and where in :mod:`.failures`, reading ``go test -json``
in :mod:`.testevents`, govulncheck's in :mod:`.vulns`, coverage profiles merged in
:mod:`.coverage`). Test packages split into shards for several machines
(:mod:`.shards`), and the shards' reports merged back into one (:mod:`.merge`). JUnit
XML and benchmark comparisons are the pinned gotestsum's and benchstat's.

May import: gobuild.builds (the go command's environment and flags; not its runner),
gobuild.tools (the pinned linters and gotestsum), gobuild.toolchain (to install the pinned Go),
gobuild.project, the foundation.
"""

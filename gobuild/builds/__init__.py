"""Building: the one build plan (the go command line), and running it.

:mod:`.plan` decides every ``go build`` (flags, ldflags, tags, environment, output)
with the volatile values kept symbolic; :mod:`.goenv` and :mod:`.flags` hold the
decisions builds share with checks and the renderers. :mod:`.run` runs a plan with
the pinned Go; :mod:`.records` and :mod:`.verify` say what was built and prove it
again. :mod:`.gitinfo` and :mod:`.inputs` read the tree. :mod:`.planinputs` says what
each plan's build reads: :mod:`.golist`'s answer (go list with the plan's flags),
remembered while no file's :mod:`.shapes` changed; the file finder of :mod:`.inputs`
before the pinned Go is installed.

May import: gobuild.toolchain (for an installed Go), gobuild.project, the foundation.
"""

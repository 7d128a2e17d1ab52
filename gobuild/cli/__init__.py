"""The ``gobuild`` command: argparse in, text and exit codes out.

:mod:`.main` builds the parser, reads the environment once and maps errors to exit
codes; each command lives in the module of its concern (:mod:`.toolchain`,
:mod:`.files`, :mod:`.checks`); :mod:`.memo` remembers answers so a repeat command
starts without loading the configuration.

A front end, and a printer. May import: every room below it (gobuild.ui and the features,
the project model, the foundation). Not gobuild.tasks, the other front end.
"""

"""The doit front end: gobuild's tasks for a user's dodo.py (``from gobuild.dodo import *``).

Task descriptions are plain data (:mod:`.describe`), remembered under a stamp so a
no-op ``doit build`` costs about what doit costs (:mod:`.specs`); :mod:`.dicts` turns
them into doit's task dictionaries, whose actions are trampolines into
:mod:`.actions`, imported only when a task really runs.

A front end, and a printer. May import: every room below it (gobuild.ui and the features,
the project model, the foundation) and doit, which only it and gobuild.dodo import. Not
gobuild.cli, the other front end.
"""

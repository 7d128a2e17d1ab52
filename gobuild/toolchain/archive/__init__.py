"""Safe extraction of Go distributions, overlapped with their download.

:mod:`.extract` is the entry point; :mod:`.allowlist` is the rule every member must
pass; :mod:`.tarscan` checks a ``.tar.gz``'s headers as :mod:`.gunzip` inflates it;
:mod:`.tarworker` writes files, in this process or in helper processes.

May import: the foundation (gobuild.errors, gobuild.proc, gobuild.atomic,
gobuild.progress). :mod:`.tarworker` runs as a script in helper processes and imports
the standard library only (and isal when installed).
"""

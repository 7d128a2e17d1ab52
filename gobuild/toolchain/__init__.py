"""Toolchains: the pinned Go, fetched from a source, verified, installed into the cache.

:mod:`.install` resolves and installs (:func:`~.install.ensure`), :mod:`.cache` is the
cache on disk (read with the standard library alone), :mod:`.source` says what a
source is and :mod:`.official` and :mod:`.pypi` are the sources; :mod:`.archive`
extracts what they fetch, safely.

May import: gobuild.project, the foundation. Nothing that builds or checks.
"""

"""Limits: a unit's CPU and memory caps, enforced by the OS on its whole process tree.

:mod:`.confinement` says what a confinement does (and holds ``none``, where the host
offers no mechanism); :mod:`.cgroups`, :mod:`.systemd` and :mod:`.watchdog` are the
mechanisms; :mod:`.detect` picks one and makes confinements.

May import: gobuild.checks.units, gobuild.project, the foundation. Not the scheduler.
"""

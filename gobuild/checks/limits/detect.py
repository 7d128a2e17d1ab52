"""Which mechanism enforces the caps here, detected at run time, and a fresh
confinement of it for each unit.

Best first: a delegated cgroup v2 subtree, ``systemd-run --user --scope``, cgroup v1
when running as root, else the watchdog (Linux's /proc); where none of them can be had
(macOS, the BSDs), ``none``: the caps are not enforced, the Go side of them still
applies. Never RLIMIT_AS: the Go runtime reserves far more address space than it uses
and would not start.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from gobuild import proc
from gobuild.checks.limits.cgroups import CgroupV1, CgroupV2, Pool
from gobuild.checks.limits.confinement import Confinement, Unenforced
from gobuild.checks.limits.systemd import SystemdScope
from gobuild.checks.limits.watchdog import Watchdog
from gobuild.checks.units import Caps
from gobuild.errors import GobuildError
from gobuild.project.environ import Environment
from gobuild.project.names import MECHANISMS, Enforcement, Mechanism

Probe = Callable[[Mechanism, Environment], str | None]
"""Whether a mechanism can be used here: None, or why not (:func:`available`)."""

# The mechanisms that hold caps, best first: ``auto`` takes the first available.
ENFORCING: tuple[Mechanism, ...] = tuple(m for m in MECHANISMS if m != "none")


def available(mechanism: Mechanism, env: Environment) -> str | None:
    """None when ``mechanism`` can be used here, else why not (``none`` always can)."""
    if mechanism == "none":
        return None
    if mechanism == "watchdog":
        return None if Path("/proc/self/stat").exists() else "no /proc to sample memory from"
    if mechanism == "systemd-run":
        return _systemd_missing(env)
    if mechanism == "cgroup1" and os.geteuid() != 0:
        return "cgroup v1 needs root"
    probe = Caps(cpus=1, memory=64 << 20)
    name = f"gobuild-probe-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        made = (
            CgroupV1.create(probe, name) if mechanism == "cgroup1" else CgroupV2.create(probe, name)
        )
        made.close()
    except (OSError, GobuildError) as exc:
        return str(exc)
    return None


def _systemd_missing(env: Environment) -> str | None:
    if not env.user_session_bus:
        return "no user session bus (systemd --user is not running)"
    try:
        res = proc.run(
            ["systemd-run", "--user", "--scope", "--quiet", "--collect", "true"],
            check=False,
            timeout=20,
        )
    except GobuildError as exc:
        return str(exc)
    return None if res.returncode == 0 else (res.stderr.strip().splitlines() or ["failed"])[0]


def detect(
    preferred: Enforcement, env: Environment, probe: Probe | None = None
) -> tuple[Mechanism, list[str]]:
    """The mechanism to use, and why each better one was passed over.

    ``auto`` never fails: it takes the best mechanism the host offers, else ``none``
    (the reasons passed over then say why nothing enforces the caps). A mechanism asked
    for by name that cannot be used here is an error. ``probe`` answers whether a
    mechanism can be used (default :func:`available`: the host's answer).
    """
    probe = probe or available
    if preferred == "none":
        return "none", []
    if preferred != "auto":
        why = probe(preferred, env)
        if why is not None:
            raise GobuildError(
                f"limits: {preferred} cannot be used here: {why}; enforcement "
                '"auto" takes the best this host offers, "none" enforces no caps'
            )
        return preferred, []
    skipped: list[str] = []
    for name in ENFORCING:
        why = probe(name, env)
        if why is None:
            return name, skipped
        skipped.append(f"{name}: {why}")
    return "none", skipped


def pools(mechanism: Mechanism) -> bool:
    """Whether ``mechanism`` can hold a whole run to its budget (:class:`Pool`), so units'
    CPU caps may be overcommitted. systemd-run scopes, the watchdog and ``none`` cannot:
    there units queue for their caps within the budget itself."""
    return mechanism in ("cgroup1", "cgroup2")


def confine(mechanism: Mechanism, caps: Caps, label: str, pool: Pool | None = None) -> Confinement:
    """A fresh confinement of ``caps`` for one unit's run (in ``pool`` if one is given:
    only where :func:`pools`)."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in label)[:40]
    name = f"gobuild-{os.getpid()}-{safe}-{os.urandom(4).hex()}"
    if mechanism == "cgroup1":
        return CgroupV1.create(caps, name, pool)
    if mechanism == "cgroup2":
        return CgroupV2.create(caps, name, pool)
    if mechanism == "systemd-run":
        return SystemdScope(caps, name)
    if mechanism == "watchdog":
        return Watchdog(caps)
    return Unenforced(caps)

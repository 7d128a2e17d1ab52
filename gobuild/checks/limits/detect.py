"""Which mechanism enforces the caps here, detected at run time, and a fresh
confinement of it for each unit.

Best first: a delegated cgroup v2 subtree, ``systemd-run --user --scope``, cgroup v1
when running as root, else the watchdog. Never RLIMIT_AS: the Go runtime reserves far
more address space than it uses and would not start.
"""

from __future__ import annotations

import os
from pathlib import Path

from gobuild import proc
from gobuild.checks.limits.cgroups import CgroupV1, CgroupV2
from gobuild.checks.limits.confinement import Confinement
from gobuild.checks.limits.systemd import SystemdScope
from gobuild.checks.limits.watchdog import Watchdog
from gobuild.checks.units import Caps
from gobuild.errors import GobuildError
from gobuild.project.environ import Environment
from gobuild.project.names import MECHANISMS, Enforcement, Mechanism


def available(mechanism: Mechanism, env: Environment) -> str | None:
    """None when ``mechanism`` can be used here, else why not."""
    if mechanism == "watchdog":
        return None if Path("/proc/self/stat").exists() else "no /proc"
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


def detect(preferred: Enforcement, env: Environment) -> tuple[Mechanism, list[str]]:
    """The mechanism to use, and why each better one was passed over."""
    if preferred != "auto":
        why = available(preferred, env)
        if why is not None:
            raise GobuildError(f"limits: {preferred} cannot be used here: {why}")
        return preferred, []
    skipped: list[str] = []
    for name in MECHANISMS:
        why = available(name, env)
        if why is None:
            return name, skipped
        skipped.append(f"{name}: {why}")
    raise GobuildError("no way to enforce limits here: " + "; ".join(skipped))


def confine(mechanism: Mechanism, caps: Caps, label: str) -> Confinement:
    """A fresh confinement of ``caps`` for one unit's run."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in label)[:40]
    name = f"gobuild-{os.getpid()}-{safe}-{os.urandom(4).hex()}"
    if mechanism == "cgroup1":
        return CgroupV1.create(caps, name)
    if mechanism == "cgroup2":
        return CgroupV2.create(caps, name)
    if mechanism == "systemd-run":
        return SystemdScope(caps, name)
    return Watchdog(caps)

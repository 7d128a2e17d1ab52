"""``systemd-run --user --scope``: systemd makes, limits and removes the cgroup."""

from __future__ import annotations

import signal

from gobuild.checks.limits.confinement import Confinement
from gobuild.checks.units import Caps
from gobuild.project.names import Mechanism


class SystemdScope(Confinement):
    """``systemd-run --user --scope``: systemd makes and removes the cgroup."""

    mechanism: Mechanism = "systemd-run"

    def __init__(self, caps: Caps, name: str) -> None:
        super().__init__(caps)
        self.unit = f"{name}.scope"
        self.killed_by_kernel = False

    def wrap(self, argv: list[str]) -> list[str]:
        return [
            "systemd-run", "--user", "--scope", "--quiet", "--collect",
            f"--unit={self.unit}",
            "-p", f"MemoryMax={self.caps.memory}",
            "-p", "MemorySwapMax=0",
            "-p", f"CPUQuota={max(1, round(self.caps.cpus * 100))}%",
            "-p", f"CPUWeight={max(1, min(10_000, self.caps.weight))}",
            "--", *argv,
        ]  # fmt: skip

    def exited(self, returncode: int, output: str, stopped: bool) -> None:
        killed = returncode == -signal.SIGKILL or "signal: killed" in output
        self.killed_by_kernel = killed and not stopped

    def over_memory(self) -> bool:
        # The scope is collected on exit, so its counters are gone; the kernel's OOM
        # killer shows as processes dead of SIGKILL that gobuild did not send.
        return self.killed_by_kernel

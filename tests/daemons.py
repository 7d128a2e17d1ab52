"""What the loopback servers the tests start (registry, S3 gateway, buildkitd) share: a
free port, and stopping a server's whole process group."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from typing import Any


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def stop_group(process: subprocess.Popen[Any] | None, grace: float = 10.0) -> None:
    """SIGTERM ``process``'s group (started with ``start_new_session``), SIGKILL after
    ``grace`` seconds; nothing when it is None."""
    if process is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(grace)

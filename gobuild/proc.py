"""The only door to subprocesses.

Every command is an argument list (never a shell string). Failures raise
:class:`~gobuild.errors.ProcessError` carrying the command, exit code and the
tail of the output. Children run in their own process group so that a timeout
or Ctrl-C stops the whole tree, not just the direct child.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from gobuild.errors import GobuildError, ProcessError

# How long a process group gets between SIGTERM and SIGKILL.
GRACE_SECONDS = 5.0

Child = subprocess.Popen[bytes]
"""A started child (:func:`spawn`, :func:`start_helper`), for callers' annotations."""


@dataclass(frozen=True)
class Result:
    """What a finished command produced."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    check: bool = True,
    capture: bool = True,
    input_text: str | None = None,
) -> Result:
    """Run ``argv`` to completion in its own process group.

    ``env`` replaces the environment entirely when given (callers build it
    explicitly so no stray GOROOT or GOTOOLCHAIN leaks in). With ``capture``
    false, output goes to the parent's stdout/stderr (for ``gobuild go``).
    """
    args = [os.fspath(a) for a in argv]
    pipe = subprocess.PIPE if capture else None
    try:
        proc = subprocess.Popen(
            args,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.PIPE if input_text is not None else None,
            stdout=pipe,
            stderr=pipe,
            text=True,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise GobuildError(f"command not found: {args[0]}") from exc
    except PermissionError as exc:
        raise GobuildError(f"command not executable: {args[0]}") from exc
    try:
        out, err = proc.communicate(input=input_text, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        stop_group(proc)
        out, err = proc.communicate()
        raise ProcessError(args, -1, f"timed out after {timeout}s\n{out or ''}{err or ''}") from exc
    except BaseException:
        # Ctrl-C or any other interruption: never leave the child's tree behind.
        stop_group(proc)
        raise
    result = Result(args, proc.returncode, out or "", err or "")
    if check and proc.returncode != 0:
        raise ProcessError(args, proc.returncode, result.stdout + result.stderr)
    return result


def stop_group(proc: subprocess.Popen[Any], grace: float = GRACE_SECONDS) -> None:
    """Stop ``proc``'s whole process group: SIGTERM, then SIGKILL after ``grace``."""
    if proc.poll() is not None and not _group_alive(proc.pid):
        return
    _signal_group(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    _signal_group(proc.pid, signal.SIGKILL)
    proc.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def spawn(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    output: IO[bytes],
    stdin_pipe: bool = False,
) -> Child:
    """Start ``argv`` in its own process group, stdout and stderr into ``output``;
    stdin is /dev/null, or a pipe from the caller with ``stdin_pipe`` (to open a
    :func:`gobuild.checks.limits.confinement.gate`).

    For the checks scheduler, which waits with :func:`wait_usage` and stops the
    group itself (timeouts, memory caps, Ctrl-C).
    """
    try:
        return subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise GobuildError(f"command not found: {argv[0]}") from exc


def start_helper(argv: Sequence[str]) -> Child:
    """Start a gobuild helper process in its own process group, with a pipe to its
    stdin and one from its stdout and stderr together; the caller feeds it, reads
    it and stops it with :func:`stop_group`."""
    return subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait(child: Child, timeout: float) -> int | None:
    """``child``'s exit code once it ends within ``timeout`` seconds, else None."""
    try:
        return child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def wait_usage(child: Child) -> tuple[int, float, int]:
    """Reap ``child``: its exit code (-N for signal N), CPU seconds of it and the
    descendants it waited for, and the largest resident set among them in bytes."""
    _, status, usage = os.wait4(child.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    child.returncode = code  # reaped here: Popen must not wait for it again
    return code, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to a process group, ignoring one that is already gone."""
    _signal_group(pgid, sig)

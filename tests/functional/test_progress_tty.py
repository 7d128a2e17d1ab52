"""Progress bars appear on a terminal and not otherwise."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from tests import godist
from tests.conftest import MakeProject
from tests.mirror import Mirror


def test_progress_bar_on_a_terminal_only(mirror: Mirror, make_project: MakeProject) -> None:
    entry = mirror.add("1.22.10", godist.fake_archive("1.22.10", extra_files=32, pad=8192))
    mirror.fail(entry.filename, "slow")
    root = make_project("1.22.10", mirror=mirror)
    master, slave = pty.openpty()
    argv = [sys.executable, "-m", "gobuild", "-C", str(root), "toolchain", "install"]
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(timeout=60)
    os.close(master)
    assert proc.returncode == 0
    assert b"download" in seen

    # Not a terminal: quiet.
    other = Path(str(root) + "-quiet")
    other.mkdir()
    (other / "go.mod").write_text((root / "go.mod").read_text())
    (other / "gobuild.toml").write_text((root / "gobuild.toml").read_text())
    env["GOBUILD_CACHE"] = str(other / "cache")
    res = subprocess.run(
        [*argv[:4], str(other), *argv[5:]], capture_output=True, env=env, check=True
    )
    assert res.stderr == b""

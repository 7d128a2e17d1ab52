"""The verifier (``templates/cacheprog/verify.go``), built once per source and Go.

It is gobuild's own small program, from the standard library alone, compiled with the
project's pinned Go into gobuild's cache (under a file lock, into a temporary name
renamed into place), so every go command that uses the shared cache starts it at once.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import filelock

from gobuild import proc
from gobuild.atomic import remove_tree
from gobuild.builds.goenv import SCRUBBED, go_environ
from gobuild.gocache import command
from gobuild.toolchain.cache import Installed


def ensure_verifier(cache_dir: Path, go: Installed, environ: dict[str, str]) -> Path:
    """The verifier built by ``go`` under ``cache_dir`` (``environ``: the inherited
    variables; the build needs nothing from the network)."""
    text = command.verifier_source()
    home = (
        cache_dir / "cacheprog" / f"{command.verifier_name(text)}-go{go.version}-{go.platform.key}"
    )
    name = "verify.exe" if go.platform.goos == "windows" else "verify"
    binary = home / name
    if binary.is_file():
        return binary
    home.parent.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(str(home.parent / f".{home.name}.lock")):
        if binary.is_file():
            return binary
        work = Path(tempfile.mkdtemp(prefix=f".{home.name}.", dir=home.parent))
        try:
            (work / "verify.go").write_text(text, encoding="utf-8")
            env = go_environ(go.goroot, environ, scrub=SCRUBBED)
            env.update({"GOWORK": "off", "GOFLAGS": "", "CGO_ENABLED": "0", "GOENV": "off"})
            # Outside any module (its own directory): the standard library alone.
            argv = [str(go.go), "build", "-trimpath", "-o", str(work / name), "verify.go"]
            proc.run(argv, cwd=work, env=env, timeout=600)
            (work / "verify.go").unlink()
            work.replace(home)
        except BaseException:
            remove_tree(work)
            raise
    return binary

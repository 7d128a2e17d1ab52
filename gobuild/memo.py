"""The remembered answer of ``gobuild toolchain install`` for a project.

A repeat install of an installed toolchain (CI scripts and Makefiles run it
before every build) should cost no more than starting Python. Loading the
configuration imports and builds its schema, which takes several times as
long, so the answer of the last successful run is kept in the state
directory under a stamp (:mod:`gobuild.stamps`) of everything it depends on:
go.mod, gobuild.toml and gobuild.lock, the environment variables
configuration reads, gobuild's own code, and the toolchain's completion
marker. Any change to one of them, or a removed toolchain, sends the command
down the full path again. Standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gobuild import gomod, stamps

NAME = "toolchain.json"  # in the state directory
_FORMAT = "toolchain-memo 1"


def lookup(start: Path, environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The remembered result (``InstallResult.as_json()``) for the project at or above
    ``start``, if everything it depends on is unchanged; else None."""
    try:
        root = gomod.find_module_root(start)
        if root is None:
            return None
        data = json.loads((root / ".gobuild" / NAME).read_text(encoding="utf-8"))
        result = data["result"]
        if data["stamp"] != _stamp(start, root, environ):
            return None
        if data["marker"] != stamps.file(Path(data["marker_path"])):
            return None
        if not (Path(result["goroot"]) / "bin" / "go").is_file():
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return dict(result)


def remember(
    start: Path, root: Path, environ: Mapping[str, str], result: Mapping[str, Any], marker: Path
) -> None:
    """Keep ``result`` (a cached install's JSON) for :func:`lookup`; best effort."""
    from gobuild import atomic  # noqa: PLC0415 - writing is the slow path's business

    data = {
        "stamp": _stamp(start, root, environ),
        "marker_path": str(marker),
        "marker": stamps.file(marker),
        "result": {**result, "cached": True, "timings": {}, "notices": []},
    }
    try:
        (root / ".gobuild").mkdir(exist_ok=True)
        atomic.write_text(root / ".gobuild" / NAME, json.dumps(data) + "\n", durable=False)
    except OSError:
        pass  # a read-only checkout: every run takes the full path


def _stamp(start: Path, root: Path, environ: Mapping[str, str]) -> str:
    return stamps.digest(
        [
            f"{_FORMAT}\0{start}\0{root}",
            stamps.environment(environ),
            *stamps.code(),
            *(stamps.file(root / name) for name in ("go.mod", "gobuild.toml", "gobuild.lock")),
        ]
    )

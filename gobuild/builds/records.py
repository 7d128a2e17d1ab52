"""What a build leaves beside its artifacts: a JSON record each, and SHA256SUMS.

A record says exactly how its artifact was made: Go version, argv, environment,
profile, embedded values and ``go version -m``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from gobuild import atomic, proc
from gobuild.builds.goenv import go_environ
from gobuild.builds.run import Built
from gobuild.digest import sha256_file
from gobuild.errors import GobuildError
from gobuild.toolchain.cache import Installed

SUMS_NAME = "SHA256SUMS"


def write_record(built: Built, installed: Installed, environ: Mapping[str, str]) -> Path:
    """``<artifact>.json`` beside the artifact: how exactly it was made."""
    plan = built.plan
    env = go_environ(installed.goroot, environ)
    info = proc.run([str(installed.go), "version", "-m", str(built.path)], env=env).stdout
    record = {
        "artifact": built.path.name,
        "sha256": built.sha256,
        "binary": plan.binary,
        "package": plan.package,
        "target": str(plan.target) if plan.target else "host",
        "go_version": plan.go_version,
        "argv": plan.argv("go", built.values),
        "env": dict(plan.env),
        "profile": plan.profile,
        "tags": list(plan.tags),
        "embedded": built.values,
        "go_version_m": info,
    }
    path = built.path.with_name(built.path.name + ".json")
    atomic.write_text(path, json.dumps(record, indent=2, sort_keys=True) + "\n")
    return path


def write_sums(out_dir: Path, artifacts: Sequence[Path]) -> Path:
    """SHA256SUMS in the format ``sha256sum -c`` reads."""
    lines = [f"{sha256_file(p)}  {p.name}\n" for p in sorted(artifacts, key=lambda p: p.name)]
    path = out_dir / SUMS_NAME
    atomic.write_text(path, "".join(lines))
    return path


def read_sums(path: Path) -> dict[str, str]:
    """Parse SHA256SUMS: name → sha256."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GobuildError(f"{path} does not exist: run `doit dist` first") from None
    out = {}
    for line in text.splitlines():
        sha, _, name = line.partition("  ")
        if len(sha) != 64 or not name:
            raise GobuildError(f"{path}: malformed line {line!r}")
        out[name.lstrip("*")] = sha
    return out

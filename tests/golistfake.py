"""go list's answers for unit tests, which may not run go: JSON as ``go list -e -deps -json``
prints it, and a stand-in for :func:`gobuild.builds.golist.output` (the one place go list
runs) that answers from a function and records each command line.

The field names and shapes are the go command's (``go help list``); the functional tests
(tests/functional/test_inputs.py) run the real go list over real modules.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def main_module(root: Path, path: str = "example.com/mod") -> dict[str, Any]:
    """The ``Module`` object of a package of the main module at ``root``."""
    return {"Path": path, "Main": True, "Dir": str(root), "GoMod": str(root / "go.mod")}


def replaced_module(path: str, folder: Path) -> dict[str, Any]:
    """A module replaced by a local directory (``replace path => ../folder``)."""
    replace = {"Path": str(folder), "Dir": str(folder), "GoMod": str(folder / "go.mod")}
    return {"Path": path, "Version": "v0.0.0", "Replace": replace, "Dir": str(folder)}


def cached_module(path: str, version: str, modcache: Path) -> dict[str, Any]:
    """A module from the module cache."""
    folder = modcache / f"{path}@{version}"
    return {"Path": path, "Version": version, "Dir": str(folder), "GoMod": str(folder / "go.mod")}


def package(
    folder: Path,
    import_path: str,
    module: Mapping[str, Any] | None,
    *,
    main: bool = False,
    deps: Sequence[str] = (),
    standard: bool = False,
    **files: Any,
) -> dict[str, Any]:
    """One package as go list -json prints it; ``files``: GoFiles=[...], SFiles=[...], …,
    EmbedPatterns, Error."""
    out: dict[str, Any] = {"Dir": str(folder), "ImportPath": import_path}
    if standard:
        out["Standard"] = True
    if module is not None:
        out["Module"] = dict(module)
    if not main:
        out["DepOnly"] = True
    out.update(files)
    if deps:
        out["Deps"] = sorted(deps)
    return out


def stream(*packages: Mapping[str, Any]) -> str:
    """The packages as go list prints them: one indented JSON object after another."""
    return "".join(json.dumps(p, indent="\t") + "\n" for p in packages)


@dataclass
class FakeGoList:
    """Answers go list's command lines with ``answer(argv, root, env)`` (None: go list
    failed)."""

    answer: Callable[[list[str], Path, Mapping[str, str]], str | None]
    calls: list[list[str]] = field(default_factory=list)
    envs: list[dict[str, str]] = field(default_factory=list)

    def __call__(self, command: Sequence[str], root: Path, env: Mapping[str, str]) -> str | None:
        self.calls.append(list(command))
        self.envs.append(dict(env))
        return self.answer(list(command), root, env)


def main_packages_only(argv: list[str], root: Path, env: Mapping[str, str]) -> str:
    """An answer naming each listed package (main.go in its directory) and nothing else."""
    packages = [a for a in argv[2:] if not a.startswith("-")]
    module = main_module(root)
    return stream(
        *(
            package(
                root / p,
                f"example.com/mod/{p.removeprefix('./')}",
                module,
                main=True,
                GoFiles=["main.go"],
            )
            for p in packages
        )
    )

"""The files a build reads: what makes a binary out of date.

Non-test .go files, go.mod, go.sum, everything under vendor/ and every file a
``//go:embed`` directive names. Not _test.go files, READMEs or testdata (unless
embedded). Over-approximates per module (all packages, not only the ones a
binary imports): a needless rebuild is cheap, a missed one is a wrong binary.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

_EMBED = re.compile(r"^//go:embed\s+(.+)$", re.MULTILINE)
_SKIP_DIRS = {"testdata", ".git"}


def build_inputs(root: Path, exclude: tuple[Path, ...] = ()) -> list[Path]:
    """Every input file of the module at ``root``, sorted; ``exclude``: output/state dirs."""
    found: set[Path] = set()
    for name in ("go.mod", "go.sum", "go.work"):
        if (root / name).is_file():
            found.add(root / name)
    vendor = root / "vendor"
    if vendor.is_dir():
        found.update(p for p in vendor.rglob("*") if p.is_file())
    skip = {p.resolve() for p in exclude} | {vendor.resolve()}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in _SKIP_DIRS
            and not d.startswith((".", "_"))
            and (here / d).resolve() not in skip
            and not (here / d / "go.mod").exists()
        )
        for f in filenames:
            if f.endswith(".go") and not f.endswith("_test.go") and not f.startswith((".", "_")):
                path = here / f
                found.add(path)
                found.update(embedded_files(path))
    return sorted(found)


def embedded_files(source: Path) -> set[Path]:
    """The files ``//go:embed`` directives in ``source`` name (patterns, directories)."""
    try:
        data = source.read_bytes()
    except OSError:
        return set()
    if b"//go:embed" not in data:  # the common case, decided without decoding
        return set()
    text = data.decode("utf-8", errors="replace")
    out: set[Path] = set()
    for m in _EMBED.finditer(text):
        for raw in _patterns(m[1]):
            everything = raw.startswith("all:")
            for match in source.parent.glob(raw.removeprefix("all:")):
                if match.is_dir():
                    out.update(_walk(match, everything))
                elif match.is_file():
                    out.add(match)
    return out


def _patterns(text: str) -> list[str]:
    # Patterns are space separated, optionally "quoted" or `back-quoted`.
    text = text.replace("`", '"')
    try:
        return shlex.split(text, comments=False, posix=True)
    except ValueError:
        return text.split()


def _walk(folder: Path, everything: bool) -> set[Path]:
    out: set[Path] = set()
    for dirpath, dirnames, filenames in os.walk(folder):
        if not everything:
            dirnames[:] = [d for d in dirnames if not d.startswith((".", "_"))]
        out.update(
            Path(dirpath) / f for f in filenames if everything or not f.startswith((".", "_"))
        )
    return out

"""Coverage profiles: several ``go test -coverprofile`` files made one, and the share of
statements covered, as ``go tool cover -func`` counts it.

A profile is ``mode: set|count|atomic`` and one line per block: ``FILE:L.C,L.C STMTS
COUNT``. Blocks are keyed by file and position; merged, a ``set`` block is covered when
any profile covers it and a ``count``/``atomic`` block's counts add up. One test unit's
profile, a whole run's and shards' merged the same way give the same numbers whichever
way the packages were split.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gobuild.errors import GobuildError

PROFILE_NAME = "coverage.out"


@dataclass(frozen=True)
class Profile:
    """A merged profile: its mode and each block's statements and count."""

    mode: str
    blocks: dict[tuple[str, str], tuple[int, int]]  # (file, "L.C,L.C") → (stmts, count)

    @property
    def statements(self) -> int:
        """Every statement the profile knows."""
        return sum(n for n, _ in self.blocks.values())

    @property
    def covered(self) -> int:
        """The statements run at least once."""
        return sum(n for n, c in self.blocks.values() if c > 0)

    @property
    def percent(self) -> float:
        """Covered statements, in per cent (0 when there are none)."""
        return 100.0 * self.covered / self.statements if self.statements else 0.0

    def text(self) -> str:
        """The profile as the go command writes it, blocks sorted."""
        lines = [f"mode: {self.mode}"]
        lines += [f"{f}:{pos} {n} {c}" for (f, pos), (n, c) in sorted(self.blocks.items())]
        return "\n".join(lines) + "\n"


def merge(paths: Iterable[Path]) -> Profile | None:
    """The profiles at ``paths`` as one (None when there are none); GobuildError for a
    malformed line or profiles of different modes."""
    mode: str | None = None
    blocks: dict[tuple[str, str], tuple[int, int]] = {}
    for path in paths:
        lines = path.read_text(encoding="utf-8").splitlines()
        if not lines:
            continue
        head = lines[0].removeprefix("mode: ").strip()
        if mode is not None and head != mode:
            raise GobuildError(f"{path}: coverage mode {head}, the others are {mode}")
        mode = head
        for number, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            try:
                where, stmts, count = line.rsplit(" ", 2)
                file, pos = where.rsplit(":", 1)
                n, c = int(stmts), int(count)
            except ValueError:
                raise GobuildError(f"{path} line {number}: not a coverage block") from None
            old = blocks.get((file, pos))
            if old is None:
                blocks[(file, pos)] = (n, c)
            elif mode == "set":
                blocks[(file, pos)] = (n, max(old[1], c))
            else:
                blocks[(file, pos)] = (n, old[1] + c)
    return None if mode is None else Profile(mode, blocks)

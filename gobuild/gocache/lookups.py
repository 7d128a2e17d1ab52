"""What the go commands' cache lookups came to, as the verifier counted them.

Each go command that used the shared cache appends one line of JSON to a stats file
(``-stats``, see ``templates/cacheprog/verify.go``); :func:`read` sums them. These are
the go command's own requests: a ``get`` per action it might skip, a ``put`` per
output it stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "gocache.jsonl"  # in a check run's reports
FIELDS = ("gets", "hits", "misses", "puts", "errors", "rejected")


@dataclass(frozen=True)
class Lookups:
    """Summed counts of one or more go commands (``runs`` of them)."""

    runs: int = 0
    gets: int = 0
    hits: int = 0
    misses: int = 0
    puts: int = 0
    errors: int = 0
    rejected: int = 0

    @property
    def hit_ratio(self) -> float:
        """Hits over lookups (0 without lookups)."""
        return self.hits / self.gets if self.gets else 0.0

    def text(self, remote: str = "") -> str:
        """One line: ``shared cache s3://b/p: 412 of 430 lookups hit (95.8 %), ...``."""
        where = f" {remote}" if remote else ""
        line = (
            f"shared cache{where}: {self.hits} of {self.gets} lookups hit "
            f"({100 * self.hit_ratio:.1f} %), {self.puts} puts"
        )
        if self.errors:
            line += f", {self.errors} failed"
        if self.rejected:
            line += f", {self.rejected} corrupt object(s) rejected and rebuilt"
        return line

    def to_json(self) -> dict[str, int]:
        """A JSON-ready dict."""
        return {"runs": self.runs, **{name: getattr(self, name) for name in FIELDS}}


def read(path: Path) -> Lookups:
    """The sum of ``path``'s lines (no file, no lookups; a torn line is skipped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Lookups()
    return parse(text)


def parse(text: str) -> Lookups:
    """The sum of the lines of ``text`` (see :func:`read`)."""
    totals = dict.fromkeys(FIELDS, 0)
    runs = 0
    for line in text.splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        runs += 1
        for name in FIELDS:
            value = data.get(name, 0)
            totals[name] += value if isinstance(value, int) else 0
    return Lookups(runs, **totals)

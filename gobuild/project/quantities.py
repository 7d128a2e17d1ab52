"""Sizes, percentages, durations and CPU counts, as gobuild.toml and the command line
write them: one parser each, raising ValueError with a message that needs no context."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

MAX_CPUS = 4096
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_TIME = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$")
_TIME_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_size(text: str) -> int:
    """``"2GiB"``, ``"512MiB"``, ``"1.5G"``, ``"1073741824"`` → bytes, or ValueError."""
    m = _SIZE.match(text)
    unit = m[2].lower() if m else ""
    if not m or unit not in _SIZE_UNITS:
        raise ValueError(
            f"{text!r} is not a size: use a number with B, KiB, MiB, GiB, TiB (or KB, MB, GB)"
        )
    value = int(float(m[1]) * _SIZE_UNITS[unit])
    if value <= 0:
        raise ValueError(f"{text!r}: a memory size must be positive")
    return value


def parse_percent(text: str) -> float | None:
    """``"50%"`` → 50.0; None when ``text`` is not a percentage; ValueError outside 1-100%."""
    body = text.strip()
    if not body.endswith("%"):
        return None
    try:
        value = float(body[:-1])
    except ValueError:
        value = 0.0
    if not 0 < value <= 100:
        raise ValueError(f"{text!r}: a percentage of the host's memory is 1-100%")
    return value


def parse_duration(text: str) -> float:
    """``"10m"``, ``"90s"``, ``"1.5h"`` → seconds, or ValueError."""
    m = _TIME.match(text.strip())
    if not m or float(m[1]) <= 0:
        raise ValueError(f"{text!r} is not a positive duration like 90s, 10m, 1h")
    return float(m[1]) * _TIME_UNITS[m[2]]


def check_cpus(value: float) -> float:
    """A CPU count above 0 and at most :data:`MAX_CPUS` (fractions allowed), or ValueError."""
    if not (math.isfinite(value) and 0 < value <= MAX_CPUS):
        raise ValueError(f"{value:g} is not a CPU count: use a number above 0, at most {MAX_CPUS}")
    return float(value)


def parse_cpus(text: str) -> float:
    """``"2"``, ``"0.5"`` → CPUs, or ValueError (also for nan, inf, 0 and negatives)."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of CPUs like 2 or 0.5") from None
    return check_cpus(value)


@dataclass(frozen=True)
class Memory:
    """A memory amount: bytes, or a percentage of the host's memory."""

    text: str
    size: int | None = None
    percent: float | None = None

    @classmethod
    def parse(cls, text: str) -> Memory:
        """``"8GiB"``, ``"50%"``; ValueError for anything else, zero included."""
        percent = parse_percent(text)
        if percent is not None:
            return cls(text, percent=percent)
        return cls(text, size=parse_size(text))

    def of(self, total: int) -> int:
        """Bytes, given the host's ``total`` memory (for a percentage)."""
        return int(total * self.percent / 100) if self.percent is not None else self.size or 0

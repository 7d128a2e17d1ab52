"""Benchmark results: parsing Go's benchmark lines and comparing two runs.

``benchstat`` does the comparison when it is installed (:func:`benchstat_compare`);
otherwise gobuild's own statistics (:func:`compare`, :func:`format_compare`): mean,
coefficient of variation and a two-sided Mann-Whitney U test, the test benchstat
uses, with the same alpha of 0.05.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gobuild import proc
from gobuild.checks.junit import parse_event
from gobuild.errors import GobuildError

# Significance level of the U test; benchstat's default.
ALPHA = 0.05

# The exact null distribution is used up to these sample sizes (benchstat's limits);
# beyond them the normal approximation is accurate and the exact one gets expensive.
EXACT_LIMIT = 50
EXACT_LIMIT_TIES = 25

METHOD_NOTE = (
    "gobuild's own comparison: mean ± coefficient of variation over {runs} runs, "
    "two-sided Mann-Whitney U test, differences with p ≥ 0.05 shown as ~ "
    "(benchstat not found on PATH)"
)


@dataclass(frozen=True)
class Row:
    """One benchmark and unit compared; the side a benchmark is missing from is None."""

    name: str
    unit: str
    old_mean: float | None
    new_mean: float | None
    old_cv: float | None
    new_cv: float | None
    n_old: int
    n_new: int
    delta: float | None  # (new - old) / old; None when a side is missing or old is 0
    p_value: float | None  # two-sided Mann-Whitney U; None when a side is missing

    @property
    def significant(self) -> bool:
        """Whether the difference is significant at :data:`ALPHA` (else shown as ``~``)."""
        return self.p_value is not None and self.p_value < ALPHA


def parse_bench(text: str) -> dict[str, list[dict[str, float]]]:
    """Benchmark results by name, one ``{unit: value}`` dict per run, in input order.

    Reads Go's benchmark format (plain, or inside a ``go test -json`` stream). The key is
    ``pkg.BenchmarkName`` after a ``pkg:`` line, else the plain name. The ``-N``
    GOMAXPROCS suffix is stripped when every result line in ``text`` carries the same one,
    so runs on machines with different core counts compare; with mixed suffixes
    (``-cpu 1,2``) names are kept as printed, so the variants stay apart.
    """
    found: list[tuple[str | None, str, dict[str, float]]] = []
    for chunk in _bench_chunks(text):
        pkg: str | None = None  # config lines hold until the next one, within a chunk
        for line in chunk.splitlines():
            if line.startswith("pkg:"):
                pkg = line[4:].strip() or None
                continue
            parsed = _bench_line(line)
            if parsed is not None:
                found.append((pkg, *parsed))
    suffixes = {_procs_suffix(name) for _, name, _ in found}
    strip = len(suffixes) == 1 and None not in suffixes
    results: dict[str, list[dict[str, float]]] = {}
    for pkg, name, metrics in found:
        base = name.rsplit("-", 1)[0] if strip else name
        results.setdefault(f"{pkg}.{base}" if pkg else base, []).append(metrics)
    return results


def _bench_chunks(text: str) -> list[str]:
    """The plain text, and per package the Output of any test2json events in it."""
    plain: list[str] = []
    by_package: dict[str, list[str]] = {}
    for line in text.splitlines():
        event = parse_event(line)
        if event is None:
            plain.append(line + "\n")
        elif isinstance(event.get("Output"), str):
            # Result lines arrive split over several events; join per package first.
            by_package.setdefault(str(event.get("Package", "")), []).append(event["Output"])
    return ["".join(plain)] + ["".join(out) for out in by_package.values()]


def _bench_line(line: str) -> tuple[str, dict[str, float]] | None:
    fields = line.split()
    # name, iterations, then at least one "value unit" pair.
    if len(fields) < 4 or len(fields) % 2 or not fields[0].startswith("Benchmark"):
        return None
    name = fields[0]
    if len(name) > 9 and name[9].islower():  # "Benchmarking", not a benchmark
        return None
    try:
        int(fields[1])
        pairs = {fields[i + 1]: float(fields[i]) for i in range(2, len(fields), 2)}
    except ValueError:
        return None
    return name, pairs


def _procs_suffix(name: str) -> str | None:
    head, sep, tail = name.rpartition("-")
    return tail if sep and head and tail.isdigit() else None


def bench_cv(text: str) -> dict[str, float]:
    """Coefficient of variation of ns/op per benchmark (those with at least two runs)."""
    results = parse_bench(text)
    samples = {name: _values(runs, "ns/op") for name, runs in results.items()}
    if not any(samples.values()):
        raise GobuildError("no benchmark results with ns/op in the input")
    out: dict[str, float] = {}
    for name, values in samples.items():
        cv = _cv(values)
        if cv is not None:
            out[name] = cv
    return out


def compare(old: str, new: str) -> list[Row]:
    """Compare two benchmark outputs: one row per benchmark and unit, grouped by unit.

    Benchmarks (or units) present on one side only get a row with the other side None.
    """
    before, after = parse_bench(old), parse_bench(new)
    if not before:
        raise GobuildError("the old benchmark output has no benchmark result lines")
    if not after:
        raise GobuildError("the new benchmark output has no benchmark result lines")
    names = list(before) + [name for name in after if name not in before]
    units: dict[str, None] = {}  # ordered set: units in order of first appearance
    for results in (before, after):
        for runs in results.values():
            for run in runs:
                units.update(dict.fromkeys(run))
    rows = []
    for unit in units:
        for name in names:
            xs = _values(before.get(name, []), unit)
            ys = _values(after.get(name, []), unit)
            if xs or ys:
                rows.append(_row(name, unit, xs, ys))
    return rows


def _values(runs: list[dict[str, float]], unit: str) -> list[float]:
    return [run[unit] for run in runs if unit in run]


def _row(name: str, unit: str, xs: list[float], ys: list[float]) -> Row:
    old = statistics.fmean(xs) if xs else None
    new = statistics.fmean(ys) if ys else None
    delta = (new - old) / old if old is not None and new is not None and old != 0 else None
    p = mann_whitney_p(xs, ys) if xs and ys else None
    return Row(name, unit, old, new, _cv(xs), _cv(ys), len(xs), len(ys), delta, p)


def _cv(values: Sequence[float]) -> float | None:
    if len(values) < 2:
        return None
    spread = statistics.stdev(values)
    if spread == 0:
        return 0.0
    mean = statistics.fmean(values)
    return spread / abs(mean) if mean != 0 else None


def format_compare(rows: Sequence[Row]) -> str:
    """A plain-text table of :func:`compare` rows followed by a note on the method."""
    table = [("name", "unit", "old", "new", "delta", "p", "n")]
    for row in rows:
        table.append(
            (
                row.name,
                row.unit,
                _cell(row.old_mean, row.old_cv),
                _cell(row.new_mean, row.new_cv),
                _delta(row),
                "-" if row.p_value is None else f"{row.p_value:.3f}",
                f"{row.n_old}/{row.n_new}",
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in table
    ]
    counts = sorted({n for row in rows for n in (row.n_old, row.n_new) if n})
    runs = f"{counts[0]}-{counts[-1]}" if len(counts) > 1 else str(counts[0]) if counts else "0"
    return "\n".join([*lines, "", METHOD_NOTE.format(runs=runs)]) + "\n"


def _cell(mean: float | None, cv: float | None) -> str:
    if mean is None:
        return "-"
    return _number(mean) if cv is None else f"{_number(mean)} ± {cv * 100:.0f}%"


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def _delta(row: Row) -> str:
    if row.p_value is None:
        return "-"
    if not row.significant:
        return "~"
    return "n/a" if row.delta is None else f"{row.delta * 100:+.2f}%"


def benchstat_compare(
    old_path: str | os.PathLike[str], new_path: str | os.PathLike[str], benchstat: str
) -> str:
    """benchstat's comparison of two saved benchmark outputs (its stdout)."""
    for path in (old_path, new_path):
        if not Path(path).is_file():
            raise GobuildError(f"benchmark results file not found: {os.fspath(path)}")
    return proc.run([benchstat, old_path, new_path], timeout=300).stdout


# -------------------------------------------------------------------- Mann-Whitney U test


def mann_whitney_p(x: Sequence[float], y: Sequence[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test that ``x`` and ``y`` differ in location.

    Exact (tie-aware) null distribution for samples of up to 50 values each (25 with ties),
    else the normal approximation with tie and continuity correction, as benchstat does;
    without ties the p-values are benchstat's. Samples whose values are all equal give 1.
    """
    n1, n2 = len(x), len(y)
    if not n1 or not n2:
        raise GobuildError("the Mann-Whitney U test needs at least one value on each side")
    merged = sorted([(v, 0) for v in x] + [(v, 1) for v in y])
    groups: list[tuple[int, int]] = []  # tie groups in order: (size, how many from x)
    i = 0
    while i < len(merged):
        j = i
        while j < len(merged) and merged[j][0] == merged[i][0]:
            j += 1
        groups.append((j - i, sum(1 for _, side in merged[i:j] if side == 0)))
        i = j
    # Work with 2*U so midranks stay integers: 2*U1 = 2*R1 - n1*(n1+1).
    rank_sum2, start = 0, 0
    for size, from_x in groups:
        rank_sum2 += from_x * (2 * start + size + 1)
        start += size
    u1 = rank_sum2 - n1 * (n1 + 1)
    u2 = 2 * n1 * n2 - u1
    if len(groups) == 1 or u1 == u2:
        return 1.0
    ties = any(size > 1 for size, _ in groups)
    limit = EXACT_LIMIT_TIES if ties else EXACT_LIMIT
    if n1 <= limit and n2 <= limit:
        counts = _u_counts_ties(groups, n1, n2) if ties else _u_counts(n1, n2)
        # Two-sided: every U at least as far from the middle as the one observed. With
        # ties the distribution is not symmetric; benchstat doubles one tail instead,
        # which makes its p depend on which sample comes first.
        far = abs(u1 - n1 * n2)
        extreme = sum(c for u, c in enumerate(counts) if abs(u - n1 * n2) >= far)
        return min(1.0, extreme / math.comb(n1 + n2, n1))
    n = n1 + n2
    tie_term = sum(size**3 - size for size, _ in groups)
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
    centred = u1 / 2 - n1 * n2 / 2
    z = (abs(centred) - 0.5) / sigma
    return min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2)))


def _u_counts(n1: int, n2: int) -> list[int]:
    """How many arrangements give each 2*U (no ties): the Gaussian binomial [n1+n2, n1]."""
    # prod_{i=1..n1} (1 - q^(n2+i)) / (1 - q^i); coefficient k counts arrangements with U=k.
    poly = [1]
    for i in range(1, n1 + 1):
        shift = n2 + i
        poly = poly + [0] * shift
        for k in range(len(poly) - 1, shift - 1, -1):
            poly[k] -= poly[k - shift]
        for k in range(i, len(poly)):
            poly[k] += poly[k - i]
        poly = poly[: i * n2 + 1]
    doubled = [0] * (2 * n1 * n2 + 1)
    doubled[::2] = poly
    return doubled


def _u_counts_ties(groups: list[tuple[int, int]], n1: int, n2: int) -> list[int]:
    """How many ways to pick ``n1`` of the pooled values give each 2*U, given the ties."""
    # states[k][u2] = ways to have chosen k values for x so far with partial 2*U = u2.
    states: list[dict[int, int]] = [{0: 1}] + [{} for _ in range(n1)]
    before = 0
    for size, _ in groups:
        new: list[dict[int, int]] = [{} for _ in range(n1 + 1)]
        for k, row in enumerate(states):
            ys_before = before - k
            if not row or ys_before < 0 or ys_before > n2:
                continue
            for j in range(min(size, n1 - k) + 1):
                # Each chosen x beats the ys before it and ties with the ys in its group.
                gain = 2 * j * ys_before + j * (size - j)
                ways = math.comb(size, j)
                target = new[k + j]
                for u, count in row.items():
                    target[u + gain] = target.get(u + gain, 0) + count * ways
        states = new
        before += size
    counts = [0] * (2 * n1 * n2 + 1)
    for u, count in states[n1].items():
        counts[u] = count
    return counts

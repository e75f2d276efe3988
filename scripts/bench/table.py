"""The one table the benchmark prints: each figure per route, the target of issue 8 it is held
to, and whether it was met. Pure formatting: figures in, text out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MET, NOT_MET, INFO, NA = "met", "NOT MET", "", "n/a"


@dataclass(frozen=True)
class Row:
    figure: str
    direct: str = ""
    socat: str = ""
    record: str = ""
    target: str = ""
    result: str = INFO


def verdict(ok: bool | None) -> str:
    return NA if ok is None else (MET if ok else NOT_MET)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def mb(n: float) -> str:
    """Bytes as MB (10^6), with a decimal below 10 MB."""
    return f"{n / 1e6:,.1f} MB" if n < 10e6 else f"{n / 1e6:,.0f} MB"


def render(rows: Sequence[Row]) -> str:
    header = Row("figure", "direct", "socat", "record", "target (issue 8)", "result")
    cells = [[r.figure, r.direct, r.socat, r.record, r.target, r.result] for r in (header, *rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(6)]
    lines = []
    for n, row in enumerate(cells):
        lines.append(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)

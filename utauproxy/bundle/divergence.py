"""`--until-divergence REPORT`: where in the capture the first divergence of a replay report
(`utauproxy replay --json`, utauproxy/replay/render.py to_json) happened. Pure.

The trimmed capture keeps everything up to the recorded message the first divergence names,
plus MARGIN_S seconds, so that the replies and pings right after it stay in (what the peer
did next is often the interesting part). The recorded message is found by its connection and
index in the replay script (its position among the connection's complete lines, both
directions, CONTINUED pieces counting once; replay/script.py). A divergence that names only
what arrived live (`unexpected`) is placed at its arrival time after the connection's start,
which is the replay's time, not the recording's: close, not exact. A connection divergence
without a message keeps the whole connection.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from utauproxy.bundle.trim import NS, to_ns
from utauproxy.records import (
    ConnectionRecord,
    GapRecord,
    MessageFlags,
    MessageRecord,
    Record,
)

MARGIN_S = 2.0


@dataclass(frozen=True, slots=True)
class DivergencePoint:
    """The first divergence of a replay report, as far as it locates a message."""

    conn: int
    kind: str
    label: str
    index: int | None  # the recorded message's index in its connection's script
    seconds: float | None  # since the connection's first record (recorded or live)


def first_divergence(report: Mapping[str, Any]) -> DivergencePoint:
    """The first divergence of a `replay --json` report. ValueError when the report has none
    or is not such a report."""
    divergences = report.get("divergences")
    if not isinstance(divergences, list):
        raise ValueError("not a `utauproxy replay --json` report (no \"divergences\" list)")  # noqa: TRY004
    if not divergences:
        raise ValueError("the replay report has no divergence: nothing to trim to")
    first = divergences[0]
    if not isinstance(first, Mapping) or not isinstance(first.get("conn"), int):
        raise ValueError("the replay report's first divergence has no connection number")  # noqa: TRY004
    expected, actual = first.get("expected"), first.get("actual")
    kind = str(first.get("kind", "?"))
    if isinstance(expected, Mapping):
        return DivergencePoint(first["conn"], kind, str(expected.get("label", "?")),
                               _int(expected.get("index")), _float(expected.get("seconds")))
    if isinstance(actual, Mapping):
        return DivergencePoint(first["conn"], kind, str(actual.get("label", "?")), None,
                               _float(actual.get("seconds")))
    return DivergencePoint(first["conn"], kind, "(connection)", None, None)


def locate(records: Iterable[Record], point: DivergencePoint) -> int:
    """The capture time (ns) of the divergent message. ValueError when the capture has no
    such connection."""
    start: int | None = None
    last: int | None = None
    line = 0
    for record in records:
        if not isinstance(record, MessageRecord | ConnectionRecord | GapRecord) or record.conn != point.conn:
            continue
        start = record.ts_ns if start is None else start
        last = record.ts_ns
        if not isinstance(record, MessageRecord) or record.flags & MessageFlags.CONTINUED:
            continue
        if point.index is not None and line == point.index:
            return record.ts_ns
        line += 1
    if start is None or last is None:
        raise ValueError(f"the capture has no connection #{point.conn} (is the report about "
                         "another capture?)")
    if point.seconds is not None:
        return start + to_ns(point.seconds)
    return last


def until_ns(records: Iterable[Record], point: DivergencePoint, margin_s: float = MARGIN_S) -> int:
    """The upper bound of the kept window: the divergent message plus the margin."""
    return locate(records, point) + to_ns(margin_s)


def describe(point: DivergencePoint, at_ns: int) -> str:
    where = f"recorded message #{point.index}" if point.index is not None else "its arrival"
    return (f"first divergence: {point.kind} {point.label} on connection #{point.conn} "
            f"({where}, capture time {at_ns / NS:.3f} s)")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None

"""Request latency per kind (response time minus request time, matched by id per connection)
and its percentiles.

`LatencyRecorder` needs only message headers, so a recorder can feed it every record and put
`summary()` into the footer's `extra["latency"]`; `info` then shows percentiles without a scan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeGuard

from utauproxy.inspect.correlate import Answer, Outcome, RequestTracker
from utauproxy.inspect.decode import DecodedMessage
from utauproxy.protocol.events import Message
from utauproxy.protocol.framer import classify_line
from utauproxy.protocol.header import HeaderType
from utauproxy.records import MessageFlags, MessageRecord

EXTRA_KEY = "latency"


def percentile(sorted_values: list[int], fraction: float) -> int:
    """Nearest-rank percentile of an ascending, non-empty list."""
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(frozen=True, slots=True)
class KindLatency:
    kind: str
    count: int
    p50_ns: int
    p99_ns: int
    max_ns: int

    def as_dict(self) -> dict[str, int]:
        return {"count": self.count, "p50_ns": self.p50_ns, "p99_ns": self.p99_ns, "max_ns": self.max_ns}


class LatencyStats:
    """Latencies collected per request kind."""

    def __init__(self) -> None:
        self._samples: dict[str, list[int]] = {}

    def add(self, kind: str, latency_ns: int) -> None:
        self._samples.setdefault(kind, []).append(latency_ns)

    def add_answer(self, answer: Answer) -> None:
        if answer.outcome is Outcome.MATCHED and answer.request is not None and answer.latency_ns is not None:
            self.add(answer.request.kind, answer.latency_ns)

    def per_kind(self) -> list[KindLatency]:
        """One entry per kind, in kind order."""
        result = []
        for kind in sorted(self._samples):
            values = sorted(self._samples[kind])
            result.append(KindLatency(kind, len(values), percentile(values, 0.5),
                                      percentile(values, 0.99), values[-1]))
        return result

    def summary(self) -> dict[str, dict[str, int]]:
        """The footer `extra["latency"]` map: kind -> count, p50_ns, p99_ns, max_ns."""
        return {entry.kind: entry.as_dict() for entry in self.per_kind()}


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def latency_from_extra(extra: dict[str, Any]) -> list[KindLatency] | None:
    """Percentiles a writer put in the footer's extra map, or None when there are none (or
    they have an unexpected shape)."""
    table = extra.get(EXTRA_KEY)
    if not isinstance(table, dict):
        return None
    result = []
    for kind, entry in sorted(table.items()):
        if not isinstance(entry, dict):
            return None
        count, p50, p99 = entry.get("count"), entry.get("p50_ns"), entry.get("p99_ns")
        maximum = entry.get("max_ns", p99)
        if not (_is_int(count) and _is_int(p50) and _is_int(p99) and _is_int(maximum)):
            return None
        result.append(KindLatency(str(kind), count, p50, p99, maximum))
    return result


_NOT_A_LINE = int(MessageFlags.FRAME | MessageFlags.CONTINUED)


class LatencyRecorder:
    """Feed it every message record as it is written; cheap (headers only)."""

    def __init__(self) -> None:
        self._tracker = RequestTracker()
        self.stats = LatencyStats()

    def observe(self, record: MessageRecord) -> None:
        if int(record.flags) & _NOT_A_LINE:  # plain ints: IntFlag `&` builds enum members
            return
        event = classify_line(record.raw, validate=False)
        if not isinstance(event, Message):
            return
        message = DecodedMessage(0, record.ts_ns, record.conn, record.direction, event, (record,), False)
        if event.header.type is HeaderType.REQUEST:
            self._tracker.request(message)
        elif event.header.type is HeaderType.RESPONSE:
            self.stats.add_answer(self._tracker.response(message))

    def forget_connection(self, conn: int) -> None:
        self._tracker.close_connection(conn)

    def summary(self) -> dict[str, dict[str, int]]:
        return self.stats.summary()


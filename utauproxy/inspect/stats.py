"""The numbers `info` shows, from the footer (no scan) or from a scan of the records.

Both paths fill the same CaptureStats, counted the way the writer counts them for the footer
(a record per message, labels by `message_label`), so a scan and a footer agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from utauproxy.capture.footer import Footer
from utauproxy.inspect.correlate import RequestTracker
from utauproxy.inspect.decode import Decoded, DecodedMessage, OtherRecord
from utauproxy.inspect.latency import LatencyStats
from utauproxy.protocol.events import AudioFrame, Message
from utauproxy.protocol.header import HeaderType, message_label
from utauproxy.protocol.version import VersionDetector, VersionGuess
from utauproxy.records import (
    ConnectionRecord,
    DiscoveryRecord,
    Direction,
    GapRecord,
    MessageRecord,
    Record,
    record_type_name,
)



@dataclass(slots=True)
class Count:
    count: int = 0
    bytes: int = 0


@dataclass(slots=True)
class ConnStats:
    conn: int
    first_ts_ns: int
    last_ts_ns: int
    messages: int = 0
    bytes_by_direction: list[int] = field(default_factory=lambda: [0, 0])


@dataclass(slots=True)
class CaptureStats:
    """`source` is "footer" or "scan"."""

    source: str
    records: int = 0
    messages: int = 0
    wire_bytes: int = 0
    first_ts_ns: int | None = None
    last_ts_ns: int | None = None
    by_type: dict[str, int] = field(default_factory=dict)
    by_label: dict[str, Count] = field(default_factory=dict)
    by_direction: dict[Direction, Count] = field(default_factory=lambda: {d: Count() for d in Direction})
    connections: dict[int, ConnStats] = field(default_factory=dict)
    lost_bytes: int = 0
    lost_messages: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def stats_from_footer(footer: Footer) -> CaptureStats:
    """The footer's numbers as CaptureStats (no record is read)."""
    return CaptureStats(
        source="footer",
        records=footer.records,
        messages=footer.messages,
        wire_bytes=footer.wire_bytes,
        first_ts_ns=footer.first_ts_ns,
        last_ts_ns=footer.last_ts_ns,
        by_type=dict(footer.by_type),
        by_label={label: Count(t.count, t.bytes) for label, t in footer.by_label.items()},
        by_direction={d: Count(t.count, t.bytes) for d, t in footer.by_direction.items()},
        connections={c.conn: ConnStats(c.conn, c.first_ts_ns, c.last_ts_ns, c.messages,
                                       list(c.bytes_by_direction)) for c in footer.connections},
        lost_bytes=footer.lost_bytes,
        lost_messages=footer.lost_messages,
        extra=dict(footer.extra),
    )


class StatsScanner:
    """Builds CaptureStats (plus latency and a version guess) from decoded items."""

    def __init__(self) -> None:
        self.stats = CaptureStats(source="scan")
        self.latency = LatencyStats()
        self._tracker = RequestTracker()
        self._detector = VersionDetector()

    def add(self, item: Decoded) -> None:
        if isinstance(item, OtherRecord):
            self._count_record(item.record)
            if isinstance(item.record, DiscoveryRecord):
                version = item.record.entry.get("api_version") or item.record.entry.get("apiVersion")
                if version:
                    self._detector.observe_discovery({"apiVersion": version})
            return
        label = message_label(item.records[0].raw)
        for record in item.records:
            self._count_record(record, label)
        event = item.event
        if isinstance(event, Message | AudioFrame):
            self._detector.observe(item.direction, event)
        if isinstance(event, Message):
            self._correlate(item, event)

    @property
    def version(self) -> VersionGuess:
        return self._detector.result()

    def _correlate(self, item: DecodedMessage, event: Message) -> None:
        if event.header.type is HeaderType.REQUEST:
            self._tracker.request(item)
        elif event.header.type is HeaderType.RESPONSE:
            self.latency.add_answer(self._tracker.response(item))

    def _count_record(self, record: Record, label: str = "") -> None:
        stats = self.stats
        stats.records += 1
        name = record_type_name(record)
        stats.by_type[name] = stats.by_type.get(name, 0) + 1
        ts = record.ts_ns
        stats.first_ts_ns = ts if stats.first_ts_ns is None else min(stats.first_ts_ns, ts)
        stats.last_ts_ns = ts if stats.last_ts_ns is None else max(stats.last_ts_ns, ts)
        if isinstance(record, MessageRecord | ConnectionRecord | GapRecord):
            conn = stats.connections.setdefault(record.conn, ConnStats(record.conn, ts, ts))
            conn.first_ts_ns, conn.last_ts_ns = min(conn.first_ts_ns, ts), max(conn.last_ts_ns, ts)
        if isinstance(record, GapRecord):
            stats.lost_bytes += record.lost_bytes
            stats.lost_messages += record.lost_messages
        if isinstance(record, MessageRecord):
            self._count_message(record, label)

    def _count_message(self, record: MessageRecord, label: str) -> None:
        stats, size = self.stats, record.wire_len
        stats.messages += 1
        stats.wire_bytes += size
        for count in (stats.by_label.setdefault(label, Count()), stats.by_direction[record.direction]):
            count.count += 1
            count.bytes += size
        conn = stats.connections[record.conn]
        conn.messages += 1
        conn.bytes_by_direction[record.direction] += size

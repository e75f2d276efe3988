"""What the relay saw, turned into capture records: chunks of bytes per connection and
direction, their ends, lost stretches, and ready-made records (connection events, discovery).

One RecordingFeed serves both places the recording work can run: the recorder's capture
process (proxy/capture_child.py) and InlineCapture (proxy/capture_input.py). Not thread-safe:
its caller serialises the calls, in the order the relay saw things.
"""

from __future__ import annotations

from collections.abc import Callable

from utauproxy.protocol.events import Dialect
from utauproxy.proxy.tap import ConnectionTap, TrafficStats
from utauproxy.records import ConnectionRecord, ConnEvent, Direction, GapRecord, Record

LOST_REASON = "the recorder fell behind the wire"


class RecordingFeed:
    """One ConnectionTap per open connection; counts connections for the status line."""

    def __init__(self, emit: Callable[[Record], None], stats: TrafficStats,
                 dialect: Dialect = Dialect.AUTO) -> None:
        self._emit = emit
        self.stats = stats
        self._dialect = dialect
        self._taps: dict[int, ConnectionTap] = {}

    def chunk(self, ts_ns: int, conn: int, direction: Direction, data: bytes) -> None:
        """`data` crossed the wire in `direction` at `ts_ns` (or is about to)."""
        self._tap(conn).feed(direction, data, ts_ns)

    def finish(self, ts_ns: int, conn: int, direction: Direction) -> None:
        """`direction` of `conn` ended: a partial line is recorded as it is."""
        self._tap(conn).finish(direction, ts_ns)

    def lost(self, ts_ns: int, conn: int, direction: Direction, lost_bytes: int, lost_lines: int,
             ends_on_line_end: bool) -> None:
        """Bytes that were forwarded but never reached the feed."""
        gap = GapRecord(ts_ns, conn, direction, lost_bytes, lost_lines, LOST_REASON)
        self._tap(conn).lose(direction, gap, ends_on_line_end=ends_on_line_end)

    def record(self, record: Record) -> None:
        """A record made elsewhere (connection events, discovery), in its place in the order."""
        if isinstance(record, ConnectionRecord):
            self._count(record)
        self._emit(record)

    def _count(self, record: ConnectionRecord) -> None:
        if record.event is ConnEvent.OPEN:
            self._tap(record.conn)
            self.stats.connections_open += 1
            self.stats.connections_total += 1
        elif record.event is ConnEvent.CLOSED and self._taps.pop(record.conn, None) is not None:
            self.stats.connections_open -= 1

    def _tap(self, conn: int) -> ConnectionTap:
        tap = self._taps.get(conn)
        if tap is None:
            tap = self._taps[conn] = ConnectionTap(conn, self._dialect, self._emit, self.stats)
        return tap

"""The recording side of one proxied connection: a framer per direction reads a copy of the
bytes and turns complete messages into records. It never touches what is forwarded."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from utauproxy.protocol.events import (
    AudioFrame,
    Dialect,
    EndOfStream,
    Event,
    LinePiece,
    Malformed,
    Message,
)
from utauproxy.protocol.framer import Framer
from utauproxy.protocol.header import HeaderType, message_label
from utauproxy.records import Direction, GapRecord, MessageFlags, MessageRecord, Record


@dataclass
class TrafficStats:
    """Live counters for the status line; shared by every connection of one recorder."""

    messages: Counter[str] = field(default_factory=Counter)
    wire_bytes: Counter[Direction] = field(default_factory=Counter)
    connections_open: int = 0
    connections_total: int = 0
    # (direction, label, wire length) of the latest message; formatted only when shown.
    last: tuple[Direction, str, int] | None = None

    @property
    def total_messages(self) -> int:
        return sum(self.messages.values())

    @property
    def last_message(self) -> str:
        if self.last is None:
            return ""
        direction, label, size = self.last
        return f"{direction.arrow} {label} ({size:,} B)"


def event_to_record(event: Event, ts_ns: int, conn: int, direction: Direction) -> MessageRecord | None:
    """The capture record for one framer event; None for events that carry no bytes."""
    if isinstance(event, (Message, Malformed)):
        flags = MessageFlags.NONE if event.terminated else MessageFlags.NO_LF
        return MessageRecord(ts_ns, conn, direction, event.raw, flags)
    if isinstance(event, AudioFrame):
        return MessageRecord(ts_ns, conn, direction, event.raw, MessageFlags.FRAME)
    if isinstance(event, LinePiece):
        if not event.final:
            flags = MessageFlags.CONTINUED
        else:
            flags = MessageFlags.NONE if event.terminated else MessageFlags.NO_LF
        return MessageRecord(ts_ns, conn, direction, event.raw, flags)
    assert isinstance(event, EndOfStream)
    return None


class ConnectionTap:
    """Frames both directions of one connection and emits MessageRecords. Not thread-safe:
    its owner (RecordingFeed) serialises the calls."""

    def __init__(self, conn: int, dialect: Dialect, emit: Callable[[Record], None],
                 stats: TrafficStats) -> None:
        self.conn = conn
        self._emit = emit
        self._stats = stats
        self._dialect = dialect
        self._framers = {d: Framer(dialect, validate=False) for d in Direction}
        self._finished: set[Direction] = set()
        self._resyncing: set[Direction] = set()

    def feed(self, direction: Direction, data: bytes, ts_ns: int) -> None:
        """Bytes of `direction` as they were forwarded, seen at `ts_ns`; b"" when that
        direction ended."""
        self._stats.wire_bytes[direction] += len(data)
        if data and direction in self._finished:
            return  # a framer that saw its end takes nothing more
        if data and direction in self._resyncing:
            data = self._skip_to_line_start(direction, data)
            if not data:
                return
        self._frame(direction, data, ts_ns)

    def finish(self, direction: Direction, ts_ns: int) -> None:
        """`direction` ended (FIN, reset or teardown): report any partial line. Idempotent."""
        if direction not in self._finished:
            self._finished.add(direction)
            self._resyncing.discard(direction)
            self.feed(direction, b"", ts_ns)

    def lose(self, direction: Direction, gap: GapRecord, *, ends_on_line_end: bool) -> None:
        """Bytes of `direction` never reached us (the recorder fell behind): the line they
        interrupted is reported as cut, the gap is recorded, and framing starts again at the
        next line (a lost stretch that ended on an LF needs no skipping)."""
        self._stats.wire_bytes[direction] += gap.lost_bytes
        self._frame(direction, b"", gap.ts_ns)  # the end of the stream to the framer: the cut line
        self._emit(gap)
        self._framers[direction] = Framer(self._dialect, validate=False)
        if not ends_on_line_end:
            self._resyncing.add(direction)

    def _frame(self, direction: Direction, data: bytes, ts_ns: int) -> None:
        """Feed `direction`'s framer and emit the messages it completes."""
        framer = self._framers[direction]
        framer.receive_data(data)
        for event in framer:
            record = event_to_record(event, ts_ns, self.conn, direction)
            if record is not None:
                self._count(record, event)
                self._emit(record)

    def _skip_to_line_start(self, direction: Direction, data: bytes) -> bytes:
        end = data.find(b"\n")
        if end < 0:
            return b""
        self._resyncing.discard(direction)
        return data[end + 1:]

    def _count(self, record: MessageRecord, event: Event) -> None:
        # Flags compared by value, not with `&`: IntFlag arithmetic builds enum members, which
        # costs more than the rest of this function (one call per message on the hot path).
        flags = record.flags
        if flags == MessageFlags.FRAME:
            label = "audio-frame"
        elif type(event) is Message and event.header.type in _PARSED_AS_IS:
            label = event.header.label  # the framer parsed this header already
        else:
            label = message_label(record.raw)
        self._stats.messages[label] += 1
        # event_to_record sets exactly one flag; only NONE has an LF on the wire.
        self._stats.last = (record.direction, label, len(record.raw) + (0 if flags else 1))


# Header types the framer's classify_line keeps exactly as parse_header gives them (it turns
# some CLOSE and FRAME headers into OTHER), so their label equals message_label(raw).
_PARSED_AS_IS = frozenset({HeaderType.REQUEST, HeaderType.RESPONSE, HeaderType.NOTIFICATION})

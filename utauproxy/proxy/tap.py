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
from utauproxy.protocol.header import message_label
from utauproxy.records import Direction, MessageFlags, MessageRecord, Record


@dataclass
class TrafficStats:
    """Live counters for the status line; shared by every connection of one recorder."""

    messages: Counter[str] = field(default_factory=Counter)
    wire_bytes: Counter[Direction] = field(default_factory=Counter)
    connections_open: int = 0
    connections_total: int = 0
    last_message: str = ""

    @property
    def total_messages(self) -> int:
        return sum(self.messages.values())


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
    """Frames both directions of one connection and emits MessageRecords."""

    def __init__(
        self,
        conn: int,
        dialect: Dialect,
        emit: Callable[[Record], None],
        clock: Callable[[], int],
        stats: TrafficStats,
    ) -> None:
        self.conn = conn
        self._emit = emit
        self._clock = clock
        self._stats = stats
        self._framers = {d: Framer(dialect, validate=False) for d in Direction}
        self._finished: set[Direction] = set()

    def feed(self, direction: Direction, data: bytes) -> None:
        """Bytes that were just forwarded in `direction`; b"" when that direction ended."""
        framer = self._framers[direction]
        framer.receive_data(data)
        self._stats.wire_bytes[direction] += len(data)
        ts_ns = self._clock()
        for event in framer:
            record = event_to_record(event, ts_ns, self.conn, direction)
            if record is not None:
                self._count(record)
                self._emit(record)

    def finish(self, direction: Direction) -> None:
        """`direction` ended (FIN, reset or teardown): report any partial line. Idempotent."""
        if direction not in self._finished:
            self._finished.add(direction)
            self.feed(direction, b"")

    def _count(self, record: MessageRecord) -> None:
        label = "audio-frame" if record.flags & MessageFlags.FRAME else message_label(record.raw)
        self._stats.messages[label] += 1
        self._stats.last_message = f"{record.direction.arrow} {label} ({record.wire_len:,} B)"

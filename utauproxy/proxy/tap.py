"""The recording side of one proxied connection: a framer per direction reads a copy of the
bytes and turns complete messages into records. It never touches what is forwarded."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
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
from utauproxy.records import Direction, MessageFlags, MessageRecord, Record


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
    """Frames both directions of one connection and emits MessageRecords.

    Thread-safe when given a `lock` shared by every producer of records (the relay feeds each
    direction from its own thread): a chunk's timestamp, framing and emission then happen as
    one step, so records reach the sink in timestamp order."""

    def __init__(
        self,
        conn: int,
        dialect: Dialect,
        emit: Callable[[Record], None],
        clock: Callable[[], int],
        stats: TrafficStats,
        lock: AbstractContextManager[object] | None = None,
    ) -> None:
        self.conn = conn
        self._emit = emit
        self._clock = clock
        self._stats = stats
        self._lock = lock if lock is not None else nullcontext()
        self._framers = {d: Framer(dialect, validate=False) for d in Direction}
        self._finished: set[Direction] = set()

    def feed(self, direction: Direction, data: bytes) -> None:
        """Bytes of `direction`, just forwarded or about to be (see `may_emit`); b"" when
        that direction ended."""
        framer = self._framers[direction]
        with self._lock:
            framer.receive_data(data)
            self._stats.wire_bytes[direction] += len(data)
            ts_ns = self._clock()
            for event in framer:
                record = event_to_record(event, ts_ns, self.conn, direction)
                if record is not None:
                    self._count(record, event)
                    self._emit(record)

    def may_emit(self, direction: Direction, data: bytes) -> bool:
        """Whether feeding `data` could emit a record: it holds an LF, or it may complete a
        frame or a line piece. Chunks that cannot are safe to forward before they are fed."""
        return b"\n" in data or self._framers[direction].may_complete_without_lf(len(data))

    def finish(self, direction: Direction) -> None:
        """`direction` ended (FIN, reset or teardown): report any partial line. Idempotent."""
        if direction not in self._finished:
            self._finished.add(direction)
            self.feed(direction, b"")

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

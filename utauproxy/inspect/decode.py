"""Capture records back into protocol events, for every reader of a capture (show, info,
check, export).

A capture holds raw bytes only (DESIGN.md §4); this is where they are parsed again, with the
framer's own rules (`classify_line` with validation), so every reader sees a line exactly as
the framer judges it. Pure: records in, decoded items out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from utauproxy.inspect.bigline import validated_big_line
from utauproxy.protocol.events import AudioFrame, Dialect, Malformed, Message
from utauproxy.protocol.framer import Framer, classify_line
from utauproxy.protocol.header import Header, parse_header, split_line
from utauproxy.records import (
    CaptureHeader,
    Direction,
    MessageFlags,
    MessageRecord,
    Record,
)

LONG_LINE_HEAD = 4096  # bytes of a long line kept for display
BIG_LINE = 1 << 20  # lines from this size are validated by `validated_big_line` when it can


@dataclass(frozen=True, slots=True)
class LongLine:
    """A line longer than the recorder's framing limit, stored as CONTINUED pieces. It is
    not parsed: only its head and length are kept for display."""

    head: bytes
    length: int
    pieces: int
    terminated: bool
    header: Header | None


DecodedEvent = Message | Malformed | AudioFrame | LongLine


@dataclass(frozen=True, slots=True)
class DecodedMessage:
    """One message of the capture, parsed. `index` is the position of its (first) record in
    the capture; `records` are the record(s) holding its bytes (several for a long line)."""

    index: int
    ts_ns: int
    conn: int
    direction: Direction
    event: DecodedEvent
    records: tuple[MessageRecord, ...]
    validated: bool = True  # False: decoded with validate=False, payload not yet checked

    @property
    def wire_len(self) -> int:
        return sum(record.wire_len for record in self.records)

    @property
    def wire_bytes(self) -> bytes:
        """The exact bytes that crossed the wire, terminator included."""
        return b"".join(record.wire_bytes for record in self.records)

    @property
    def header(self) -> Header | None:
        event = self.event
        if isinstance(event, AudioFrame):
            return None
        return event.header

    @property
    def terminated(self) -> bool:
        return not isinstance(self.event, AudioFrame) and self.event.terminated


@dataclass(frozen=True, slots=True)
class OtherRecord:
    """A record that is not a message (connection, discovery, mark, gap, notice)."""

    index: int
    record: Record

    @property
    def ts_ns(self) -> int:
        return self.record.ts_ns


Decoded = DecodedMessage | OtherRecord


def dialect_of(header: CaptureHeader) -> Dialect:
    """The framing dialect a capture declares (AUTO for anything unknown)."""
    try:
        return Dialect(header.dialect)
    except ValueError:
        return Dialect.AUTO


def decode_event(
    record: MessageRecord, dialect: Dialect = Dialect.AUTO, *, validate: bool = True
) -> Message | Malformed | AudioFrame:
    """The framer's verdict on one complete message record (not a CONTINUED piece).
    `validate=False` parses only the header (cheap); `revalidate` finishes the job later."""
    if record.flags & MessageFlags.FRAME:
        return _decode_frame(record.raw)
    terminated = not record.flags & MessageFlags.NO_LF
    if validate and len(record.raw) >= BIG_LINE:
        quick = validated_big_line(record.raw, terminated=terminated, dialect=dialect)
        if quick is not None:
            return quick
    return classify_line(record.raw, terminated=terminated, validate=validate, dialect=dialect)


def revalidate(message: DecodedMessage, dialect: Dialect = Dialect.AUTO) -> DecodedMessage:
    """`message` with its payload validated, if it was decoded with `validate=False`."""
    if message.validated or not isinstance(message.event, Message):
        return message
    checked = decode_event(message.records[0], dialect, validate=True)
    return DecodedMessage(message.index, message.ts_ns, message.conn, message.direction,
                          checked, message.records)


def _decode_frame(raw: bytes) -> AudioFrame | Malformed:
    framer = Framer(Dialect.V1_2, validate=True)
    framer.receive_data(raw)
    framer.receive_data(b"")
    event = framer.next_event()
    if isinstance(event, AudioFrame) and event.raw == raw:
        return event
    return Malformed(raw=raw, reason="record flagged as an audio frame is not one frame",
                     terminated=False)


class _Pieces:
    """The CONTINUED pieces of one long line seen so far."""

    def __init__(self, index: int, first: MessageRecord) -> None:
        self.index = index
        self.records = [first]

    def finish(self, dialect: Dialect) -> DecodedMessage:
        first, last = self.records[0], self.records[-1]
        head = first.raw[:LONG_LINE_HEAD]
        head_text, payload = split_line(head)
        header = parse_header(head_text) if payload is not None else None
        event = LongLine(
            head=head,
            length=sum(len(r.raw) for r in self.records),
            pieces=len(self.records),
            terminated=not (last.flags & (MessageFlags.NO_LF | MessageFlags.CONTINUED)),
            header=header,
        )
        return DecodedMessage(self.index, last.ts_ns, last.conn, last.direction, event,
                              tuple(self.records))


def decode_records(
    records: Iterable[Record], dialect: Dialect = Dialect.AUTO, *, lazy_above: int | None = None
) -> Iterator[Decoded]:
    """Every record of a capture, messages parsed and validated; lines longer than
    `lazy_above` bytes get their header parsed only (`revalidate` finishes them), for readers
    that may skip most big payloads. A long line is yielded once, when its last piece arrives
    (so its index may be lower than that of items yielded before it); pieces still open when
    the records end are yielded last, unterminated."""
    open_lines: dict[tuple[int, Direction], _Pieces] = {}
    for index, record in enumerate(records):
        if not isinstance(record, MessageRecord):
            yield OtherRecord(index, record)
            continue
        side = (record.conn, record.direction)
        pieces = open_lines.get(side)
        if pieces is not None:
            pieces.records.append(record)
            if not record.flags & MessageFlags.CONTINUED:
                del open_lines[side]
                yield pieces.finish(dialect)
        elif record.flags & MessageFlags.CONTINUED:
            open_lines[side] = _Pieces(index, record)
        else:
            validate = lazy_above is None or len(record.raw) <= lazy_above
            event = decode_event(record, dialect, validate=validate)
            yield DecodedMessage(index, record.ts_ns, record.conn, record.direction, event,
                                 (record,), validated=validate)
    for pieces in open_lines.values():
        yield pieces.finish(dialect)

"""The footer (statistics and chunk index, written on a clean close) and the fixed-size
trailer that points at it, so a summary needs two seeks and no scan."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import cbor2

from utauproxy.capture.chunk import ChunkMeta
from utauproxy.capture.layout import (
    CRC_END,
    CRC_OFFSET,
    FOOTER_ARRAY_HEAD,
    FOOTER_HEAD,
    TRAILER_HEAD,
    TRAILER_MAGIC,
    TRAILER_SIZE,
    UINT32_HEAD,
)
from utauproxy.capture.limits import ReadLimits
from utauproxy.capture.safecbor import load_item
from utauproxy.capture.values import UINT64_MAX, plain_map
from utauproxy.errors import CaptureCorrupt
from utauproxy.records import (
    ConnectionRecord,
    Direction,
    GapRecord,
    MessageRecord,
    Record,
    record_type_name,
)

MAX_LABELS = 4096  # garbage lines each have their own "other:..." label; keep the map bounded
OVERFLOW_LABEL = "(more labels)"
_FOOTER_PREFIX = FOOTER_HEAD + bytes([FOOTER_ARRAY_HEAD, UINT32_HEAD])
_TRAILER_PREFIX = TRAILER_HEAD + bytes([0x82, 0x1B])


@dataclass(frozen=True, slots=True)
class Tally:
    """Message records and their wire bytes (terminators included)."""

    count: int = 0
    bytes: int = 0


@dataclass(frozen=True, slots=True)
class ConnectionSummary:
    """One connection: the time span of its records, its message records, and wire bytes
    by direction (indexed by Direction value)."""

    conn: int
    first_ts_ns: int
    last_ts_ns: int
    messages: int
    bytes_by_direction: tuple[int, int]


@dataclass(frozen=True, slots=True)
class ChunkEntry:
    """Where a chunk starts in the file and what it holds (as in its own metadata)."""

    offset: int
    seq: int
    first_ts_ns: int
    last_ts_ns: int
    count: int


@dataclass(frozen=True, slots=True)
class Footer:
    """The summary a clean close writes. Message counts count records (a line the framer
    split into CONTINUED pieces counts once per piece); labels are message_label() of the
    line (pieces count under their line's label); at most MAX_LABELS labels, the rest are
    summed under OVERFLOW_LABEL."""

    records: int
    messages: int
    wire_bytes: int
    first_ts_ns: int | None
    last_ts_ns: int | None
    by_type: dict[str, int] = field(default_factory=dict)
    by_label: dict[str, Tally] = field(default_factory=dict)
    by_direction: dict[Direction, Tally] = field(default_factory=dict)
    connections: tuple[ConnectionSummary, ...] = ()
    chunks: tuple[ChunkEntry, ...] = ()
    lost_bytes: int = 0
    lost_messages: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class FooterBuilder:
    """Accumulates the footer while records are written."""

    def __init__(self) -> None:
        self.records = 0
        self.wire_bytes = 0
        self._messages = 0
        self._time: list[int] = []
        self._types: dict[str, int] = {}
        self._labels: dict[str, list[int]] = {}
        self._directions = [[0, 0], [0, 0]]
        self._conns: dict[int, list[int]] = {}  # first, last, messages, bytes dir 0, dir 1
        self._chunks: list[list[int]] = []
        self._lost = [0, 0]

    def add(self, record: Record, label: str | None = None) -> None:
        """Count one record; `label` is the message's line label (messages only)."""
        self.records += 1
        name = record_type_name(record)
        self._types[name] = self._types.get(name, 0) + 1
        ts = record.ts_ns
        self._time = [min(self._time[0], ts), max(self._time[1], ts)] if self._time else [ts, ts]
        if isinstance(record, (MessageRecord, ConnectionRecord, GapRecord)):
            conn = self._conns.setdefault(record.conn, [ts, ts, 0, 0, 0])
            conn[0], conn[1] = min(conn[0], ts), max(conn[1], ts)
        if isinstance(record, MessageRecord):
            self._add_message(record, label or "")
        elif isinstance(record, GapRecord):
            self._lost[0] += record.lost_bytes
            self._lost[1] += record.lost_messages

    def _add_message(self, record: MessageRecord, label: str) -> None:
        size = record.wire_len
        self._messages += 1
        self.wire_bytes += size
        if label not in self._labels and len(self._labels) >= MAX_LABELS:
            label = OVERFLOW_LABEL
        tally = self._labels.setdefault(label, [0, 0])
        tally[0] += 1
        tally[1] += size
        self._directions[record.direction][0] += 1
        self._directions[record.direction][1] += size
        conn = self._conns[record.conn]
        conn[2] += 1
        conn[3 + record.direction] += size

    def add_chunk(self, offset: int, meta: ChunkMeta) -> None:
        self._chunks.append([offset, meta.seq, meta.first_ts_ns, meta.last_ts_ns, meta.count])

    def encode(self, extra: dict[str, Any]) -> bytes:
        """The footer item (its CRC covers every byte but its own four). Sums saturate at
        2^64 - 1 (gap records may declare absurd losses) so that they stay plain integers."""
        body = cbor2.dumps(
            {
                "records": self.records,
                "messages": self._messages,
                "wire_bytes": _saturated(self.wire_bytes),
                "time": self._time or None,
                "types": self._types,
                "labels": {label: _saturated(*tally) for label, tally in self._labels.items()},
                "directions": [_saturated(*tally) for tally in self._directions],
                "connections": [[conn, *_saturated(*stats)] for conn, stats in self._conns.items()],
                "chunks": self._chunks,
                "lost": _saturated(*self._lost),
                "extra": plain_map(extra),
            }
        )
        crc = zlib.crc32(body, zlib.crc32(_FOOTER_PREFIX))
        return _FOOTER_PREFIX + crc.to_bytes(4, "big") + body


def _saturated(*values: int) -> Any:
    capped = [min(value, UINT64_MAX) for value in values]
    return capped[0] if len(capped) == 1 else capped


def encode_trailer(footer_offset: int) -> bytes:
    """The last TRAILER_SIZE bytes of a cleanly closed file."""
    return _TRAILER_PREFIX + footer_offset.to_bytes(8, "big") + b"\x48" + TRAILER_MAGIC


def parse_trailer(trailer: bytes) -> int:
    """The footer offset a trailer holds; CaptureCorrupt if these bytes are not a trailer."""
    if len(trailer) != TRAILER_SIZE or not trailer.startswith(_TRAILER_PREFIX):
        raise CaptureCorrupt("no trailer")
    if trailer[15:] != b"\x48" + TRAILER_MAGIC:
        raise CaptureCorrupt("bad trailer magic")
    return int.from_bytes(trailer[7:15], "big")


def decode_footer(item: bytes, limits: ReadLimits) -> Footer:
    """Verify and decode a whole footer item. Raises CaptureCorrupt."""
    if not item.startswith(_FOOTER_PREFIX) or len(item) < CRC_END:
        raise CaptureCorrupt("footer head is malformed")
    stored_crc = int.from_bytes(item[CRC_OFFSET:CRC_END], "big")
    if zlib.crc32(memoryview(item)[CRC_END:], zlib.crc32(item[:CRC_OFFSET])) != stored_crc:
        raise CaptureCorrupt("footer CRC mismatch")
    value, end = load_item(item, CRC_END, max_bytes=limits.max_item_bytes, max_depth=limits.max_depth)
    if end != len(item) or not isinstance(value, dict):
        raise CaptureCorrupt("footer must be one map filling the item")
    try:
        return _footer_from_map(value)
    except (TypeError, ValueError, IndexError) as exc:
        raise CaptureCorrupt(f"footer has an unexpected shape: {exc}") from None


def _ints(value: Any, count: int) -> list[int]:
    if not isinstance(value, list) or len(value) < count:
        raise ValueError(f"expected an array of at least {count} integers")
    if any(isinstance(v, bool) or not isinstance(v, int) for v in value[:count]):
        raise ValueError("expected integers")
    return value[:count]


def _get(value: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    item = value.get(key, default)
    if not isinstance(item, kind) or isinstance(item, bool):
        raise ValueError(f"footer field {key!r} must be {kind.__name__}")
    return item


def _footer_from_map(value: dict[str, Any]) -> Footer:
    time = value.get("time")
    first, last = (None, None) if time is None else _ints(time, 2)
    directions = _get(value, "directions", list, [[0, 0], [0, 0]])
    types = _get(value, "types", dict, {})
    return Footer(
        records=_get(value, "records", int, 0),
        messages=_get(value, "messages", int, 0),
        wire_bytes=_get(value, "wire_bytes", int, 0),
        first_ts_ns=first,
        last_ts_ns=last,
        by_type={str(k): _ints([v], 1)[0] for k, v in types.items()},
        by_label={k: Tally(*_ints(v, 2)) for k, v in _get(value, "labels", dict, {}).items()},
        by_direction={d: Tally(*_ints(directions[d], 2)) for d in Direction},
        connections=tuple(_connection(c) for c in _get(value, "connections", list, [])),
        chunks=tuple(ChunkEntry(*_ints(c, 5)) for c in _get(value, "chunks", list, [])),
        lost_bytes=_ints(_get(value, "lost", list, [0, 0]), 2)[0],
        lost_messages=_ints(_get(value, "lost", list, [0, 0]), 2)[1],
        extra=_get(value, "extra", dict, {}),
    )


def _connection(value: Any) -> ConnectionSummary:
    conn, first, last, messages, sent, received = _ints(value, 6)
    return ConnectionSummary(conn, first, last, messages, (sent, received))

"""What the recorder adds to a capture's footer, computed on the sink's thread as records are
written: request latency per kind and the detected protocol version (so `info` answers without
a scan), and the live counters."""

from __future__ import annotations

from typing import Any

from utauproxy.inspect.latency import EXTRA_KEY as LATENCY_KEY
from utauproxy.inspect.latency import LatencyRecorder
from utauproxy.inspect.recorded_protocol import PROTOCOL_KEY, protocol_extra
from utauproxy.protocol.audio import UPDATE_AUDIO_HEAD
from utauproxy.protocol.events import AudioFrame, Dialect
from utauproxy.protocol.framer import Framer, classify_line
from utauproxy.protocol.header import MAX_HEADER_LEN
from utauproxy.protocol.version import VersionDetector
from utauproxy.proxy.tap import TrafficStats
from utauproxy.records import (
    ConnectionRecord,
    ConnEvent,
    Direction,
    MessageFlags,
    MessageRecord,
    Record,
)

_CONTINUED, _FRAME = int(MessageFlags.CONTINUED), int(MessageFlags.FRAME)
_AUDIO_LINES_FOR_VERSION = 4
_MAX_DECODED_AUDIO_LINE = 16 << 20
_AUDIO_HEAD_BYTES = 4096
_MAX_REMEMBERED = 4096  # bytes of a message worth remembering to skip its repeats
_MAX_SEEN = 4096


class FooterStats:
    """What the recorder adds to the footer: request latency per kind (so `info` answers
    without a scan) and the live counters."""

    def __init__(self, stats: TrafficStats) -> None:
        self._stats = stats
        self._latency = LatencyRecorder()
        self._version = VersionDetector()
        self._audio_lines_left = _AUDIO_LINES_FOR_VERSION
        self._seen: set[tuple[Direction, bytes, bytes]] = set()

    def observe(self, record: Record) -> None:
        if isinstance(record, MessageRecord):
            self._latency.observe(record)
            self._observe_version(record)
        elif isinstance(record, ConnectionRecord) and record.event is ConnEvent.CLOSED:
            self._latency.forget_connection(record.conn)

    def _observe_version(self, record: MessageRecord) -> None:
        flags = int(record.flags)  # plain ints: IntFlag `&` builds enum members (per message)
        if flags & _CONTINUED:
            return
        if flags & _FRAME:
            framer = Framer(Dialect.V1_2, validate=False)
            framer.receive_data(record.raw)
            event = framer.next_event()
            if isinstance(event, AudioFrame):
                self._version.observe(record.direction, event)
            return
        raw = record.raw
        if raw.startswith(UPDATE_AUDIO_HEAD):
            # Parsing a tens-of-MB line holds the GIL the pump needs; a few settle the codec and
            # hash evidence (PROTOCOL.md §4), later ones only repeat it.
            if self._audio_lines_left == 0:
                return
            if len(raw) > _MAX_DECODED_AUDIO_LINE:
                # Checking its hash means JSON text, base64 and samples of the whole line at
                # once, ~3.5x its size (the recorder's peak RSS, issue 8): only its head is
                # read, for the key's sign and the codec; smaller lines bring the hash check.
                raw = raw[:_AUDIO_HEAD_BYTES]
            else:
                self._audio_lines_left -= 1
        elif self._seen_before(record):
            return
        self._version.observe(record.direction, classify_line(raw, validate=False))

    def _seen_before(self, record: MessageRecord) -> bool:
        """True when an identical message (ids aside) was observed already: the detector only
        collects facts, so a repeat cannot add one, and most control traffic repeats (the same
        layout and the same answer under fresh request ids) - this skips its JSON parse."""
        raw = record.raw
        if len(raw) > _MAX_REMEMBERED:
            return False
        sep = raw.find(b" ", 0, MAX_HEADER_LEN + 1)
        head = raw[:sep] if sep >= 0 else raw
        # The detector reads a request's kind and a response's payload, never their ids.
        if head.startswith(b"request:"):
            head = b"request:" + head[8:].partition(b":")[2]
        elif head.startswith(b"response:"):
            head = b"response:"
        key = (record.direction, head, raw[sep + 1 :] if sep >= 0 else b"")
        if key in self._seen:
            return True
        if len(self._seen) >= _MAX_SEEN:
            self._seen.clear()
        self._seen.add(key)
        return False

    def footer_extra(self) -> dict[str, Any]:
        stats = self._stats
        guess = self._version.result()
        return {
            LATENCY_KEY: self._latency.summary(),
            PROTOCOL_KEY: protocol_extra(guess),
            "stats": {
                "connections": stats.connections_total,
                "messages": dict(stats.messages),
                "wire_bytes": {d.label: n for d, n in stats.wire_bytes.items()},
            },
        }

"""What the recorder adds to a capture's footer, computed on the sink's thread as records are
written: request latency per kind and the detected protocol version (so `info` answers without
a scan), and the live counters."""

from __future__ import annotations

from typing import Any

from utauproxy.inspect.latency import EXTRA_KEY as LATENCY_KEY
from utauproxy.inspect.latency import LatencyRecorder
from utauproxy.protocol.events import AudioFrame, Dialect
from utauproxy.protocol.framer import Framer, classify_line
from utauproxy.protocol.version import VersionDetector
from utauproxy.proxy.tap import TrafficStats
from utauproxy.records import (
    ConnectionRecord,
    ConnEvent,
    MessageFlags,
    MessageRecord,
    Record,
)

_UPDATE_AUDIO = b"notification:updateAudio "
_AUDIO_LINES_FOR_VERSION = 4


class FooterStats:
    """What the recorder adds to the footer: request latency per kind (so `info` answers
    without a scan) and the live counters."""

    def __init__(self, stats: TrafficStats) -> None:
        self._stats = stats
        self._latency = LatencyRecorder()
        self._version = VersionDetector()
        self._audio_lines_left = _AUDIO_LINES_FOR_VERSION

    def observe(self, record: Record) -> None:
        if isinstance(record, MessageRecord):
            self._latency.observe(record)
            self._observe_version(record)
        elif isinstance(record, ConnectionRecord) and record.event is ConnEvent.CLOSED:
            self._latency.forget_connection(record.conn)

    def _observe_version(self, record: MessageRecord) -> None:
        if record.flags & MessageFlags.CONTINUED:
            return
        if record.flags & MessageFlags.FRAME:
            framer = Framer(Dialect.V1_2, validate=False)
            framer.receive_data(record.raw)
            event = framer.next_event()
            if isinstance(event, AudioFrame):
                self._version.observe(record.direction, event)
            return
        if record.raw.startswith(_UPDATE_AUDIO):
            # Parsing a tens-of-MB line holds the GIL the pump needs; a few settle the codec and
            # hash evidence (PROTOCOL.md §4), later ones only repeat it.
            if self._audio_lines_left == 0:
                return
            self._audio_lines_left -= 1
        self._version.observe(record.direction, classify_line(record.raw, validate=False))

    def footer_extra(self) -> dict[str, Any]:
        stats = self._stats
        guess = self._version.result()
        return {
            LATENCY_KEY: self._latency.summary(),
            "protocol": {"version": guess.version.value, "evidence": list(guess.evidence)},
            "stats": {
                "connections": stats.connections_total,
                "messages": dict(stats.messages),
                "wire_bytes": {d.label: n for d, n in stats.wire_bytes.items()},
            },
        }

"""What the benchmark checks and builds from capture files: that a recording is complete on
disk, the largest message it holds, and big captures made by concatenating recorded sessions."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utauproxy.capture.reader import CaptureReader
from utauproxy.capture.writer import CaptureWriter
from utauproxy.records import (
    ConnectionRecord,
    Direction,
    GapRecord,
    MessageFlags,
    MessageRecord,
    Record,
)


@dataclass(frozen=True)
class CaptureFacts:
    size: int  # bytes on disk
    has_footer: bool  # the recorder closed it cleanly
    wire_bytes: int  # message bytes the records hold, terminators included
    to_plugin_bytes: int  # of which OpenUtau (the client) sent
    messages: int  # lines and frames (a line split into pieces counts once)
    lost_bytes: int  # gap records: bytes that crossed the wire but are not in the capture
    damage: int  # regions the reader could not decode
    largest_message: int
    duration_s: float

    def complete(self, sent: int | None = None, received: int | None = None) -> bool:
        """Closed, undamaged, nothing lost; every byte the client sent is recorded, and at
        least every byte it received (a peer may write into a closing connection: recorded,
        never read)."""
        ok = self.has_footer and not self.damage and not self.lost_bytes
        if sent is not None and self.to_plugin_bytes != sent:
            return False
        return ok and (received is None or self.wire_bytes - self.to_plugin_bytes >= received)


def inspect_capture(path: Path) -> CaptureFacts:
    """Read every record (the footer alone could claim what the chunks do not hold)."""
    wire = to_plugin = messages = lost = largest = line = 0
    first = last = None
    with CaptureReader.open(path) as reader:
        has_footer = reader.footer is not None
        for record in reader.records():
            first = record.ts_ns if first is None else first
            last = record.ts_ns
            if isinstance(record, MessageRecord):
                wire += record.wire_len
                if record.direction is Direction.OU_TO_PLUGIN:
                    to_plugin += record.wire_len
                line += record.wire_len
                if not record.flags & MessageFlags.CONTINUED:
                    messages += 1
                    largest = max(largest, line)
                    line = 0
            elif isinstance(record, GapRecord):
                lost += record.lost_bytes
        damage = len(reader.damage)
    duration = ((last or 0) - (first or 0)) / 1e9
    return CaptureFacts(path.stat().st_size, has_footer, wire, to_plugin, messages, lost, damage, largest,
                        duration)


def _shifted(record: Record, offset_ns: int, conn_base: int, scale: float) -> Record:
    changes: dict[str, Any] = {"ts_ns": int(record.ts_ns * scale) + offset_ns}
    if isinstance(record, (MessageRecord, ConnectionRecord, GapRecord)):
        changes["conn"] = record.conn + conn_base
    return dataclasses.replace(record, **changes)


def concatenate(sources: list[Path], output: Path, target_bytes: int) -> tuple[int, int]:
    """Write `sources` one after another (repeating them) into `output` until it holds at least
    `target_bytes`: each repetition is a later session with its own connection ids, as one
    long recording of many sessions would be. Sessions are never cut: the file ends within 15%
    below the target or up to one session past it. Returns (sessions written, wire bytes)."""
    with CaptureReader.open(sources[0]) as first:
        header = first.header
    sessions = 0
    offset = 0
    with CaptureWriter.create(output, header) as writer:
        while writer.bytes_written < target_bytes:
            source = sources[sessions % len(sources)]
            if writer.bytes_written >= 0.85 * target_bytes and \
                    writer.bytes_written + source.stat().st_size > target_bytes:
                break  # close enough; one more session would overshoot by more
            end = offset
            with CaptureReader.open(source) as reader:
                for record in reader.records():
                    shifted = _shifted(record, offset, conn_base=sessions * 1000, scale=1.0)
                    writer.write(shifted)
                    end = max(end, shifted.ts_ns)
            offset = end + 1_000_000_000
            sessions += 1
        wire = writer.wire_bytes
    return sessions, wire


def stretch(source: Path, output: Path, seconds: float) -> float:
    """Copy `source` with its timestamps scaled so that it spans `seconds`; returns the factor."""
    facts_duration = inspect_capture(source).duration_s
    scale = seconds / max(facts_duration, 1e-3)
    with CaptureReader.open(source) as reader, CaptureWriter.create(output, reader.header) as writer:
        for record in reader.records():
            writer.write(_shifted(record, 0, 0, scale))
    return scale

"""Opening and iterating a capture file (a thin, typed layer over `capture.CaptureReader`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from utauproxy.capture.footer import Footer
from utauproxy.capture.reader import CaptureReader, Damage
from utauproxy.protocol.header import message_label
from utauproxy.records import CaptureHeader, Direction, MessageFlags, MessageRecord, Record

FRAME_LABEL = "audio-frame"  # the recorder's label for API v1.2 data-plane frames (PROTOCOL.md §5.1)


@dataclass(frozen=True, slots=True)
class CapturedMessage:
    """One message record with its id-free label (`request:init`, `notification:ping`, ...)."""

    record: MessageRecord
    label: str

    @property
    def conn(self) -> int:
        return self.record.conn

    @property
    def direction(self) -> Direction:
        return self.record.direction

    @property
    def raw(self) -> bytes:
        """The exact bytes that crossed the wire, without the terminating LF."""
        return self.record.raw

    @property
    def seconds(self) -> float:
        """Seconds since the capture started."""
        return self.record.ts_ns / 1e9


def label_of(record: MessageRecord) -> str:
    """The label the recorder counts `record` under."""
    if record.flags & MessageFlags.FRAME:
        return FRAME_LABEL
    return message_label(record.raw)


class Capture:
    """An open capture: `header` and `footer` are read at once, records are streamed.

    Use as a context manager (or call `close()`). Damaged chunks are skipped while iterating and
    listed in `damage` afterwards; `footer` is None for a capture that was not closed cleanly.
    """

    def __init__(self, path: Path, reader: CaptureReader) -> None:
        self.path = path
        self._reader = reader

    @property
    def header(self) -> CaptureHeader:
        return self._reader.header

    @property
    def footer(self) -> Footer | None:
        return self._reader.footer

    @property
    def damage(self) -> list[Damage]:
        """What the last iteration had to skip (empty for an intact file)."""
        return list(self._reader.damage)

    def records(self) -> Iterator[Record]:
        """Every readable record in file order; each call starts again from the beginning."""
        return self._reader.records()

    def __iter__(self) -> Iterator[Record]:
        return self.records()

    def messages(self, *, conn: int | None = None, direction: Direction | None = None,
                 label: str | None = None) -> Iterator[CapturedMessage]:
        """The message records, optionally only one connection's, one direction's or one
        label's (e.g. `"notification:updateTracks"`)."""
        for record in self._reader.records():
            if not isinstance(record, MessageRecord):
                continue
            if conn is not None and record.conn != conn:
                continue
            if direction is not None and record.direction is not direction:
                continue
            message = CapturedMessage(record, label_of(record))
            if label is None or message.label == label:
                yield message

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def open_capture(path: str | os.PathLike[str]) -> Capture:
    """Open the capture at `path` (read-only). Raises CaptureError (FileNotFound included) and,
    for a file from a newer utauproxy, CaptureFormatTooNew."""
    return Capture(Path(path), CaptureReader.open(path))

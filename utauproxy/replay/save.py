"""`--save FILE`: the replay session itself, written as a capture (so it can be diffed with the
one it replays). Every message is stored as it crossed the wire, ids as actually used."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

from utauproxy import __version__
from utauproxy.capture.layout import FORMAT_MAJOR, FORMAT_MINOR
from utauproxy.capture.writer import CaptureWriter
from utauproxy.clock import CaptureClock
from utauproxy.records import (
    CaptureHeader,
    ConnectionRecord,
    ConnEvent,
    Direction,
    MessageFlags,
    MessageRecord,
    NoticeRecord,
)


class SessionLog:
    """Records one replay run; a no-op when there is nowhere to save."""

    def __init__(self, writer: CaptureWriter | None) -> None:
        self._writer = writer
        self._clock = CaptureClock()

    @classmethod
    def create(cls, path: Path | None, original: CaptureHeader | None, note: str) -> SessionLog:
        """A log writing to `path` (never overwritten), or a no-op log when `path` is None."""
        if path is None:
            return cls(None)
        header = CaptureHeader(
            format_major=FORMAT_MAJOR, format_minor=FORMAT_MINOR, writer=f"utauproxy {__version__}",
            started_utc=CaptureClock().started_iso, host_os=platform.platform(),
            dialect=original.dialect if original else "auto",
            discovery=list(original.discovery) if original else [], note=note,
            extra={"replay_of": original.started_utc if original else None})
        return cls(CaptureWriter.create(path, header))

    def message(self, conn: int, direction: Direction, raw: bytes, flags: MessageFlags) -> None:
        if self._writer is not None:
            self._writer.write(MessageRecord(self._clock.now(), conn, direction, raw, flags))

    def connection(self, conn: int, event: ConnEvent, direction: Direction | None = None,
                   **detail: Any) -> None:
        if self._writer is not None:
            self._writer.write(ConnectionRecord(self._clock.now(), conn, event, direction, dict(detail)))

    def notice(self, text: str) -> None:
        if self._writer is not None:
            self._writer.write(NoticeRecord(self._clock.now(), "info", text))

    def close(self, extra: dict[str, Any] | None = None) -> None:
        if self._writer is not None:
            self._writer.close(extra)
            self._writer = None


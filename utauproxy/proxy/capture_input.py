"""Where the relay hands what it sees: the CaptureInput protocol, and InlineCapture, which does
the recording work on the caller's thread (tests, embedding, and platforms without the
capture process)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from utauproxy.capture.writer import CaptureWriter
from utauproxy.clock import CaptureClock
from utauproxy.protocol.events import Dialect
from utauproxy.proxy.feed import RecordingFeed
from utauproxy.proxy.footer_stats import FooterStats
from utauproxy.proxy.sink import CaptureSink
from utauproxy.proxy.tap import TrafficStats
from utauproxy.records import CaptureHeader, ConnectionRecord, ConnEvent, Direction, Record


@dataclass(frozen=True)
class CaptureSpec:
    """What the capture process needs to know, sent as the OPEN frame."""

    output: Path
    header: CaptureHeader
    clock: CaptureClock
    budget_bytes: int
    dialect: Dialect = Dialect.AUTO


class CaptureInput(Protocol):
    """Takes what the relay's threads see. Calls never wait for the disk, and what one
    thread hands in before another hands in something else is recorded in that order (so a
    request handed in before it is forwarded is recorded before its answer)."""

    def chunk(self, conn: int, direction: Direction, data: bytes) -> None: ...

    def finish(self, conn: int, direction: Direction) -> None: ...

    def connection(self, conn: int, event: ConnEvent, direction: Direction | None,
                   detail: dict[str, Any]) -> None: ...

    def record(self, record: Record) -> None: ...


class InlineCapture:
    """A CaptureInput that frames on the calling thread, one call at a time; `emit` gets the
    records (a CaptureSink's `put`, or a list's `append`)."""

    def __init__(self, clock: CaptureClock, emit: Callable[[Record], None],
                 stats: TrafficStats | None = None, dialect: Dialect = Dialect.AUTO) -> None:
        self._now = clock.now
        self._lock = threading.Lock()
        self.feed = RecordingFeed(emit, stats if stats is not None else TrafficStats(), dialect)

    @property
    def stats(self) -> TrafficStats:
        return self.feed.stats

    def chunk(self, conn: int, direction: Direction, data: bytes) -> None:
        with self._lock:
            self.feed.chunk(self._now(), conn, direction, data)

    def finish(self, conn: int, direction: Direction) -> None:
        with self._lock:
            self.feed.finish(self._now(), conn, direction)

    def connection(self, conn: int, event: ConnEvent, direction: Direction | None,
                   detail: dict[str, Any]) -> None:
        with self._lock:
            self.feed.record(ConnectionRecord(self._now(), conn, event, direction, detail))

    def record(self, record: Record) -> None:
        with self._lock:
            self.feed.record(record)


@dataclass
class InlineRecording:
    """A capture written by this process (see `inline_capture`)."""

    input: InlineCapture
    stats: TrafficStats
    sink: CaptureSink

    @property
    def failure(self) -> str | None:
        return self.sink.failure

    @property
    def bytes_written(self) -> int:
        return self.sink.bytes_written


@asynccontextmanager
async def inline_capture(spec: CaptureSpec, *, on_warning: Callable[[str], None] = lambda message: None
                         ) -> AsyncIterator[InlineRecording]:
    """The capture written from this process: framing on the relay's threads, the disk on a
    sink thread. For platforms without the capture process (it needs inheritable pipe ends);
    forwarding pays for the framing and for the lock the threads share."""
    writer = CaptureWriter.create(spec.output, spec.header)
    stats = TrafficStats()
    with CaptureSink(writer, spec.clock, budget_bytes=spec.budget_bytes, on_warning=on_warning,
                     observer=FooterStats(stats)) as sink:
        yield InlineRecording(InlineCapture(spec.clock, sink.put, stats, spec.dialect), stats, sink)

"""The capture sink: records go to disk on a thread of their own, so a slow disk delays the
capture and never the peers (issue 3). Memory is bounded by a byte budget; past it, messages are
counted as a GapRecord instead of queued (like tcpdump's "dropped by kernel"), and the user is told.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

from utauproxy.capture.writer import CaptureWriter
from utauproxy.clock import CaptureClock
from utauproxy.errors import CaptureError
from utauproxy.records import Direction, GapRecord, MessageRecord, Record

DEFAULT_BUDGET_BYTES = 256 << 20
_POLL_SECONDS = 0.05
_IDLE_PAUSE_SECONDS = 0.001
_STOP = object()


class RecordObserver(Protocol):
    """Sees every record the sink writes, on the sink's thread, and adds to the footer."""

    def observe(self, record: Record) -> None: ...

    def footer_extra(self) -> dict[str, Any]: ...


@dataclass
class _Gap:
    lost_bytes: int = 0
    lost_messages: int = 0


class RecordWriter:
    """A CaptureWriter under the recorder's failure policy: the first CaptureError stops the
    writing (forwarding goes on) and is reported once; every record written is shown to the
    observer. Synchronous: the capture process calls it directly, CaptureSink from its thread."""

    def __init__(self, writer: CaptureWriter, clock: CaptureClock, *,
                 on_warning: Callable[[str], None] = lambda message: None,
                 observer: RecordObserver | None = None) -> None:
        self._writer = writer
        self._clock = clock
        self._on_warning = on_warning
        self._observer = observer
        self.failure: str | None = None

    @property
    def bytes_written(self) -> int:
        return self._writer.bytes_written

    def write(self, record: Record) -> None:
        if self.failure is not None:
            return
        try:
            self._writer.write(record)
        except CaptureError as exc:
            self._fail(exc)
            return
        if self._observer is not None:
            self._observer.observe(record)

    def tick(self) -> None:
        """Seal the open chunk once it is old enough (call it every so often)."""
        if self.failure is None:
            try:
                self._writer.maybe_flush(self._clock.now())
            except CaptureError as exc:
                self._fail(exc)

    def close(self) -> None:
        """The footer and the end of the file. After a failure the file is still released;
        what reached the disk stays readable (chunks are independent), just without a footer."""
        try:
            self._writer.close(self._observer.footer_extra() if self._observer else None)
        except CaptureError as exc:
            if self.failure is None:
                self._fail(exc)

    def _fail(self, exc: CaptureError) -> None:
        self.failure = str(exc)
        self._on_warning(f"capture write failed, recording stopped (forwarding goes on): {exc}")


class CaptureSink:
    """Owns a CaptureWriter on a background thread. `put` never blocks."""

    def __init__(
        self,
        writer: CaptureWriter,
        clock: CaptureClock,
        *,
        budget_bytes: int = DEFAULT_BUDGET_BYTES,
        on_warning: Callable[[str], None] = lambda message: None,
        observer: RecordObserver | None = None,
    ) -> None:
        self._out = RecordWriter(writer, clock, on_warning=on_warning, observer=observer)
        self._clock = clock
        self._budget = budget_bytes
        self._on_warning = on_warning
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._queued_bytes = 0
        self._gaps: dict[tuple[int, Direction], _Gap] = {}
        self._thread = threading.Thread(target=self._run, name="capture-sink", daemon=True)

    def __enter__(self) -> CaptureSink:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def failure(self) -> str | None:
        """Why the capture stopped being written, if it did."""
        return self._out.failure

    @property
    def bytes_written(self) -> int:
        return self._out.bytes_written

    def put(self, record: Record) -> None:
        size = len(record.raw) if isinstance(record, MessageRecord) else 64
        with self._lock:
            if isinstance(record, MessageRecord) and self._queued_bytes + size > self._budget:
                self._count_gap(record)
                return
            self._queued_bytes += size
        self._queue.put((record, size))

    def _count_gap(self, record: MessageRecord) -> None:
        key = (record.conn, record.direction)
        if not self._gaps:
            self._on_warning("capture is falling behind the wire; messages are being skipped")
        gap = self._gaps.setdefault(key, _Gap())
        gap.lost_bytes += record.wire_len
        gap.lost_messages += 1

    def close(self) -> None:
        """Write everything queued, then the footer. Idempotent."""
        if not self._thread.is_alive():
            return
        self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                self._write_due()
                continue
            if item is _STOP:
                break
            record, size = cast(tuple[Record, int], item)
            with self._lock:
                self._queued_bytes -= size
            self._out.write(record)
            self._write_due()
            if self._queue.empty():
                # Woken by every put, this thread would take the GIL right when the relay
                # thread that put the record wants it back after its send; pausing lets a
                # few records gather instead (added round-trip p50 -40%, p99 no worse;
                # docs/benchmarks.md "The recorder's forwarding path").
                time.sleep(_IDLE_PAUSE_SECONDS)
        self._out.close()

    def _write_due(self) -> None:
        """Flush gaps once the queue has room again, and seal chunks that are old enough."""
        gaps = self._take_gaps_if_drained()
        for (conn, direction), gap in gaps.items():
            self._out.write(
                GapRecord(self._clock.now(), conn, direction, gap.lost_bytes, gap.lost_messages,
                          "capture fell behind the wire")
            )
        self._out.tick()

    def _take_gaps_if_drained(self) -> dict[tuple[int, Direction], _Gap]:
        with self._lock:
            if not self._gaps or self._queued_bytes > self._budget // 2:
                return {}
            gaps, self._gaps = self._gaps, {}
        return gaps

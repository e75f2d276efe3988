"""PipeCapture: the recorder's CaptureInput when the recording work runs in the capture
process. A forwarding thread pays for a timestamp and one non-blocking `writev` per chunk, and
never waits: what the pipe cannot take now waits in memory for the shipper thread, up to a
budget past which chunks are dropped and counted (the capture process records them as a
GapRecord, like tcpdump's "dropped by kernel"), so a slow capture never slows the peers.
"""

from __future__ import annotations

import os
import select
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from utauproxy.clock import CaptureClock
from utauproxy.proxy.capture_frames import Kind, head, lost_frame, pickled_frame
from utauproxy.records import ConnectionRecord, ConnEvent, Direction, Record

DEFAULT_BUDGET_BYTES = 256 << 20
_PIECES_PER_WRITE = 64  # IOV_MAX is 1024; a few dozen pieces already make one big write
_WRITABLE_WAIT_SECONDS = 0.5

Piece = bytes | memoryview


@dataclass
class _Lost:
    ts_ns: int
    lost_bytes: int = 0
    lost_lines: int = 0
    ends_on_line_end: bool = True


class PipeCapture:
    """Frames what the relay sees into the pipe `fd` (which this object owns). Thread-safe:
    one lock orders the frames, and holding it never blocks."""

    def __init__(self, fd: int, clock: CaptureClock, *, budget_bytes: int = DEFAULT_BUDGET_BYTES,
                 on_warning: Callable[[str], None] = lambda message: None) -> None:
        os.set_blocking(fd, False)
        self._fd = fd
        self._now = clock.now
        self._budget = budget_bytes
        self._on_warning = on_warning
        self._lock = threading.Lock()
        self._backlog: deque[Piece] = deque()
        self._backlog_bytes = 0
        self._lost: dict[tuple[int, Direction], _Lost] = {}
        self._warned = False
        self._stopping = False
        self._wake = threading.Event()
        self.failure: str | None = None
        self._shipper = threading.Thread(target=self._ship, name="capture-shipper", daemon=True)
        self._shipper.start()

    @property
    def backlog_bytes(self) -> int:
        return self._backlog_bytes

    # --- CaptureInput ----------------------------------------------------------------------

    def chunk(self, conn: int, direction: Direction, data: bytes) -> None:
        warn = False
        with self._lock:
            ts_ns = self._now()
            key = (conn, direction)
            lost = self._lost.get(key)
            if self._backlog_bytes + len(data) > self._budget or (
                    lost is not None and self._backlog_bytes > self._budget // 2):
                warn = self._lose(key, ts_ns, data)
            else:
                if lost is not None:
                    self._send_lost(key, lost)
                self._send((head(Kind.CHUNK, len(data), conn, direction, ts_ns), data))
        if warn:
            self._on_warning("capture is falling behind the wire; bytes are being skipped")

    def finish(self, conn: int, direction: Direction) -> None:
        with self._lock:
            lost = self._lost.get((conn, direction))
            if lost is not None:
                self._send_lost((conn, direction), lost)
            self._send((head(Kind.FINISH, 0, conn, direction, self._now()),))

    def connection(self, conn: int, event: ConnEvent, direction: Direction | None,
                   detail: dict[str, Any]) -> None:
        with self._lock:
            self._send((pickled_frame(Kind.RECORD, ConnectionRecord(self._now(), conn, event, direction, detail)),))

    def record(self, record: Record) -> None:
        with self._lock:
            self._send((pickled_frame(Kind.RECORD, record),))

    # --- the end -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Send STOP after everything handed in so far, wait until the pipe took it all (or
        the reader went away), then close the pipe. Blocks: call it from a worker thread."""
        with self._lock:
            self._send((head(Kind.STOP),))
            self._stopping = True
            self._wake.set()
        self._shipper.join()
        os.close(self._fd)

    # --- inside the lock ---------------------------------------------------------------------

    def _lose(self, key: tuple[int, Direction], ts_ns: int, data: bytes) -> bool:
        """Count `data` as lost; True when this is the first loss of the recording."""
        lost = self._lost.setdefault(key, _Lost(ts_ns))
        lost.lost_bytes += len(data)
        lost.lost_lines += data.count(b"\n")
        lost.ends_on_line_end = data.endswith(b"\n")
        first, self._warned = not self._warned, True
        return first

    def _send_lost(self, key: tuple[int, Direction], lost: _Lost) -> None:
        del self._lost[key]
        conn, direction = key
        self._send((lost_frame(conn, direction, lost.ts_ns, lost.lost_bytes, lost.lost_lines,
                               lost.ends_on_line_end),))

    def _send(self, pieces: Sequence[Piece]) -> None:
        if self.failure is not None or self._stopping:
            return
        if self._backlog:
            self._queue(pieces)
            return
        try:
            written = os.writev(self._fd, pieces)
        except BlockingIOError:
            written = 0
        except OSError as exc:
            self._fail(exc)
            return
        if written < sum(len(piece) for piece in pieces):
            self._queue(_after(pieces, written))
            self._wake.set()

    def _queue(self, pieces: Sequence[Piece]) -> None:
        self._backlog.extend(pieces)
        self._backlog_bytes += sum(len(piece) for piece in pieces)

    def _fail(self, exc: OSError) -> None:
        self.failure = f"the capture process stopped reading: {exc}"
        self._backlog.clear()
        self._backlog_bytes = 0

    # --- the shipper thread ------------------------------------------------------------------

    def _ship(self) -> None:
        """Write the backlog, oldest first, whenever there is one; end after STOP is out."""
        while True:
            self._wake.wait()
            with self._lock:
                pieces = list(islice(self._backlog, _PIECES_PER_WRITE))
                if not pieces:
                    self._wake.clear()
                    if self._stopping or self.failure is not None:
                        return
                    continue
            written = self._write_when_ready(pieces)
            with self._lock:
                if isinstance(written, OSError):
                    self._fail(written)
                else:
                    self._consume(written)

    def _write_when_ready(self, pieces: list[Piece]) -> int | OSError:
        # Outside the lock: no other thread writes while the backlog is not empty.
        try:
            select.select([], [self._fd], [], _WRITABLE_WAIT_SECONDS)
            return os.writev(self._fd, pieces)
        except BlockingIOError:
            return 0
        except OSError as exc:
            return exc

    def _consume(self, written: int) -> None:
        self._backlog_bytes -= written
        while written:
            piece = self._backlog[0]
            if written < len(piece):
                self._backlog[0] = memoryview(piece)[written:]
                return
            written -= len(piece)
            self._backlog.popleft()


def _after(pieces: Sequence[Piece], written: int) -> list[Piece]:
    """What is left of `pieces` once their first `written` bytes are out."""
    rest: list[Piece] = []
    for piece in pieces:
        if written >= len(piece):
            written -= len(piece)
            continue
        rest.append(memoryview(piece)[written:] if written else piece)
        written = 0
    return rest

"""The recorder's capture process: reads frames from the recorder through a pipe, frames the
traffic into records (RecordingFeed), writes the capture (RecordWriter, FooterStats) and sends
status back through another pipe. It ends on STOP or when the recorder's end of the pipe
closes, so a recorder killed with -9 still leaves a capture with every byte it forwarded and a
footer.

    python -m utauproxy.proxy.capture_child DATA_FD STATUS_FD    # started by capture_process.py
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time
from typing import Any

from utauproxy.capture.writer import CaptureWriter
from utauproxy.errors import CaptureError
from utauproxy.proxy.capture_frames import Frame, FrameReader, Kind, pickled_frame, write_all
from utauproxy.proxy.capture_input import CaptureSpec
from utauproxy.proxy.feed import RecordingFeed
from utauproxy.proxy.footer_stats import FooterStats
from utauproxy.proxy.sink import RecordWriter
from utauproxy.proxy.tap import TrafficStats
from utauproxy.records import Direction

_READ_BYTES = 1 << 20
_LOWEST_PRIORITY = 19  # os.nice() adds to the current value and stops at the lowest
_DIRECTIONS = tuple(Direction)  # indexing, not Direction(n): an enum call per chunk adds up
_STATUS_SECONDS = 0.1


def status_of(stats: TrafficStats, out: RecordWriter, **more: Any) -> dict[str, Any]:
    """What the recorder shows and reports: the traffic counters and the capture's state.
    (Warnings come on their own, as {"warnings": [every warning so far]}.)"""
    return {
        "messages": dict(stats.messages),
        "wire_bytes": {int(d): n for d, n in stats.wire_bytes.items()},
        "connections_open": stats.connections_open,
        "connections_total": stats.connections_total,
        "last": stats.last,
        "bytes_written": out.bytes_written,
        "failure": out.failure,
        **more,
    }


class StatusPipe:
    """The way back to the recorder; a recorder that went away is not an error. Used from
    this process's one thread (RecordWriter's warnings come from the same thread)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._last_sent: dict[str, Any] | None = None

    def send(self, status: dict[str, Any]) -> None:
        if status == self._last_sent:
            return
        self._last_sent = status
        try:
            write_all(self._fd, pickled_frame(Kind.STATUS, status))
        except OSError:
            pass  # the recorder is gone; the capture is still finished


def main(argv: list[str]) -> int:
    # Ctrl-C in a terminal reaches the whole process group: the recorder decides when this
    # process stops (STOP, or its end of the pipe closing), so nothing queued is lost.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _yield_to_the_forwarding()
    data_fd, status_fd = int(argv[0]), int(argv[1])
    status = StatusPipe(status_fd)
    frames = FrameReader()
    opening = _read_frames(data_fd, frames, None)
    if not opening or opening[0].kind is not Kind.OPEN:
        return 1  # the recorder went away before it said what to record
    spec: CaptureSpec = opening[0].unpickled()
    try:
        writer = CaptureWriter.create(spec.output, spec.header)
    except (CaptureError, OSError) as exc:
        status.send({"error": str(exc)})
        return 1
    stats = TrafficStats()
    warnings: list[str] = []
    # Records are written on this thread, as they come: a sink thread would cost more in
    # handing records over than the writing itself. A slow disk makes this process read
    # later, and the recorder's PipeCapture holds (or, past its budget, counts) the rest.
    out = RecordWriter(writer, spec.clock, on_warning=lambda text: _warn(status, warnings, text),
                       observer=FooterStats(stats))
    try:
        feed = RecordingFeed(out.write, stats, spec.dialect)
        status.send(status_of(stats, out, opened=True))
        _serve(data_fd, frames, opening[1:], feed, status, out)
    finally:
        out.close()
    status.send(status_of(stats, out, done=True))
    return 0


def _yield_to_the_forwarding() -> None:
    """Run at the lowest priority. With a core to spare this process runs at full speed; on a
    busy machine the scheduler lets the forwarding threads (and the peers) in first, and this
    process catches up later from the pipe and the recorder's backlog. At the default priority
    it kept a core when a forwarding thread woke, and the round trips through the proxy got a
    millisecond tail (docs/benchmarks.md "The recorder's forwarding path")."""
    try:
        os.nice(_LOWEST_PRIORITY)
    except (AttributeError, OSError):
        pass  # no nice() here: the capture still works, the tail is just longer


def _warn(status: StatusPipe, warnings: list[str], text: str) -> None:
    warnings.append(text)
    status.send({"warnings": list(warnings)})


def _serve(data_fd: int, reader: FrameReader, pending: list[Frame], feed: RecordingFeed,
           status: StatusPipe, out: RecordWriter) -> None:
    """Apply frames until STOP or the end of the pipe; status at most every _STATUS_SECONDS."""
    next_status = 0.0
    while True:
        for frame in pending:
            if frame.kind is Kind.STOP:
                return
            _apply(frame, feed)
        out.tick()
        now = time.monotonic()
        if now >= next_status:
            status.send(status_of(feed.stats, out))
            next_status = now + _STATUS_SECONDS
        more = _read_frames(data_fd, reader, _STATUS_SECONDS)
        if more is None:
            return
        pending = more


def _read_frames(fd: int, reader: FrameReader, timeout: float | None) -> list[Frame] | None:
    """The frames one read brings ([] after `timeout` with nothing to read); None at the end."""
    if timeout is not None and not select.select([fd], [], [], timeout)[0]:
        return []
    data = os.read(fd, _READ_BYTES)
    if not data:
        return None
    reader.receive_data(data)
    return reader.frames()


def _apply(frame: Frame, feed: RecordingFeed) -> None:
    kind = frame.kind
    if kind is Kind.CHUNK:
        feed.chunk(frame.ts_ns, frame.conn, _DIRECTIONS[frame.direction], frame.payload)
    elif kind is Kind.FINISH:
        feed.finish(frame.ts_ns, frame.conn, _DIRECTIONS[frame.direction])
    elif kind is Kind.RECORD:
        feed.record(frame.unpickled())
    elif kind is Kind.LOST:
        feed.lost(frame.ts_ns, frame.conn, _DIRECTIONS[frame.direction], *frame.lost())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""PipeCapture (proxy/capture_pipe.py) over a real pipe: what the relay's threads hand in comes
out in order even when the reader falls behind; past the budget chunks are counted as lost and
reported before the next chunk of their direction; a reader that goes away stops the capture,
never the caller."""

from __future__ import annotations

import os
import threading
import time

from utauproxy.clock import CaptureClock
from utauproxy.proxy.capture_frames import Frame, FrameReader, Kind
from utauproxy.proxy.capture_pipe import PipeCapture
from utauproxy.records import ConnectionRecord, ConnEvent, Direction

OU, PLUGIN = Direction.OU_TO_PLUGIN, Direction.PLUGIN_TO_OU


class PipeReader:
    """Reads every frame from the pipe on a thread, once `go` is set."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.frames: list[Frame] = []
        self.go = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.go.wait()
        reader = FrameReader()
        while data := os.read(self.fd, 65536):
            reader.receive_data(data)
            self.frames += reader.frames()
        os.close(self.fd)

    def join(self) -> list[Frame]:
        self._thread.join(10)
        return self.frames


def _pipe(budget: int, warnings: list[str] | None = None, go: bool = True) -> tuple[PipeCapture, PipeReader]:
    read_fd, write_fd = os.pipe()
    reader = PipeReader(read_fd)
    if go:
        reader.go.set()
    on_warning = warnings.append if warnings is not None else (lambda text: None)
    return PipeCapture(write_fd, CaptureClock(), budget_bytes=budget, on_warning=on_warning), reader


def test_a_slow_reader_gets_everything_in_order_and_the_caller_never_waits() -> None:
    capture, reader = _pipe(budget=64 << 20, go=False)  # nobody reads: the pipe fills up
    chunks = [bytes([i % 251]) * 50_000 + b"\n" for i in range(100)]  # 5 MB, many pipes full
    capture.connection(1, ConnEvent.OPEN, None, {})

    def hand_in(direction: Direction) -> None:
        for i, chunk in enumerate(chunks):
            if i % 2 == direction:
                capture.chunk(1, direction, chunk)

    threads = [threading.Thread(target=hand_in, args=(d,)) for d in Direction]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
        assert not thread.is_alive()  # returned although nothing was read
    assert capture.backlog_bytes > 0
    reader.go.set()
    capture.finish(1, OU)
    capture.stop()
    frames = reader.join()
    assert [f.kind for f in frames][0] is Kind.RECORD and frames[-1].kind is Kind.STOP
    got = [f for f in frames if f.kind is Kind.CHUNK]
    for direction in Direction:  # each thread's chunks, in its order, none lost
        assert [f.payload for f in got if f.direction == direction] == chunks[direction::2]
    assert [f.ts_ns for f in got] == sorted(f.ts_ns for f in got)  # one order for both threads
    assert frames[-2].kind is Kind.FINISH and capture.failure is None


def test_past_the_budget_chunks_are_lost_and_reported_before_the_next_one() -> None:
    warnings: list[str] = []
    capture, reader = _pipe(budget=3 << 20, warnings=warnings, go=False)
    piece = b"x" * 99_999 + b"\n"
    for _ in range(60):  # 6 MB: the pipe takes about 1 MB, the budget 3 MB, the rest is lost
        capture.chunk(7, PLUGIN, piece)
    capture.chunk(7, PLUGIN, b"tail of a line without its end")
    assert warnings == ["capture is falling behind the wire; bytes are being skipped"]
    reader.go.set()
    while capture.backlog_bytes:
        time.sleep(0.01)
    capture.chunk(7, PLUGIN, b"after\n")
    capture.stop()
    frames = reader.join()
    delivered = [f for f in frames if f.kind is Kind.CHUNK]
    [lost] = [f for f in frames if f.kind is Kind.LOST]
    lost_bytes, lost_lines, ends_on_line_end = lost.lost()
    assert sum(len(f.payload) for f in delivered[:-1]) + lost_bytes == 60 * len(piece) + 30
    assert lost_lines == 60 - len(delivered[:-1]) and not ends_on_line_end
    assert frames.index(lost) == len(frames) - 3  # right before "after\n", then STOP
    assert delivered[-1].payload == b"after\n"


def test_a_reader_that_goes_away_stops_the_capture_not_the_caller() -> None:
    read_fd, write_fd = os.pipe()
    capture = PipeCapture(write_fd, CaptureClock())
    os.close(read_fd)
    capture.chunk(1, OU, b"request:1:init {}\n")
    capture.connection(1, ConnEvent.CLOSED, None, {})
    capture.record(ConnectionRecord(1, 1, ConnEvent.CLOSED))
    assert capture.failure is not None and "stopped reading" in capture.failure
    capture.stop()  # returns, and closes its end

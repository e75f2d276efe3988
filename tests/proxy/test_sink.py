"""The capture sink: the disk never slows the caller, memory stays within the budget, and a
failing disk stops the capture (warned once), not the caller."""

from __future__ import annotations

import io
import random
import threading
import time
from pathlib import Path

from utauproxy.capture.reader import CaptureReader
from utauproxy.capture.writer import CaptureWriter
from utauproxy.clock import CaptureClock
from utauproxy.proxy.sink import CaptureSink
from utauproxy.records import CaptureHeader, Direction, GapRecord, MessageRecord

HEADER = CaptureHeader(1, 0, "test", "2026-01-01T00:00:00Z", "test", "auto")


class SlowFile(io.FileIO):
    """A real file whose writes stall until released, like a disk that fell behind."""

    def __init__(self, path: Path, release: threading.Event) -> None:
        super().__init__(path, "w+b")
        self._release = release

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._release.wait()
        return super().write(data)


class FullDisk(io.FileIO):
    """A real file that fails with ENOSPC once `limit` bytes are on it."""

    def __init__(self, path: Path, limit: int) -> None:
        super().__init__(path, "w+b")
        self._limit = limit

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.tell() + len(data) > self._limit:
            raise OSError(28, "No space left on device")
        return super().write(data)


def _message(i: int, size: int) -> MessageRecord:
    return MessageRecord(i, 1, Direction.OU_TO_PLUGIN, b"notification:updateAudio " + bytes(size))


def test_a_stalled_disk_costs_a_gap_record_not_a_blocked_caller(tmp_path: Path) -> None:
    release = threading.Event()
    path = tmp_path / "slow.utpcap"
    warnings: list[str] = []
    release.set()  # the header goes out before the stall
    slow = SlowFile(path, release)
    writer = CaptureWriter(slow, HEADER, chunk_max_bytes=1 << 20)
    release.clear()
    with CaptureSink(writer, CaptureClock(), budget_bytes=4 << 20, on_warning=warnings.append) as sink:
        for i in range(40):  # 40 MB against a 4 MB budget while the disk is stalled
            sink.put(_message(i, 1 << 20))
        assert len(warnings) == 1 and "falling behind" in warnings[0]
        release.set()
    with CaptureReader.open(path) as reader:
        records = list(reader.records())
    kept = [r for r in records if isinstance(r, MessageRecord)]
    gaps = [r for r in records if isinstance(r, GapRecord)]
    assert 1 <= len(kept) <= 5  # what fit in the budget, in order
    assert [r.ts_ns for r in kept] == sorted(r.ts_ns for r in kept)
    assert sum(g.lost_messages for g in gaps) == 40 - len(kept)
    assert sum(g.lost_bytes for g in gaps) == sum(_message(i, 1 << 20).wire_len for i in range(len(kept), 40))


def test_a_full_disk_stops_the_capture_once_and_keeps_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "full.utpcap"
    warnings: list[str] = []
    writer = CaptureWriter(FullDisk(path, 300_000), HEADER, chunk_max_bytes=64 << 10)
    with CaptureSink(writer, CaptureClock(), on_warning=warnings.append) as sink:
        for i in range(200):
            noise = random.Random(i).randbytes(10_000)  # incompressible: the disk fills for real
            sink.put(MessageRecord(i, 1, Direction.PLUGIN_TO_OU, b"response:%d " % i + noise))
        deadline = time.monotonic() + 10
        while sink.failure is None and time.monotonic() < deadline:
            time.sleep(0.01)
        for i in range(200, 260):  # the caller goes on after the failure
            sink.put(_message(i, 100))
    assert sink.failure is not None and "No space" in sink.failure
    assert len(warnings) == 1
    with CaptureReader.open(path) as reader:  # no footer, but the chunks before the failure read
        assert reader.footer is None
        kept = [r for r in reader.records() if isinstance(r, MessageRecord)]
    assert kept and [r.ts_ns for r in kept] == list(range(len(kept)))

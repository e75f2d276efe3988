"""The capture process (proxy/capture_process.py, capture_child.py) against the inline capture
it replaces: the same calls make the same capture; the status comes back; a file that exists is
refused before anything is recorded; a capture process that dies stops the capture, not the
caller."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import anyio
import pytest

from utauproxy.capture.reader import CaptureReader
from utauproxy.clock import CaptureClock
from utauproxy.errors import CaptureError
from utauproxy.proxy.capture_input import CaptureInput, CaptureSpec, inline_capture
from utauproxy.proxy.capture_process import capture_process
from utauproxy.records import (
    CaptureHeader,
    ConnEvent,
    DiscoveryEvent,
    DiscoveryRecord,
    Direction,
    MessageFlags,
    MessageRecord,
    Record,
)

pytestmark = pytest.mark.anyio
OU, PLUGIN = Direction.OU_TO_PLUGIN, Direction.PLUGIN_TO_OU
HEADER = CaptureHeader(1, 0, "utauproxy test", "2026-01-01T00:00:00Z", "test", "auto")


Opener = Callable[..., AbstractAsyncContextManager[Any]]


def _spec(path: Path) -> CaptureSpec:
    return CaptureSpec(path, HEADER, CaptureClock(), 64 << 20)


def _session(capture: CaptureInput) -> None:
    capture.record(DiscoveryRecord(0, DiscoveryEvent.FOUND, {"name": "Vocal"}))
    capture.connection(1, ConnEvent.OPEN, None, {"client_port": 1234})
    capture.chunk(1, OU, b"request:a:init {}\nrequest:b:upd")
    capture.chunk(1, PLUGIN, b'response:a {"success": true}\n')
    capture.chunk(1, OU, b"ateUstx " + b"x" * 3_000_000 + b"\n")  # a big line: pieces
    capture.chunk(1, PLUGIN, b"response:b {}")
    capture.finish(1, OU)
    capture.finish(1, PLUGIN)
    capture.connection(1, ConnEvent.CLOSED, None, {})


def _without_time(record: Record) -> tuple[object, ...]:
    fields = {name: getattr(record, name) for name in record.__dataclass_fields__ if name != "ts_ns"}
    return (type(record).__name__, *fields.items())


def _lines(messages: list[MessageRecord]) -> list[tuple[Direction, bytes]]:
    """Whole lines per direction, a big line's pieces put back together."""
    lines: list[tuple[Direction, bytes]] = []
    pieces: dict[Direction, list[bytes]] = {d: [] for d in Direction}
    for m in messages:
        pieces[m.direction].append(m.raw)
        if not m.flags & MessageFlags.CONTINUED:
            lines.append((m.direction, b"".join(pieces[m.direction])))
            pieces[m.direction].clear()
    return lines


async def _record(open_capture: Opener, path: Path) -> tuple[list[tuple[object, ...]], Any]:
    async with open_capture(_spec(path)) as running:
        _session(running.input)
    with CaptureReader.open(path) as reader:
        assert reader.footer is not None
        return [_without_time(r) for r in reader.records()], running


async def test_the_process_writes_what_the_inline_capture_writes(tmp_path: Path) -> None:
    inline, _ = await _record(inline_capture, tmp_path / "inline.utpcap")
    separate, running = await _record(capture_process, tmp_path / "process.utpcap")
    assert separate == inline
    with CaptureReader.open(tmp_path / "process.utpcap") as reader:
        messages = [r for r in reader.records() if isinstance(r, MessageRecord)]
    assert _lines(messages) == [(OU, b"request:a:init {}"), (PLUGIN, b'response:a {"success": true}'),
                                (OU, b"request:b:updateUstx " + b"x" * 3_000_000), (PLUGIN, b"response:b {}")]
    # The status came back: the counters a status line shows, and the size on disk.
    assert running.stats.connections_total == 1 and running.stats.connections_open == 0
    assert running.stats.messages["request:init"] == 1 and running.stats.total_messages >= 3
    assert running.stats.wire_bytes[OU] == 31 + 3_000_009
    assert running.bytes_written == (tmp_path / "process.utpcap").stat().st_size
    assert running.failure is None


async def test_an_existing_file_is_refused_before_anything_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "taken.utpcap"
    path.write_bytes(b"mine")
    with pytest.raises(CaptureError, match="refusing to overwrite"):
        async with capture_process(_spec(path)):
            pytest.fail("must not get here")
    assert path.read_bytes() == b"mine"


async def test_a_dead_capture_process_stops_the_capture_not_the_caller(tmp_path: Path) -> None:
    warnings: list[str] = []
    async with capture_process(_spec(tmp_path / "c.utpcap"), on_warning=warnings.append) as running:
        running.input.chunk(1, OU, b"request:a:init {}\n")
        os.kill(running.pid, signal.SIGKILL)
        with anyio.fail_after(10):
            while running.input.failure is None:  # noticed at the next write
                running.input.chunk(1, OU, b"request:b:init {}\n" * 1000)
                await anyio.sleep(0.01)
    assert running.failure is not None
    assert any("capture" in text for text in warnings)

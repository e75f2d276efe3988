"""The recorder's capture process, seen from the recorder: it is started with the capture's
spec, fed through a PipeCapture, and reports traffic counters, warnings and failures back.

Why a process (docs/benchmarks.md "The recorder's forwarding path"): framing, CBOR encoding,
compression and the footer's statistics cost tens of microseconds of Python per message. On a
thread of the recorder they hold the interpreter lock the forwarding threads need, which added
three times socat's latency to every round trip; in their own process they run on the other
core and the forwarding threads only pay for one pipe write per chunk.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio

from utauproxy.errors import CaptureError
from utauproxy.proxy.capture_frames import FrameReader, Kind, pickled_frame, write_all
from utauproxy.proxy.capture_input import CaptureSpec
from utauproxy.proxy.capture_pipe import PipeCapture
from utauproxy.proxy.tap import TrafficStats
from utauproxy.records import Direction

_PIPE_BYTES = 1 << 20  # room for a few 256 KiB chunks before the shipper thread is needed
_F_SETPIPE_SZ = 1031  # Linux fcntl; elsewhere the default pipe size only means an earlier backlog
_STATUS_READ_BYTES = 1 << 16


class CaptureProcess:
    """A running capture process: `input` for the relay, `stats` for the status line."""

    def __init__(self, proc: subprocess.Popen[bytes], pipe: PipeCapture, status_fd: int,
                 on_warning: Callable[[str], None]) -> None:
        self._proc = proc
        self.input = pipe
        self._status_fd = status_fd
        self._status = FrameReader()
        self._on_warning = on_warning
        self._warnings_seen = 0
        self._failure: str | None = None
        self._error: str | None = None
        self._opened = False
        self._done = False
        self._stopped = False
        self.stats = TrafficStats()
        self.bytes_written = 0

    @property
    def pid(self) -> int:
        """The capture process's id (for a status report, or a test that kills it)."""
        return self._proc.pid

    @property
    def failure(self) -> str | None:
        """Why the capture stopped being written (or was never finished), if it did."""
        return self._failure or self.input.failure

    async def opened(self) -> None:
        """Wait for the process's first report: the capture file exists, or why it cannot."""
        while not self._opened:
            if not await self._read_status():
                raise CaptureError(self._error or "the capture process ended before it created the capture")

    async def watch_status(self) -> None:
        """Apply what the process reports until it closes its end."""
        while await self._read_status():
            pass

    async def _read_status(self) -> bool:
        await anyio.wait_readable(self._status_fd)
        return self._read_status_now()

    def _read_status_now(self) -> bool:
        """Read and apply what is there; False at the end of the pipe."""
        data = os.read(self._status_fd, _STATUS_READ_BYTES)
        self._status.receive_data(data)
        for frame in self._status.frames():
            self.apply(frame.unpickled())
        return bool(data)

    def apply(self, status: dict[str, Any]) -> None:
        """One status report from the process (some keys only)."""
        if "messages" in status:
            self._apply_counters(status)
        for text in status.get("warnings", [])[self._warnings_seen:]:
            self._warnings_seen += 1
            self._on_warning(text)
        self._error = self._error or status.get("error")
        self._opened = self._opened or bool(status.get("opened"))
        self._done = self._done or bool(status.get("done"))

    def _apply_counters(self, status: dict[str, Any]) -> None:
        stats = self.stats  # updated in place: callers hold on to it
        stats.messages.clear()
        stats.messages.update(status["messages"])
        stats.wire_bytes.clear()
        stats.wire_bytes.update({Direction(d): n for d, n in status["wire_bytes"].items()})
        stats.connections_open = status["connections_open"]
        stats.connections_total = status["connections_total"]
        stats.last = status["last"]
        self.bytes_written = status["bytes_written"]
        self._failure = self._failure or status["failure"]

    async def stop(self) -> None:
        """Everything handed in so far goes to disk with the footer; waits for the process
        and its last report. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        await anyio.to_thread.run_sync(self.input.stop)
        await anyio.to_thread.run_sync(self._proc.wait)
        while self._read_status_now():  # the process has exited: this never blocks
            pass
        if self._opened and not self._done and self._failure is None:
            self._failure = (f"the capture process ended (exit status {self._proc.returncode}) "
                             "before it finished the capture")
            self._on_warning(f"capture write failed: {self._failure}")


@asynccontextmanager
async def capture_process(spec: CaptureSpec, *, on_warning: Callable[[str], None] = lambda message: None
                          ) -> AsyncIterator[CaptureProcess]:
    """Start the capture process for `spec` and yield it once the capture file exists
    (CaptureError if it cannot be created). On exit it writes what it was given and the
    footer, even when the caller is being cancelled."""
    proc, data_fd, status_fd = _spawn()
    try:
        write_all(data_fd, pickled_frame(Kind.OPEN, spec))
    except OSError:
        pass  # the process is already gone: opened() says so
    pipe = PipeCapture(data_fd, spec.clock, budget_bytes=spec.budget_bytes, on_warning=on_warning)
    capture = CaptureProcess(proc, pipe, status_fd, on_warning)
    try:
        await capture.opened()
        async with anyio.create_task_group() as tg:
            tg.start_soon(capture.watch_status)
            try:
                yield capture
            finally:
                with anyio.CancelScope(shield=True):
                    await capture.stop()
    finally:
        with anyio.CancelScope(shield=True):
            await capture.stop()
        os.close(status_fd)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _spawn() -> tuple[subprocess.Popen[bytes], int, int]:
    data_r, data_w = os.pipe()
    status_r, status_w = os.pipe()
    try:
        os.set_inheritable(data_r, True)
        os.set_inheritable(status_w, True)
        _widen(data_w)
        proc = subprocess.Popen(
            [sys.executable, "-m", "utauproxy.proxy.capture_child", str(data_r), str(status_w)],
            pass_fds=(data_r, status_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    except BaseException:
        for fd in (data_r, data_w, status_r, status_w):
            os.close(fd)
        raise
    os.close(data_r)
    os.close(status_w)
    return proc, data_w, status_r


def _widen(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, _F_SETPIPE_SZ, _PIPE_BYTES)
    except (ImportError, OSError):
        pass

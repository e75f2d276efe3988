"""Recording programmatically: `utauproxy record` as a context manager.

    async with recording("session.utpcap", discovery_dir=folder) as rec:
        ...   # OpenUtau and the plugin talk through the proxy
    # discovery entries restored, capture closed with its footer

`with recording(...)` works the same from synchronous code (the recorder then runs in a
helper thread).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import anyio

from utauproxy.api.dual import DualContext
from utauproxy.discovery.entry import is_ours
from utauproxy.discovery.folder import look_at
from utauproxy.discovery.live import LiveEntry
from utauproxy.discovery.paths import default_discovery_dir
from utauproxy.errors import CaptureError
from utauproxy.proxy.recorder import RecordingState, RecordOptions, run_record
from utauproxy.proxy.tap import TrafficStats

_SETTLE_POLL = 0.02


@dataclass
class Recording:
    """A running (then finished) recorder, as `recording()` yields it."""

    output: Path
    discovery_dir: Path
    state: RecordingState
    warnings: list[str] = field(default_factory=list)
    failure: str | None = None  # set after the block when the capture could not be completed

    @property
    def stats(self) -> TrafficStats:
        """Live counters: messages by label, wire bytes, connections open and total."""
        return self.state.stats

    @property
    def entries(self) -> dict[str, LiveEntry]:
        """The plugin entries taken over right now, by file name."""
        return dict(self.state.entries)

    @property
    def proxy_ports(self) -> list[int]:
        """The proxy's listening ports, one per plugin entry taken over, as the rewritten
        discovery files advertise them to OpenUtau."""
        ports = []
        for name in sorted(self.state.entries):
            seen = look_at(self.discovery_dir, name)
            if seen is not None and seen.parsed is not None and seen.text and is_ours(seen.text):
                ports.append(seen.parsed.port)
        return ports

    @property
    def connections(self) -> int:
        """Connections recorded so far."""
        return self.state.stats.connections_total

    @property
    def messages(self) -> int:
        return self.state.stats.total_messages

    @property
    def capture_bytes(self) -> int:
        return self.state.capture_bytes

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no proxied connection is open (at most `timeout` seconds); True if so."""
        with anyio.move_on_after(timeout):
            while self.state.stats.connections_open:
                await anyio.sleep(_SETTLE_POLL)
            return True
        return False


def recording(output: str | os.PathLike[str], *, discovery_dir: str | os.PathLike[str] | None = None,
              note: str = "", watchdog: bool = True, settle: float = 2.0,
              poll_interval: float = 0.1) -> DualContext[Recording]:
    """Record every plugin entry in `discovery_dir` (default: OpenUtau's folder) to the new file
    `output` (never overwritten: CaptureError if it exists) for the duration of the block.

    Entering returns once every live entry has been taken over; entries that appear later are
    taken over as they come. On a normal exit the recorder first waits up to `settle` seconds
    for open connections to end, then restores the discovery files and closes the capture with
    its footer; on an exception it stops at once (the capture is still closed properly).
    `watchdog=False` skips the helper process that restores the entries if this process is
    killed. Raises CaptureError after the block if the capture could not be completed.
    """
    folder = Path(discovery_dir) if discovery_dir is not None else default_discovery_dir()
    options = RecordOptions(Path(output), folder, note=note, poll_interval=poll_interval,
                            watchdog=watchdog)
    return DualContext(partial(_record, options, settle))


@asynccontextmanager
async def _record(options: RecordOptions, settle: float) -> AsyncIterator[Recording]:
    if options.output.exists() or options.output.is_symlink():
        raise CaptureError(f"refusing to overwrite {os.fspath(options.output)!r}: it exists")
    warnings: list[str] = []
    failure: BaseException | None = None
    async with anyio.create_task_group() as tasks:
        state: RecordingState = await tasks.start(
            partial(run_record, options, on_warning=warnings.append))
        handle = Recording(options.output, options.discovery_dir, state, warnings)
        try:
            yield handle
            await handle.wait_idle(settle)
        except BaseException as exc:  # re-raised below as it is, not in an exception group
            failure = exc
        finally:
            # run_record then restores the entries and writes the footer before it returns.
            state.stop.set()
    if failure is not None:
        raise failure
    handle.failure = state.capture.failure
    if handle.failure is not None:
        raise CaptureError(f"capture {os.fspath(options.output)!r} is incomplete: {handle.failure}")

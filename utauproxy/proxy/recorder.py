"""`utauproxy record` as one structured session: takeover, listeners, relays and the capture.

Shutdown order matters and is given by nesting: the takeover restores the discovery files first
(so OpenUtau never finds an entry pointing at a dead port), then connections are torn down, then
the capture (its process, or the inline sink) writes what it was handed and the footer.
"""

from __future__ import annotations

import os
import platform
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import anyio
import structlog
from anyio.abc import TaskGroup, TaskStatus

from utauproxy import __version__
from utauproxy.capture.layout import FORMAT_MAJOR, FORMAT_MINOR
from utauproxy.clock import CaptureClock
from utauproxy.discovery.folder import look_at_folder
from utauproxy.discovery.live import LiveEntry
from utauproxy.discovery.takeover import run_takeover
from utauproxy.errors import DiscoveryError
from utauproxy.protocol.events import Dialect
from utauproxy.proxy.capture_input import CaptureSpec, inline_capture
from utauproxy.proxy.capture_pipe import DEFAULT_BUDGET_BYTES
from utauproxy.proxy.capture_process import capture_process
from utauproxy.proxy.context import ProxyContext
from utauproxy.proxy.listen import accept, open_loopback_listener
from utauproxy.proxy.relay import relay_connection
from utauproxy.proxy.tap import TrafficStats
from utauproxy.records import CaptureHeader, DiscoveryRecord

log = structlog.get_logger("utauproxy.record")


@dataclass(frozen=True)
class RecordOptions:
    output: Path
    discovery_dir: Path
    note: str = ""
    mark: str = "recording"
    poll_interval: float = 0.1
    watchdog: bool = True
    header_extra: dict[str, Any] = field(default_factory=dict)
    # The recording work in a process of its own (proxy/capture_process.py); it needs POSIX
    # pipe inheritance, elsewhere it runs on this process's threads (slower forwarding).
    capture_process: bool = os.name == "posix"


class CaptureOutput(Protocol):
    """The capture being written, as the recorder's users see it."""

    @property
    def failure(self) -> str | None: ...

    @property
    def bytes_written(self) -> int: ...


@dataclass
class RecordingState:
    """What a running recorder exposes: to the status line, to tests, to `demo`."""

    output: Path
    stats: TrafficStats
    capture: CaptureOutput
    entries: dict[str, LiveEntry] = field(default_factory=dict)
    stop: anyio.Event = field(default_factory=anyio.Event)

    @property
    def capture_bytes(self) -> int:
        return self.capture.bytes_written


@dataclass
class _Route:
    """Where one listener forwards to; the plugin may move (PROTOCOL.md §1.3 rewrites)."""

    entry: LiveEntry
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)

    @property
    def info(self) -> dict[str, object]:
        return {"entry_file": self.entry.file, "entry_name": self.entry.name}


class ProxyListeners:
    """The takeover's ListenerHooks: one 127.0.0.1 listener per plugin entry."""

    def __init__(self, tg: TaskGroup, ctx: ProxyContext, state: RecordingState) -> None:
        self._tg = tg
        self._ctx = ctx
        self._state = state
        self._routes: dict[str, _Route] = {}

    async def open_listener(self, entry: LiveEntry) -> int:
        # DESIGN.md §5 and PROTOCOL.md §1.4: IPv4 loopback only, bound before the rewrite.
        listener = open_loopback_listener()
        port = int(listener.getsockname()[1])
        route = _Route(replace(entry, proxy_port=port))
        self._routes[entry.file] = route
        self._state.entries[entry.file] = route.entry
        self._tg.start_soon(self._serve, listener, route)
        return port

    async def update_upstream(self, entry: LiveEntry) -> None:
        self._routes[entry.file].entry = entry
        self._state.entries[entry.file] = entry

    async def close_listener(self, entry: LiveEntry) -> None:
        route = self._routes.pop(entry.file, None)
        self._state.entries.pop(entry.file, None)
        if route is not None:
            route.scope.cancel()

    async def _serve(self, listener: socket.socket, route: _Route) -> None:
        with listener, route.scope:
            while True:
                client = await accept(listener)
                self._tg.start_soon(relay_connection, client, route.entry.upstream_port, self._ctx,
                                    route.info)


def entries_as_found(folder: Path) -> list[dict[str, Any]]:
    """The plugin entries in `folder` before we touch anything, for the capture header
    (DESIGN.md §4: "discovery entry as found"). A read-only look: the takeover decides what
    is live and reports what it refuses."""
    try:
        seen = look_at_folder(folder) if folder.is_dir() else {}
    except DiscoveryError:
        return []
    return [LiveEntry.from_parsed(name, file.parsed).as_record() | {"text": file.text}
            for name, file in sorted(seen.items()) if file.parsed is not None]


def capture_header(clock: CaptureClock, options: RecordOptions) -> CaptureHeader:
    found = entries_as_found(options.discovery_dir)
    v1_2 = any(entry.get("dialect") == Dialect.V1_2.value for entry in found)
    return CaptureHeader(
        format_major=FORMAT_MAJOR,
        format_minor=FORMAT_MINOR,
        writer=f"utauproxy {__version__}",
        started_utc=clock.started_iso,
        host_os=platform.platform(),
        dialect=(Dialect.V1_2 if v1_2 else Dialect.AUTO).value,
        discovery=found,
        note=options.note,
        extra={"discovery_dir": str(options.discovery_dir), **options.header_extra},
    )


async def run_record(
    options: RecordOptions,
    *,
    on_warning: Callable[[str], None] = lambda message: None,
    task_status: TaskStatus[RecordingState] = anyio.TASK_STATUS_IGNORED,
) -> RecordingState:
    """Record until `state.stop` is set (or the caller cancels); returns the final state."""
    clock = CaptureClock()
    spec = CaptureSpec(options.output, capture_header(clock, options), clock, DEFAULT_BUDGET_BYTES)
    open_capture = capture_process if options.capture_process else inline_capture
    async with open_capture(spec, on_warning=on_warning) as capture:
        ctx = ProxyContext(capture.input)
        state = RecordingState(options.output, capture.stats, capture)

        def on_discovery(record: DiscoveryRecord) -> None:
            log.info(f"discovery {record.event.value}", **_loggable(record.entry))
            capture.input.record(record)

        async with anyio.create_task_group() as listeners:
            hooks = ProxyListeners(listeners, ctx, state)
            async with anyio.create_task_group() as takeover:
                await takeover.start(_takeover, options, hooks, on_discovery, clock.now)
                task_status.started(state)
                await state.stop.wait()
                takeover.cancel_scope.cancel()
            # Only now, with every entry restored, may our ports go: OpenUtau's probe deletes an
            # entry whose port it can bind (PROTOCOL.md §1.4), ours or the restored original.
            listeners.cancel_scope.cancel()
    return state


async def _takeover(options: RecordOptions, hooks: ProxyListeners,
                    on_discovery: Callable[[DiscoveryRecord], None],
                    clock: Callable[[], int],
                    *, task_status: TaskStatus[object] = anyio.TASK_STATUS_IGNORED) -> None:
    await run_takeover(options.discovery_dir, hooks, mark=options.mark, on_event=on_discovery,
                       poll_interval=options.poll_interval, watchdog=options.watchdog,
                       clock=clock, task_status=task_status)


def _loggable(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if v not in (None, "") and k not in ("original", "text")}

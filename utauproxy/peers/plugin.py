"""The simulated DAW plugin: listens on 127.0.0.1, publishes a discovery entry, serves one
OpenUtau at a time, and keeps what it was sent (PROTOCOL.md §1-§3, §5.1, §6).

    async with anyio.create_task_group() as tg:
        plugin = await tg.start(serve_plugin, PluginConfig(discovery_dir=tmp_path))
        ...                      # plugin.port, plugin.entry_path, plugin.ustx, plugin.audio
        await plugin.unload()    # closes the listener and deletes the entry
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import SocketAttribute, SocketListener, TaskGroup

from utauproxy.peers.entries import (
    bridge_entry_name,
    bridge_entry_text,
    choc_entry_text,
    default_discovery_dir,
    rewrite_in_place,
    write_atomically,
)
from utauproxy.peers.link import Link
from utauproxy.peers.plugin_conn import PluginConnection
from utauproxy.peers.plugin_logic import PluginState
from utauproxy.peers.rules import VersionRules, rules_for
from utauproxy.protocol.versions import ProtocolVersion


@dataclass(frozen=True, slots=True)
class PluginConfig:
    version: ProtocolVersion | str = ProtocolVersion.P6
    discovery_dir: Path | None = None  # None: the default OpenUtau folder
    name: str | None = None  # None: the uuid, as the S plugin names itself (§1.3)
    ping_interval: float = 5.0  # tests use ~0.05-0.2 s
    seed: int = 0
    response_jitter: float = 0.0  # max extra delay per S-style answer: out-of-order replies
    initial_ustx: str = ""  # the `ustx` state a host restored (answered to init)
    abort_like_real: bool = False  # on a line the real plugin dies of: RST, stop, keep the file
    record_wire: bool = False  # keep every byte of every connection (for tests)
    # S writes its entry once with an uninitialised port before binding (§1.3).
    constructor_entry: bool = True
    uuid: str | None = None  # the entry's file name stem; None: a fresh uuid4
    on_event: Callable[[str], None] | None = None  # one status line per notable event


class PluginHandle:
    """The running plugin, as `serve_plugin` reports it through `task_status.started()`."""

    def __init__(self, config: PluginConfig, rules: VersionRules, directory: Path) -> None:
        self.config = config
        self.rules = rules
        self.directory = directory
        self.uuid = config.uuid or str(uuid.uuid4())
        self.name = config.name or self.uuid
        self.port = 0
        self.entry_path = directory / f"{self.uuid}.json"
        self.rng = random.Random(config.seed)
        self.state = PluginState(ustx=config.initial_ustx)
        self.accepted = 0
        self.rejected = 0
        self.received_lines = 0
        self.received_frames = 0
        self.links: list[Link] = []  # every accepted connection, in order
        self.active: Link | None = None
        self.aborted: str | None = None
        self.last_ping = -math.inf  # per plugin instance, not per connection (§2.2)
        self._stop = anyio.Event()
        self._done = anyio.Event()
        self._closed = 0
        self._closed_changed = anyio.Event()

    # -- state for tests ------------------------------------------------------------------

    @property
    def ustx(self) -> str:
        return self.state.ustx

    @property
    def tracks(self) -> list[dict[str, Any]]:
        return self.state.tracks

    @property
    def layout(self) -> list[dict[str, Any]]:
        return self.state.layout

    @property
    def audio(self) -> dict[int, bytes]:
        return self.state.audio

    @property
    def crash_reasons(self) -> list[str]:
        return self.state.crash_reasons

    @property
    def closed_connections(self) -> int:
        return self._closed

    # -- actions --------------------------------------------------------------------------

    def emit(self, text: str) -> None:
        if self.config.on_event is not None:
            self.config.on_event(text)

    async def rename(self, name: str, *, pause: float = 0.0) -> None:
        """The user renames the plugin: S rewrites its file in place, truncate then write
        (§1.3), half-written for `pause` seconds; the bridge writes `.tmp` and renames."""
        self.name = name
        if self.rules.bridge:
            write_atomically(self.entry_path, bridge_entry_text(self.port, name))
        else:
            await rewrite_in_place(self.entry_path, choc_entry_text(self.port, name), pause=pause)
        self.emit(f"renamed to {name!r}")

    async def unload(self) -> None:
        """The host removes the plugin: close everything, delete the entry (§1.3)."""
        self._stop.set()
        await self._done.wait()

    async def send_notification(self, kind: str, data: dict[str, Any] | None = None) -> bool:
        """Send `notification:<kind>` to the connected OpenUtau; False when nobody is."""
        if self.active is None:
            return False
        payload = self.rules.plugin_json.dumpb(data or {})
        return await self.active.send_line(f"notification:{kind} ".encode() + payload)

    async def playback_started(self) -> bool:
        """The DAW starts playing: R and v1.2 tell OpenUtau, which flushes its debounces."""
        if not self.rules.playback_started:
            raise ValueError(f"{self.rules.version.value} has no playbackStarted notification")
        return await self.send_notification("playbackStarted")

    async def wait_stopped(self) -> None:
        """Until the plugin has stopped (unloaded, aborted or cancelled) and cleaned up."""
        await self._done.wait()

    async def wait_closed(self, count: int = 1) -> None:
        """Until `count` connections (in total) have ended."""
        while self._closed < count:
            await self._closed_changed.wait()

    async def abort(self, link: Link, reason: str) -> None:
        """Die like a host that hit std::terminate: RST, listener gone, stale entry left."""
        self.aborted = reason
        await link.abort()
        self._stop.set()

    # -- serving --------------------------------------------------------------------------

    async def publish(self) -> None:
        if self.rules.bridge:
            self.entry_path = self.directory / f"{bridge_entry_name(self.port)}.json"
            if self.config.name is None:
                self.name = bridge_entry_name(self.port)
            write_atomically(self.entry_path, bridge_entry_text(self.port, self.name))
        else:
            await rewrite_in_place(self.entry_path, choc_entry_text(self.port, self.name))
        self.emit(f"listening on 127.0.0.1:{self.port}, entry {self.entry_path}")

    async def accept_loop(self, listener: SocketListener, tasks: TaskGroup) -> None:
        while True:
            stream = await listener.accept()
            if self.rules.backlog_second_client:
                # The bridge serves one client and does not accept meanwhile: the next one
                # waits in the kernel backlog (§5.1).
                await self._serve(Link(stream, self.rules.dialect, record=self.config.record_wire))
            elif self.active is not None:
                # S closes a second client at once without a byte (§3.6.8).
                self.rejected += 1
                self.emit("closed a second connection (one client at a time)")
                await stream.aclose()
            else:
                link = Link(stream, self.rules.dialect, record=self.config.record_wire)
                self.active = link
                tasks.start_soon(self._serve, link)

    async def _serve(self, link: Link) -> None:
        self.active = link
        self.accepted += 1
        self.links.append(link)
        self.emit(f"OpenUtau connected from port {link.peer_port}")
        try:
            await PluginConnection(self, link).run()
        finally:
            await link.aclose()
            self.active = None
            self._closed += 1
            self._closed_changed.set()
            self._closed_changed = anyio.Event()
            self.emit(f"connection closed ({link.received_bytes} bytes in, {link.sent_bytes} out)")


async def serve_plugin(config: PluginConfig, *,
                       task_status: anyio.abc.TaskStatus[PluginHandle] = anyio.TASK_STATUS_IGNORED
                       ) -> None:
    """Run a simulated plugin until `unload()` (or cancellation). Reports its handle with
    `task_status.started()` once it listens and its discovery entry is written."""
    rules = rules_for(config.version)
    directory = Path(config.discovery_dir or default_discovery_dir())
    directory.mkdir(parents=True, exist_ok=True)  # create_directories, like the plugin
    handle = PluginHandle(config, rules, directory)
    listeners = None
    try:
        if not rules.bridge and config.constructor_entry:
            await rewrite_in_place(handle.entry_path, choc_entry_text(0, handle.uuid))
        listeners = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        listener = listeners.listeners[0]
        assert isinstance(listener, SocketListener)
        handle.port = int(listener.extra(SocketAttribute.local_port))
        await handle.publish()
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(handle.accept_loop, listener, tasks)
            task_status.started(handle)
            await handle._stop.wait()
            tasks.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            if listeners is not None:
                await listeners.aclose()
            if handle.aborted is None:
                handle.entry_path.unlink(missing_ok=True)
            handle._done.set()
            handle.emit("unloaded" if handle.aborted is None else f"aborted: {handle.aborted}")

"""One accepted connection of the simulated plugin: the reader loop, pings, replies and, for
API v1.2, the audio puller. plugin.py owns the listener and the discovery file."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import anyio
from anyio.abc import TaskGroup

from utauproxy.peers.jsonstyle import NLOHMANN
from utauproxy.peers.link import Link, fresh_uuid
from utauproxy.peers.plugin_logic import (
    Action,
    CloseLink,
    Crash,
    PluginLogic,
    Pull,
    PullFailed,
    Reply,
)
from utauproxy.protocol.audio import xxh64
from utauproxy.protocol.events import AudioFrame, EndOfStream, LinePiece
from utauproxy.protocol.header import message_label

if TYPE_CHECKING:
    from utauproxy.peers.plugin import PluginHandle

PULL_TIMEOUT = 10.0  # the v1.2 request timeout (§5.1)


class AudioPuller:
    """The bridge pulls missing audio itself, one `getAudio` request at a time (§5.1)."""

    def __init__(self, link: Link, logic: PluginLogic, rng: random.Random) -> None:
        self._link = link
        self._logic = logic
        self._rng = rng
        self._queue: list[int] = []
        self._wakeup = anyio.Event()
        self._waiting: tuple[str, int] | None = None
        self._answer = anyio.Event()
        self._frame: AudioFrame | None = None
        self._error: str | None = None
        self.pulled = 0

    def replace(self, hashes: tuple[int, ...]) -> None:
        """A new layout answered: pull what it lacks, forget what the old one lacked."""
        self._queue = list(hashes)
        self._wakeup.set()

    def deliver(self, frame: AudioFrame) -> None:
        if self._waiting is not None and frame.hash == self._waiting[1]:
            self._frame = frame
            self._answer.set()
        else:
            self._logic.state.ignored.append(f"unrequested audio frame {frame.hash}")

    def failed(self, answer: PullFailed) -> None:
        if self._waiting is not None and answer.request_id == self._waiting[0]:
            self._error = answer.error
            self._answer.set()
        else:
            self._logic.state.ignored.append(f"response to unknown request {answer.request_id}")

    async def run(self) -> None:
        while True:
            if not self._queue:
                self._wakeup = anyio.Event()
                await self._wakeup.wait()
                continue
            wanted = self._queue.pop(0)
            if wanted not in self._logic.state.audio:
                await self._pull(wanted)

    async def _pull(self, wanted: int) -> None:
        request_id = fresh_uuid(self._rng)
        self._waiting, self._frame, self._error = (request_id, wanted), None, None
        self._answer = anyio.Event()
        line = f"request:{request_id}:getAudio ".encode() + NLOHMANN.dumpb({"hash": str(wanted)})
        if not await self._link.send_line(line):
            return
        with anyio.move_on_after(PULL_TIMEOUT):
            await self._answer.wait()
        self._waiting = None
        state = self._logic.state
        if self._frame is None:
            state.decode_errors.append(f"{wanted}: getAudio failed: {self._error or 'timeout'}")
            return
        payload = self._frame.payload
        if len(payload) % 8 or xxh64(payload) != wanted:
            state.hash_mismatches.append(f"{wanted}: frame of {len(payload)} bytes does not match")
            return
        if any(part["audioHash"] == wanted for part in state.layout):
            state.audio[wanted] = payload
            self.pulled += 1


class PluginConnection:
    """Serves one client until it closes, resets, sends `close`, or the plugin stops."""

    def __init__(self, handle: PluginHandle, link: Link) -> None:
        self.handle = handle
        self.link = link
        self.rules = handle.rules
        self.logic = PluginLogic(handle.rules, handle.state)
        self.puller = AudioPuller(link, self.logic, handle.rng)

    async def run(self) -> None:
        async with anyio.create_task_group() as tasks:
            if self.rules.ping_from_timer:
                tasks.start_soon(self._ping_timer)
            if self.rules.bridge:
                tasks.start_soon(self.puller.run)
            await self._read_loop(tasks)
            tasks.cancel_scope.cancel()

    async def _read_loop(self, tasks: TaskGroup) -> None:
        # The S plugin's reader waits at most 1 s per read, then checks the ping clock (§2.2).
        interval = self.handle.config.ping_interval
        turn = None if self.rules.ping_from_timer else min(1.0, interval / 5)
        while True:
            for event in await self.link.receive_events(turn):
                if isinstance(event, EndOfStream):
                    return
                if isinstance(event, AudioFrame):
                    self.handle.received_frames += 1
                    self.puller.deliver(event)
                    continue
                if isinstance(event, LinePiece) or not event.terminated:
                    continue  # never a whole line: nothing the plugin would act on
                self.handle.received_lines += 1
                self._report(event.raw)
                if not await self._act(self.logic.on_line(event.raw), tasks):
                    return
            if turn is not None:
                await self._maybe_ping()

    def _report(self, raw: bytes) -> None:
        label = message_label(raw[:600])
        if label != "notification:ping":
            self.handle.emit(f"received {label} ({len(raw)} bytes)")

    async def _act(self, actions: list[Action], tasks: TaskGroup) -> bool:
        """Perform actions; False ends the connection."""
        for action in actions:
            if isinstance(action, Reply):
                if self.rules.in_order:
                    await self.link.send_line(action.line)
                else:
                    delay = self.handle.rng.uniform(0, self.handle.config.response_jitter)
                    tasks.start_soon(self._reply_later, action.line, delay)
            elif isinstance(action, Crash):
                self.handle.emit(f"a real host would abort here: {action.reason}")
                if self.handle.config.abort_like_real:
                    await self.handle.abort(self.link, action.reason)
                    return False
            elif isinstance(action, CloseLink):
                return False
            elif isinstance(action, Pull):
                self.puller.replace(action.hashes)
            elif isinstance(action, PullFailed):
                self.puller.failed(action)
        return True

    async def _reply_later(self, line: bytes, delay: float) -> None:
        # Each request runs on its own thread in the S plugin: answers come out of order (§6.2).
        await anyio.sleep(delay)
        await self.link.send_line(line)

    async def _maybe_ping(self) -> None:
        now = anyio.current_time()
        # lastPing belongs to the plugin instance, so the first connection is pinged at once.
        if now - self.handle.last_ping > self.handle.config.ping_interval:
            self.handle.last_ping = now
            await self.link.send_line(self.rules.ping_line)

    async def _ping_timer(self) -> None:
        while True:
            await anyio.sleep(self.handle.config.ping_interval)
            if not await self.link.send_line(self.rules.ping_line):
                return

"""The simulated OpenUtau: finds a plugin through the discovery folder, connects, and plays a
Scenario with the version's debounced bursts (PROTOCOL.md §1.4, §3.6, §4, §5.1).

    result = await run_openutau(OpenUtauConfig(discovery_dir=d, time_scale=0.02), scenario)

It never crashes on what the plugin sends: malformed lines are counted, a vanished plugin
is an entry in `result.errors`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
from anyio.abc import TaskGroup

from utauproxy.peers import ou_messages as wire
from utauproxy.peers.edits import EditError, apply_edit, rerendered_parts
from utauproxy.peers.entries import (
    default_discovery_dir,
    scan_like_openutau,
    scan_like_openutau_v1_2,
)
from utauproxy.peers.link import Link, fresh_uuid
from utauproxy.peers.ou_sync import Debouncer, PendingRequests
from utauproxy.peers.ou_types import (
    MIN_TIMEOUT,
    InjectedFaults,
    OpenUtauConfig,
    OpenUtauResult,
    hash_values,
    success_data,
)
from utauproxy.peers.rules import VersionRules, rules_for
from utauproxy.peers.session import Scenario, Step, StepKind
from utauproxy.peers.ustx import UstxError, parse_ustx, to_ustx
from utauproxy.protocol.audio import encode_audio_payload
from utauproxy.protocol.events import AudioFrame, EndOfStream, Malformed, Message
from utauproxy.protocol.header import HeaderType, message_label

__all__ = ["OpenUtauConfig", "OpenUtauResult", "run_openutau"]


@dataclass(slots=True)
class _Rendered:
    samples: bytes
    audio_hash: int


class _OpenUtau:
    def __init__(self, config: OpenUtauConfig, scenario: Scenario) -> None:
        self.config = config
        self.rules: VersionRules = rules_for(config.version)
        self.scenario = scenario
        self.scale = config.time_scale
        self.result = OpenUtauResult(version=self.rules.version)
        self.rng = random.Random(config.seed)
        self.salt = self.rng.randbytes(8)  # P5 hashes depend on the OpenUtau process
        self.project = scenario.initial
        self.rendered: dict[int, _Rendered] = {}
        self.encoded: dict[int, str] = {}
        self.pending = PendingRequests()
        self.awaited_pulls: set[int] = set()
        self.pulls_done = anyio.Event()
        self.link: Link | None = None
        self.debouncers: list[Debouncer] = []
        self.disconnecting = False
        self.faults = _FaultState(config.faults)

    def emit(self, text: str) -> None:
        if self.config.on_event is not None:
            self.config.on_event(text)

    # -- the run ------------------------------------------------------------------------

    async def run(self) -> OpenUtauResult:
        anchor = anyio.current_time()
        steps = list(self.scenario.steps)
        if steps and steps[0].kind is StepKind.CONNECT:
            await anyio.sleep_until(anchor + steps.pop(0).at * self.scale)
        port = self._find_port()
        if port is None:
            return self._finish()
        try:
            stream = await anyio.connect_tcp("127.0.0.1", port)
        except OSError as exc:
            self.result.errors.append(f"connect to {port} failed: {exc}")
            return self._finish()
        self.link = Link(stream, self.rules.dialect, record=self.config.record_wire)
        self.result.connected = True
        self.emit(f"connected to 127.0.0.1:{port}")
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._reader, tasks)
                if await self._init():
                    await self._session(tasks, steps, anchor)
                tasks.cancel_scope.cancel()
        finally:
            await self.link.aclose()
        return self._finish()

    def _find_port(self) -> int | None:
        if self.config.port is not None:
            self.result.port = self.config.port
            return self.config.port
        directory = Path(self.config.discovery_dir or default_discovery_dir())
        scan = (scan_like_openutau_v1_2(directory, delete=self.config.delete_invalid_entries)
                if self.rules.bridge
                else scan_like_openutau(directory, delete=self.config.delete_invalid_entries))
        self.result.scan = scan
        for path, reason in scan.deleted:
            self.emit(f"deleted {path.name}: {reason}")
        # S and R connect to entry [0] whatever the user picked (§1.4).
        self.result.entry = scan.first
        if scan.first is None:
            self.result.errors.append(scan.aborted or f"no live plugin entry in {directory}")
            return None
        self.result.port = scan.first.port
        return scan.first.port

    async def _session(self, tasks: TaskGroup, steps: list[Step], anchor: float) -> None:
        self._render_all()
        if self.rules.single_debounce:
            self.debouncers = [Debouncer(self.rules.ustx_debounce * self.scale, self._sync_all)]
        else:
            self.debouncers = [Debouncer(self.rules.ustx_debounce * self.scale, self._sync_ustx),
                               Debouncer(self.rules.layout_debounce * self.scale, self._sync_audio)]
        for debouncer in self.debouncers:
            tasks.start_soon(debouncer.run)
        if self.rules.sync_on_connect_and_render:
            self._trigger(anyio.current_time())  # DawConnectedNotification
        for step in steps:
            due = anchor + step.at * self.scale
            if due > anyio.current_time():  # an overdue step must not yield to a debounce
                await anyio.sleep_until(due)
            if step.kind is StepKind.DISCONNECT:
                break
            self._play(step, due)
        await self._disconnect()

    def _play(self, step: Step, due: float) -> None:
        if step.kind is StepKind.EDIT and step.edit is not None:
            try:
                self.project = apply_edit(self.project, step.edit)
            except EditError as exc:
                self.result.errors.append(f"edit skipped: {exc}")
                return
            for part in rerendered_parts(step.edit):
                self.rendered.pop(part, None)  # not in the layout until re-rendered (§3.4)
            self._trigger(due)
        elif step.kind is StepKind.RENDER_DONE and step.part is not None:
            if step.part < len(self.project.voice_parts):
                self._render(step.part)
                if self.rules.sync_on_connect_and_render:
                    self._trigger(due)  # PartRenderedNotification

    def _trigger(self, at: float) -> None:
        for debouncer in self.debouncers:
            debouncer.trigger(at)

    # -- rendering ----------------------------------------------------------------------

    def _render_all(self) -> None:
        for index in range(len(self.project.voice_parts)):
            self._render(index)

    def _render(self, index: int) -> None:
        samples = self.scenario.render(self.project, index)
        self.rendered[index] = _Rendered(samples, self.rules.audio_hash(samples, self.salt))

    def _known_audio(self) -> dict[int, bytes]:
        return {r.audio_hash: r.samples for r in self.rendered.values()}

    def _encoded(self, audio_hash: int, samples: bytes) -> str:
        if audio_hash not in self.encoded:
            assert self.rules.codec is not None
            self.encoded[audio_hash] = encode_audio_payload(samples, self.rules.codec)
        return self.encoded[audio_hash]

    # -- requests and bursts ------------------------------------------------------------

    async def _send(self, line: bytes) -> bool:
        assert self.link is not None
        if self.faults.swallows(line):
            return True
        already_broken = self.link.broken
        sent = await self.link.send_line(line)
        held = self.faults.release()
        if held is not None:
            await self.link.send_line(held)
        if sent:
            return True
        if not already_broken:  # real OpenUtau logs every failure; once is enough here
            self.result.errors.append(f"write failed (IOException): {line[:40]!r}")
        return False

    async def _request(self, build: Callable[[str], bytes], timeout: float) -> Message | None:
        request_id = fresh_uuid(self.rng)
        self.pending.open(request_id)
        if not await self._send(build(request_id)):
            return None
        return await self.pending.wait(request_id, timeout)

    async def _init(self) -> bool:
        ustx = to_ustx(self.project)
        timeout = max(MIN_TIMEOUT, self.config.init_timeout * self.scale)
        response = await self._request(
            lambda request_id: wire.init_request(self.rules, request_id, ustx), timeout)
        data = success_data(response)
        if data is None:
            self.result.errors.append("init failed: no successful response in time")
            return False
        if self.rules.bridge:
            api = str(data.get("apiVersion", ""))
            if api.split(".")[0] != "1":
                self.result.errors.append(f"plugin apiVersion {api!r}: major differs, refused")
                return False
        elif isinstance(stored := data.get("ustx"), str) and stored:
            try:
                self.project = parse_ustx(stored)  # replaces the open project (§3.5)
            except UstxError as exc:
                self.result.errors.append(f"LoadText failed: {exc}")
                return False
            self.result.loaded_ustx = True
        self.result.initialized = True
        self.emit("init answered")
        return True

    async def _sync_all(self) -> None:
        await self._sync_ustx()
        await self._sync_audio()

    async def _sync_ustx(self) -> None:
        ustx = to_ustx(self.project)
        self.emit(f"updateUstx ({len(ustx)} characters) and updateTracks")
        await self._send(wire.ustx_notification(self.rules, ustx))
        await self._send(wire.tracks_notification(self.rules, self.project))
        if self.rules.bridge:
            await self._send(wire.project_info_notification(self.rules, self.project))

    async def _sync_audio(self) -> None:
        parts = [wire.LayoutPart(self.project.voice_parts[i].track_no,
                                 *self.project.part_span_ms(i), self.rendered[i].audio_hash)
                 for i in range(len(self.project.voice_parts)) if i in self.rendered]
        known = self._known_audio()
        response = await self._request(lambda rid: wire.layout_request(self.rules, rid, parts),
                                       self.config.request_timeout)
        data = success_data(response)
        if data is None:
            self.result.errors.append("updatePartLayout got no successful response")
            return
        missing = [self.rules.normalize_hash(h) for h in hash_values(data.get("missingAudios"))]
        wanted = [h for h in missing if h in known]
        self.result.skipped_unknown_hashes += len(missing) - len(wanted)
        self.emit(f"layout of {len(parts)} parts sent, {len(missing)} missing")
        if self.rules.bridge:
            self.awaited_pulls = set(wanted)  # the plugin pulls them (§5.1)
            self.pulls_done = anyio.Event()
            if not wanted:
                self.pulls_done.set()
            return
        # Keep encodings only for audio that still exists, or a long session hoards gigabytes.
        self.encoded = {h: b64 for h, b64 in self.encoded.items() if h in known}
        if wanted:
            audios = [(h, self._encoded(h, known[h])) for h in wanted]
            if await self._send(wire.audio_notification(audios)):
                self.result.audio_payloads_sent += len(audios)

    async def _disconnect(self) -> None:
        assert self.link is not None
        self.disconnecting = True
        dropped = [await debouncer.stop() for debouncer in self.debouncers]
        if self.rules.flush_on_disconnect:
            # DawManager's Disconnect awaits ustx, tracks and audio before closing (§3.6.7).
            await self._sync_ustx()
            await self._sync_audio()
            if self.rules.bridge:
                with anyio.move_on_after(self.config.request_timeout):
                    await self.pulls_done.wait()
        elif any(dropped):
            self.result.errors.append("disconnected with an unsent debounced update (P2)")
        if self.rules.sends_close:
            await self._send(b"close")
        self.emit("disconnecting")

    # -- receiving ----------------------------------------------------------------------

    async def _reader(self, tasks: TaskGroup) -> None:
        assert self.link is not None
        while True:
            for event in await self.link.receive_events():
                if isinstance(event, EndOfStream):
                    if not (self.disconnecting and self.rules.sends_close):
                        self.result.errors.append("the plugin closed the connection"
                                                  " (real S OpenUtau would not notice, §2.2)")
                    self.pending.fail_all()
                    return
                if isinstance(event, Message):
                    self._dispatch(event, tasks)
                elif isinstance(event, Malformed):
                    self.result.malformed += 1
                elif isinstance(event, AudioFrame):
                    self.result.unhandled += 1

    def _dispatch(self, message: Message, tasks: TaskGroup) -> None:
        header = message.header
        if header.type is HeaderType.RESPONSE:
            if not self.pending.resolve(header.id or "", message):
                self.result.unhandled += 1
        elif header.type is HeaderType.NOTIFICATION and header.kind == "ping":
            pass  # no pong, no liveness check (§3.2)
        elif header.type is HeaderType.NOTIFICATION and header.kind == "playbackStarted" \
                and self.rules.playback_started:
            for debouncer in self.debouncers:
                debouncer.fire_now()
        elif header.type is HeaderType.REQUEST and header.kind == "getAudio" and self.rules.bridge:
            tasks.start_soon(self._serve_pull, header.id or "", message)
        else:
            self.result.unhandled += 1  # logged "Unhandled message" by the real one

    async def _serve_pull(self, request_id: str, message: Message) -> None:
        assert self.link is not None
        try:
            wanted = int(message.json()["hash"])
        except (ValueError, KeyError, TypeError):
            wanted = -1
        samples = self._known_audio().get(wanted)
        if samples is None:
            await self._send(wire.get_audio_failure(self.rules, request_id, "Audio not found"))
        elif await self.link.send_frame(wire.frame_header(wanted, len(samples)), samples):
            self.result.pulls_served += 1
        self.awaited_pulls.discard(wanted)
        if not self.awaited_pulls:
            self.pulls_done.set()

    def _finish(self) -> OpenUtauResult:
        result = self.result
        result.final_project = self.project
        result.final_ustx = to_ustx(self.project)
        if self.link is not None:
            result.sent, result.received = self.link.sent, self.link.received
            result.sent_bytes = self.link.sent_bytes
            result.received_bytes = self.link.received_bytes
            if self.link.sent_wire is not None and self.link.received_wire is not None:
                result.sent_wire = bytes(self.link.sent_wire)
                result.received_wire = bytes(self.link.received_wire)
        return result


class _FaultState:
    """Applies InjectedFaults to the lines on their way out."""

    def __init__(self, faults: InjectedFaults) -> None:
        self._drop = faults.drop_first
        self._delay = faults.delay_first
        self._held: bytes | None = None

    def swallows(self, line: bytes) -> bool:
        """True when `line` must not go out now (dropped, or held back)."""
        if self._drop is None and self._delay is None:
            return False
        label = message_label(line[:600])
        if label == self._drop:
            self._drop = None
            return True
        if label == self._delay:
            self._delay, self._held = None, line
            return True
        return False

    def release(self) -> bytes | None:
        """The held-back line, once the line after it has gone out."""
        held, self._held = self._held, None
        return held


async def run_openutau(config: OpenUtauConfig, scenario: Scenario) -> OpenUtauResult:
    """Play `scenario` as OpenUtau of `config.version` against the first live plugin entry
    (or `config.port`), and report what was sent, received and what went wrong."""
    return await _OpenUtau(config, scenario).run()

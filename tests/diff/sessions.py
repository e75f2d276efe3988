"""Captures for the diff tests, two ways.

`recorded_capture`: the real recorder between the simulated peers over loopback (as in
tests/proxy/test_record_sessions.py): ids, timings and pings are whatever the run makes.

`synthetic_capture`: the same simulated peers without sockets, for precise cases: the
simulated OpenUtau's message builders (peers.ou_messages) and the simulated plugin's pure
logic (peers.plugin_logic) answering them, written with the real CaptureWriter. What differs
between two such captures is exactly what the test changed, plus fresh ids and jittered times.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path

import anyio
from anyio.abc import TaskStatus

from utauproxy.capture import FORMAT_MAJOR, FORMAT_MINOR, CaptureWriter
from utauproxy.peers import ou_messages as wire
from utauproxy.peers.link import fresh_uuid
from utauproxy.peers.openutau import run_openutau
from utauproxy.peers.ou_types import OpenUtauConfig
from utauproxy.peers.plugin import PluginConfig, serve_plugin
from utauproxy.peers.plugin_logic import PluginLogic, PluginState, Reply
from utauproxy.peers.project import Project
from utauproxy.peers.render import render_part
from utauproxy.peers.rules import rules_for
from utauproxy.peers.session import Scenario
from utauproxy.peers.ustx import to_ustx
from utauproxy.protocol.audio import encode_audio_payload
from utauproxy.protocol.versions import ProtocolVersion
from utauproxy.proxy.recorder import RecordingState, RecordOptions, run_record
from utauproxy.records import (
    CaptureHeader,
    ConnectionRecord,
    ConnEvent,
    Direction,
    MessageRecord,
    Record,
)

OU = Direction.OU_TO_PLUGIN
PLUGIN = Direction.PLUGIN_TO_OU
Render = Callable[[Project, int], bytes]


def header() -> CaptureHeader:
    return CaptureHeader(FORMAT_MAJOR, FORMAT_MINOR, "utauproxy test", "2025-08-11T10:00:00Z",
                         "TestOS", "line")


def default_render(project: Project, index: int) -> bytes:
    return render_part(project, index)


def synthetic_records(projects: Sequence[Project], *, version: ProtocolVersion = ProtocolVersion.P6,
                      seed: int = 0, render: Render = default_render) -> list[Record]:
    """One connection: init, then for each project a sync (updateUstx, updateTracks,
    updatePartLayout and its answer, updateAudio of what the plugin lacks), with pings."""
    rules = rules_for(version)
    plugin = PluginLogic(rules, PluginState())
    rng = random.Random(seed)
    records: list[Record] = [ConnectionRecord(0, 1, ConnEvent.OPEN, None, {"client_port": 50000 + seed})]
    clock = [1_000_000]

    def emit(direction: Direction, raw: bytes) -> None:
        clock[0] += rng.randrange(1_000_000, 40_000_000)  # 1..40 ms apart: timing is noise
        records.append(MessageRecord(clock[0], 1, direction, raw))

    def send(raw: bytes) -> None:
        emit(OU, raw)
        for action in plugin.on_line(raw):
            assert isinstance(action, Reply), action
            emit(PLUGIN, action.line)

    send(wire.init_request(rules, fresh_uuid(rng), ""))
    known: set[int] = set()
    for project in projects:
        for _ in range(rng.randrange(1, 3)):
            emit(PLUGIN, rules.ping_line)
        send(wire.ustx_notification(rules, to_ustx(project)))
        send(wire.tracks_notification(rules, project))
        rendered = {i: render(project, i) for i in range(len(project.voice_parts))}
        hashes = {i: rules.audio_hash(samples) for i, samples in rendered.items()}
        parts = [wire.LayoutPart(part.track_no, *project.part_span_ms(i), hashes[i])
                 for i, part in enumerate(project.voice_parts)]
        before = len(records)
        send(wire.layout_request(rules, fresh_uuid(rng), parts))
        missing = [h for h in hashes.values() if h not in known]
        assert len(records) == before + 2, "the plugin answers the layout at once"
        if missing:
            assert rules.codec is not None
            audios = [(h, encode_audio_payload(rendered[i], rules.codec))
                      for i, h in hashes.items() if h in missing]
            send(wire.audio_notification(audios))
            known.update(missing)
    clock[0] += 5_000_000
    records.append(ConnectionRecord(clock[0], 1, ConnEvent.EOF, OU))
    records.append(ConnectionRecord(clock[0], 1, ConnEvent.CLOSED))
    return records


def write_capture(path: Path, records: Sequence[Record]) -> Path:
    writer = CaptureWriter.create(path, header())
    for record in records:
        writer.write(record)
    writer.close()
    return path


def synthetic_capture(path: Path, projects: Sequence[Project], **kwargs: object) -> Path:
    return write_capture(path, synthetic_records(projects, **kwargs))  # type: ignore[arg-type]


# -- recorded -----------------------------------------------------------------------------------


async def _record(folder: Path, output: Path, version: ProtocolVersion, scenario: Scenario,
                  seed: int, scale: float) -> None:
    plugin = PluginConfig(version, folder, name="Vocal", ping_interval=5 * scale, response_jitter=0.002)
    async def recorder(*, task_status: TaskStatus[RecordingState]) -> None:
        await run_record(RecordOptions(output, folder, watchdog=False, poll_interval=0.02),
                         task_status=task_status)

    async with anyio.create_task_group() as tg:
        await tg.start(serve_plugin, plugin)
        async with anyio.create_task_group() as recording:  # exits once the footer is written
            state = await recording.start(recorder)
            config = OpenUtauConfig(version, folder, time_scale=scale, seed=seed)
            result = await run_openutau(config, scenario)
            state.stop.set()
        assert result.initialized and not result.errors, result.errors
        tg.cancel_scope.cancel()


def recorded_capture(tmp: Path, name: str, version: ProtocolVersion, scenario: Scenario, *,
                     seed: int, scale: float = 0.03) -> Path:
    """Record `scenario` played by the simulated OpenUtau (`seed`: its request ids) against the
    simulated plugin, through the real recorder."""
    folder = tmp / f"{name}-servers"
    output = tmp / f"{name}.utpcap"
    anyio.run(_record, folder, output, version, scenario, seed, scale)
    return output

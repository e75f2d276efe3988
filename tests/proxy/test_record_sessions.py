"""`run_record` between the simulated peers over loopback, in a real temp discovery folder:
what each peer sent is what the other received, the capture holds exactly those bytes, and
discovery changes during a session are followed and recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from anyio.abc import TaskStatus

from utauproxy.capture.reader import CaptureReader
from utauproxy.discovery.entry import is_ours
from utauproxy.peers.openutau import run_openutau
from utauproxy.peers.ou_types import OpenUtauConfig, OpenUtauResult
from utauproxy.peers.plugin import PluginConfig, PluginHandle, serve_plugin
from utauproxy.peers.session import generate_session
from utauproxy.protocol.versions import SIMULATED_VERSIONS, ProtocolVersion
from utauproxy.proxy.recorder import RecordingState, RecordOptions, run_record
from utauproxy.records import (
    ConnectionRecord,
    ConnEvent,
    DiscoveryEvent,
    DiscoveryRecord,
    Direction,
    MessageRecord,
    Record,
)

pytestmark = pytest.mark.anyio
SCALE = 0.02


@asynccontextmanager
async def recording(folder: Path, output: Path) -> AsyncIterator[RecordingState]:
    """A recorder running for the body of the `async with`; stopped cleanly after it."""
    async with anyio.create_task_group() as tg:
        async def recorder(*, task_status: TaskStatus[RecordingState]) -> None:
            await run_record(RecordOptions(output, folder, watchdog=False, poll_interval=0.02),
                             task_status=task_status)

        state = await tg.start(recorder)
        try:
            yield state
        finally:
            state.stop.set()


def read_capture(path: Path) -> list[Record]:
    with CaptureReader.open(path) as reader:
        assert reader.footer is not None
        records = list(reader.records())
        assert not reader.damage
    return records


def stream_of(records: list[Record], conn: int, direction: Direction) -> bytes:
    return b"".join(r.wire_bytes for r in records
                    if isinstance(r, MessageRecord) and r.conn == conn and r.direction is direction)


async def session(folder: Path, version: ProtocolVersion, seed: int = 3) -> OpenUtauResult:
    config = OpenUtauConfig(version, folder, time_scale=SCALE, seed=seed, record_wire=True)
    return await run_openutau(config, generate_session(seed, edits=2))


def plugin_config(folder: Path, version: ProtocolVersion, name: str = "Vocal") -> PluginConfig:
    return PluginConfig(version, folder, name=name, ping_interval=0.1, response_jitter=0.01,
                        record_wire=True)


@pytest.mark.parametrize("version", SIMULATED_VERSIONS, ids=str)
async def test_every_version_is_forwarded_and_captured_byte_for_byte(
        tmp_path: Path, version: ProtocolVersion) -> None:
    folder = tmp_path / "PluginServers"
    capture = tmp_path / "s.utpcap"
    async with anyio.create_task_group() as tg:
        plugin: PluginHandle = await tg.start(serve_plugin, plugin_config(folder, version))
        async with recording(folder, capture):
            result = await session(folder, version)
        tg.cancel_scope.cancel()
    assert result.initialized and result.sent_wire and result.received_wire is not None
    link = plugin.links[0]
    assert link.received_wire is not None and link.sent_wire is not None
    records = read_capture(capture)
    ou_sent = bytes(result.sent_wire)
    assert bytes(link.received_wire) == ou_sent
    assert stream_of(records, 1, Direction.OU_TO_PLUGIN) == ou_sent
    plugin_sent = bytes(link.sent_wire)
    captured = stream_of(records, 1, Direction.PLUGIN_TO_OU)
    # The plugin may ping after OpenUtau closed: those bytes reach neither OU nor the capture.
    assert plugin_sent.startswith(captured) and captured.startswith(bytes(result.received_wire))
    assert len(captured) >= len(result.received_wire) > 0
    assert plugin.ustx == result.final_ustx
    with CaptureReader.open(capture) as reader:  # request latency is in the footer: no scan needed
        assert reader.footer is not None
        latency = reader.footer.extra["latency"]
        detected = reader.footer.extra["protocol"]["version"]
        header = reader.header
    # The header holds the entry as the recorder found it, before the takeover (DESIGN.md §4).
    assert [(e["name"], e["upstream_port"]) for e in header.discovery] == [("Vocal", plugin.port)]
    assert header.discovery[0]["text"] and str(plugin.port) in header.discovery[0]["text"]
    assert header.dialect == ("v1.2" if version is ProtocolVersion.V1_2 else "auto")
    assert set(latency) >= {"init", "updatePartLayout"}
    # R differs from P2.2 on the wire only by playbackStarted, which this session never sends.
    assert detected == ("P2.2" if version is ProtocolVersion.R else version.value)
    assert 0 < latency["init"]["p50_ns"] <= latency["init"]["max_ns"]


async def test_rename_second_plugin_unload_and_reconnect_are_followed(tmp_path: Path) -> None:
    folder = tmp_path / "PluginServers"
    capture = tmp_path / "s.utpcap"
    version = ProtocolVersion.P6
    async with anyio.create_task_group() as tg:
        first: PluginHandle = await tg.start(serve_plugin, plugin_config(folder, version, "Vocal"))
        async with recording(folder, capture) as state:
            assert (await session(folder, version)).initialized
            await first.rename("Lead", pause=0.05)  # non-atomic, PROTOCOL.md §1.3
            await _until(lambda: any(e.name == "Lead" for e in state.entries.values()))
            await _until(lambda: _all_taken_over(folder, 1))
            assert (await session(folder, version, seed=4)).initialized  # OpenUtau reconnects
            async with anyio.create_task_group() as second_tg:
                second: PluginHandle = await second_tg.start(
                    serve_plugin, plugin_config(folder, version, "Harmony"))
                await _until(lambda: len(state.entries) == 2)
                # An entry is ours once its file is rewritten, a moment after its listener is up:
                # a session started in between would reach the plugin directly.
                await _until(lambda: _all_taken_over(folder, 2))
                await first.unload()
                await _until(lambda: len(state.entries) == 1)
                await _until(lambda: _all_taken_over(folder, 1))
                result = await session(folder, version, seed=5)
                assert result.initialized and second.accepted == 1
                second_tg.cancel_scope.cancel()
        tg.cancel_scope.cancel()
    records = read_capture(capture)
    events = [(r.event, r.entry.get("name")) for r in records if isinstance(r, DiscoveryRecord)]
    assert (DiscoveryEvent.RENAMED, "Lead") in events
    assert (DiscoveryEvent.REWRITTEN, "Harmony") in events
    assert (DiscoveryEvent.GONE, "Lead") in events
    opened = [r.conn for r in records if isinstance(r, ConnectionRecord) and r.event is ConnEvent.OPEN]
    assert opened == [1, 2, 3]
    harmony = [r for r in records if isinstance(r, ConnectionRecord) and r.event is ConnEvent.OPEN
               and r.detail.get("entry_name") == "Harmony"]
    assert [r.conn for r in harmony] == [3]


def _all_taken_over(folder: Path, count: int) -> bool:
    texts = []
    for path in folder.glob("*.json"):
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except OSError:  # removed or replaced between the glob and the read
            return False
    return len(texts) == count and all(is_ours(text) for text in texts)


async def _until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.01)

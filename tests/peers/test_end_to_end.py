"""A simulated OpenUtau finds a simulated plugin through the discovery folder and runs a
session, for every simulated version; then both sides' bytes are read back through the
real Framer and checked for the version's distinguishing marks (PROTOCOL.md §4, §5.1)."""

from __future__ import annotations

import re
import socket
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from .helpers import PairRun, frame_all, run_pair
from utauproxy.peers.plugin import PluginHandle
from utauproxy.peers.rules import rules_for
from utauproxy.peers.session import Scenario, generate_session
from utauproxy.peers.ustx import to_ustx
from utauproxy.protocol.audio import xxh64
from utauproxy.protocol.events import AudioFrame, Event, Message
from utauproxy.protocol.header import HeaderType
from utauproxy.protocol.versions import SIMULATED_VERSIONS, ProtocolVersion

pytestmark = pytest.mark.anyio

VERSIONS = [v.value for v in SIMULATED_VERSIONS] + ["P5", "P2.2"]
GZIP_VERSIONS = {"P2", "P2.2", "R"}
STRING_MISSING = {"P2", "P2.2", "P3", "R", "v1.2"}


def _scenario(seed: int = 21) -> Scenario:
    return generate_session(seed, edits=6, audio_seconds=0.05)


def _messages(events: list[Event], label: str) -> list[Message]:
    return [e for e in events if isinstance(e, Message) and e.header.label == label]


async def _start_playback(plugin: PluginHandle) -> None:
    assert await plugin.playback_started()


async def _run(tmp_path: Path, version: str, scenario: Scenario) -> PairRun:
    during = _start_playback if rules_for(version).playback_started else None
    return await run_pair(tmp_path, scenario, version, during=during)


def _assert_plugin_holds_final_state(run: PairRun, scenario: Scenario, version: str) -> None:
    plugin, result, rules = run.plugin, run.result, rules_for(version)
    final = scenario.final_project
    assert result.errors == [] and result.initialized and result.malformed == 0
    assert plugin.crash_reasons == [] and plugin.state.hash_mismatches == []
    assert plugin.state.decode_errors == []
    assert plugin.ustx == to_ustx(final) == result.final_ustx
    assert [(t["name"], t["volume"], t["pan"]) for t in plugin.tracks] == [
        (t.track_name, t.volume, t.pan) for t in final.tracks]
    assert [(p["trackNo"], p["startMs"], p["endMs"]) for p in plugin.layout] == [
        (part.track_no, *final.part_span_ms(i)) for i, part in enumerate(final.voice_parts)]
    # The cache holds exactly the layout's audio, and each buffer is the rendered part.
    assert set(plugin.audio) == {p["audioHash"] for p in plugin.layout}
    for index, part in enumerate(plugin.layout):
        samples = plugin.audio[part["audioHash"]]
        assert samples == scenario.render(final, index)
        if rules.hash_verifiable():
            assert rules.audio_hash(samples) == part["audioHash"]


def _assert_distinguishing_marks(run: PairRun, version: str) -> None:
    rules = rules_for(version)
    assert run.result.sent_wire is not None and run.plugin.links[0].sent_wire is not None
    ou = frame_all(run.result.sent_wire, rules.dialect)
    plugin = frame_all(bytes(run.plugin.links[0].sent_wire), rules.dialect)
    assert all(isinstance(e, Message | AudioFrame) for e in ou + plugin)
    # OpenUtau received the plugin's bytes exactly; a last ping may cross its close (§3.6.7).
    received = run.result.received_wire
    assert received and bytes(run.plugin.links[0].sent_wire).startswith(received)

    pings = [e for e in plugin if isinstance(e, Message) and "ping" in e.header.label]
    assert pings and {p.raw for p in pings} == {rules.ping_line}
    assert (rules.ping_line == b"ping {}") == (version == "P2")

    requests = [e for e in ou if isinstance(e, Message) and e.header.type is HeaderType.REQUEST]
    ids = [r.header.id or "" for r in requests]
    assert len(set(ids)) == len(ids) and all(uuid.UUID(i).version == 4 for i in ids)

    layouts = _messages(ou, "request:updatePartLayout")
    assert layouts
    for layout in layouts:
        starts = re.findall(rb'"startMs":([^,]*),', layout.raw)
        if rules.bridge:
            assert all(b"." not in s for s in starts)  # System.Text.Json: 0, not 0.0
            assert all(isinstance(p["audioHash"], str) for p in layout.json()["parts"])
        else:
            assert all(b"." in s or b"E" in s for s in starts)  # Newtonsoft: always 0.0

    missing = [v for r in plugin if isinstance(r, Message) and r.header.type is HeaderType.RESPONSE
               for v in (r.json().get("data") or {}).get("missingAudios", [])]
    assert missing
    expected_type = str if version in STRING_MISSING else int
    assert all(type(v) is expected_type for v in missing)

    audio_lines = _messages(ou, "notification:updateAudio")
    frames = [e for e in ou if isinstance(e, AudioFrame)]
    if rules.bridge:
        assert not audio_lines and frames
        assert all(f.hash == xxh64(f.payload) and f.length % 8 == 0 for f in frames)
        assert _messages(plugin, "request:getAudio")
        assert all(r.raw.endswith(b'"error":null,"success":true}')
                   for r in plugin if isinstance(r, Message) and r.header.type is HeaderType.RESPONSE)
        assert isinstance(ou[-1], Message) and ou[-1].header.type is HeaderType.CLOSE
    else:
        assert audio_lines and not frames
        prefix = "H4sI" if version in GZIP_VERSIONS else "KLUv"
        values = [v for line in audio_lines for v in line.json()["audios"].values()]
        assert values and all(v.startswith(prefix) for v in values)
        assert not [e for e in ou if isinstance(e, Message) and e.header.type is HeaderType.CLOSE]
        responses = [r for r in plugin if isinstance(r, Message) and r.header.type is HeaderType.RESPONSE]
        assert all(r.payload.startswith(b'{"success": true, "data": {') for r in responses)

    started = _messages(plugin, "notification:playbackStarted")
    assert bool(started) == rules.playback_started
    assert run.result.received["notification:playbackStarted"] == len(started)


@pytest.mark.parametrize("version", VERSIONS)
async def test_session_syncs_everything_and_bytes_have_the_version_marks(
        tmp_path: Path, version: str) -> None:
    scenario = _scenario()
    run = await _run(tmp_path, version, scenario)
    assert run.result.entry is not None and run.result.entry.path == run.plugin.entry_path
    _assert_plugin_holds_final_state(run, scenario, version)
    _assert_distinguishing_marks(run, version)
    assert run.result.ustx_resends >= 1
    assert list(tmp_path.iterdir()) == []  # the plugin removed its entry when unloaded


@pytest.mark.parametrize("version", ["P6", "P2"])
async def test_openutau_loads_the_project_the_plugin_kept(tmp_path: Path, version: str) -> None:
    scenario = _scenario(5)
    stored = replace(scenario.initial, name="kept by the DAW \u3042")
    run = await run_pair(tmp_path, scenario, version,
                         plugin_options={"initial_ustx": "\ufeff" + to_ustx(stored)})
    assert run.result.loaded_ustx and run.result.errors == []
    expected = replace(scenario.final_project, name=stored.name)
    assert run.plugin.ustx == to_ustx(expected) == run.result.final_ustx


async def test_same_seed_same_openutau_bytes(tmp_path: Path) -> None:
    # Debounce timing may merge bursts differently, but the first burst is fixed by the seed.
    first = await run_pair(tmp_path / "a", _scenario(), "P2")
    second = await run_pair(tmp_path / "b", _scenario(), "P2")
    assert first.result.sent_wire == second.result.sent_wire


async def test_openutau_deletes_dead_and_garbage_entries_and_finds_the_plugin(
        tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    dead = tmp_path / "00000000-dead.json"
    dead.write_text(f'{{"port": {dead_port}, "name": "crashed DAW"}}')
    garbage = tmp_path / "11111111-garbage.json"
    garbage.write_bytes(b'{"port": 5')  # caught half-written
    run = await run_pair(tmp_path, _scenario(), "P6")
    assert run.result.scan is not None
    assert sorted(p.name for p, _ in run.result.scan.deleted) == [dead.name, garbage.name]
    assert run.result.entry is not None and run.result.entry.port == run.plugin.port
    assert run.result.errors == [] and run.plugin.ustx == _scenario().final_ustx()
    assert not dead.exists() and not garbage.exists()


@pytest.mark.parametrize("version", ["P6", "P3", "P2", "v1.2"])
async def test_resends_follow_the_versions_debounce(tmp_path: Path, version: str) -> None:
    # Deadlines count from scheduled times, so the count is exact even on a busy machine.
    rules = rules_for(version)
    scenario = generate_session(8, edits=25, audio_seconds=0.02)
    run = await run_pair(tmp_path, scenario, version)
    bursts = scenario.predicted_bursts(rules.ustx_debounce,
                                       on_connect=rules.sync_on_connect_and_render,
                                       on_render=rules.sync_on_connect_and_render)
    flush = 1 if rules.flush_on_disconnect else 0
    assert run.result.ustx_resends == bursts + flush
    assert run.result.errors == [] and run.plugin.ustx == scenario.final_ustx()

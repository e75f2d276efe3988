"""End to end over loopback: a session of the simulated peers recorded by the real recorder,
replayed `--as plugin` against the simulated OpenUtau and `--as openutau` against the simulated
plugin; then injected changes that must be caught, naming the message and the field."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import anyio
import pytest

from utauproxy.diff import diff_captures
from utauproxy.peers.ou_types import InjectedFaults
from utauproxy.peers.plugin import PluginHandle, serve_plugin
from utauproxy.peers.session import one_edit_session, with_track_volume_change
from utauproxy.records import Direction
from utauproxy.replay.compare import compare_payloads
from utauproxy.replay.options import ReplayOptions
from utauproxy.replay.render import render_human
from utauproxy.replay.report import DivergenceKind, ReplayReport
from utauproxy.replay.rules import RuleSet
from utauproxy.replay.run import load_script
from utauproxy.replay.schedule import Pace
from utauproxy.replay.script import Role, ScriptMessage

from .helpers import (
    plugin_config,
    record_session,
    replay_ou_against_plugin,
    replay_plugin_against_ou,
)

pytestmark = pytest.mark.anyio
FAST = ReplayOptions(timeout=3.0)


def assert_equivalent(original: Path, saved: Path) -> None:
    """Same messages per direction and kind, structurally equal payloads; ids, timing, pings
    and the protocol's free reorders aside."""
    left, right = load_script(original)[0], load_script(saved)[0]
    assert len(left.connections) == len(right.connections) == 1
    for direction in Direction:
        a = _by_label(left.connections[0].sent_by(direction))
        b = _by_label(right.connections[0].sent_by(direction))
        assert Counter({k: len(v) for k, v in a.items()}) == Counter({k: len(v) for k, v in b.items()})
        for label, messages in a.items():
            for x, y in zip(messages, b[label], strict=True):
                assert compare_payloads(x.payload, y.payload, RuleSet(), frame=x.role is Role.FRAME) == [], label


def _by_label(messages: list[ScriptMessage]) -> dict[str, list[ScriptMessage]]:
    grouped: dict[str, list[ScriptMessage]] = defaultdict(list)
    for message in messages:
        if message.role is not Role.PING:
            grouped[message.label].append(message)
    return grouped


def _assert_identical(report: ReplayReport) -> None:
    assert report.exit_code == 0, report.divergences
    assert report.divergences == [] and report.peer_error is None
    assert report.compared == report.expected > 0


@pytest.mark.parametrize("version", ["P6", "P3", "P2", "R", "v1.2"])
async def test_replay_as_plugin_serves_the_simulated_openutau(tmp_path: Path, version: str) -> None:
    scenario = one_edit_session()
    capture = await record_session(tmp_path, version, scenario)
    saved = tmp_path / "replayed.utpcap"
    run = await replay_plugin_against_ou(capture, tmp_path / "replay-dir", version, scenario,
                                        ReplayOptions(timeout=3.0, save=saved))
    _assert_identical(run.report)
    assert run.openutau.errors == [] and run.openutau.initialized
    assert run.entry.name.endswith("(replay)") and not run.entry.path.exists()
    if version == "v1.2":  # the plugin's getAudio pulls were answered from recorded frames
        assert run.openutau.pulls_served > 0
    else:
        assert run.openutau.audio_payloads_sent > 0  # recorded missingAudios made OU send audio
    assert_equivalent(capture, saved)
    report = diff_captures(capture, saved)
    assert report.equivalent, report.render()


@pytest.mark.parametrize("version", ["P6", "P3", "P2", "R", "v1.2"])
async def test_replay_as_openutau_drives_the_simulated_plugin(tmp_path: Path, version: str) -> None:
    scenario = one_edit_session()
    capture = await record_session(tmp_path, version, scenario)
    async with anyio.create_task_group() as tasks:
        plugin: PluginHandle = await tasks.start(serve_plugin, plugin_config(version, tmp_path / "live"))
        report = await replay_ou_against_plugin(capture, plugin, ReplayOptions(timeout=3.0, pace=Pace(None)))
        await plugin.unload()
    _assert_identical(report)
    assert plugin.ustx == scenario.final_ustx() and plugin.crash_reasons == []
    assert plugin.audio and plugin.state.hash_mismatches == []


async def test_openutau_sending_another_track_volume_is_caught(tmp_path: Path) -> None:
    scenario = one_edit_session()
    capture = await record_session(tmp_path, "P6", scenario)
    run = await replay_plugin_against_ou(capture, tmp_path / "replay-dir", "P6",
                                        with_track_volume_change(scenario, 3.0), FAST)
    assert run.report.exit_code == 1
    tracks = [d for d in run.report.divergences if d.label == "notification:updateTracks"]
    assert tracks and all(d.kind is DivergenceKind.MISMATCH for d in tracks)
    assert [d.path for d in tracks[0].diffs] == ["tracks[0].volume"]
    # The USTX carries the volume too, and is compared as a project, not as text.
    ustx = next(d for d in run.report.divergences if d.label == "notification:updateUstx")
    assert any(diff.path.startswith("ustx:tracks[0]") for diff in ustx.diffs)


async def test_a_plugin_answering_other_missing_audios_is_caught(tmp_path: Path) -> None:
    """The plugin instance already holds the project's audio (its state outlives connections,
    PROTOCOL.md §1.2), so it asks for less than the recorded, fresh one did."""
    scenario = one_edit_session()
    capture = await record_session(tmp_path, "P6", scenario)
    async with anyio.create_task_group() as tasks:
        plugin: PluginHandle = await tasks.start(serve_plugin, plugin_config("P6", tmp_path / "live"))
        first = await replay_ou_against_plugin(capture, plugin, FAST)
        await plugin.wait_closed(1)
        second = await replay_ou_against_plugin(capture, plugin, FAST)
        await plugin.unload()
    _assert_identical(first)
    assert second.exit_code == 1
    layouts = [d for d in second.divergences if d.label == "response:updatePartLayout"]
    assert layouts and any(diff.path.startswith("data.missingAudios") for d in layouts for diff in d.diffs)
    # The recorded init answer was an empty project; now the plugin returns what it stored.
    init = next(d for d in second.divergences if d.label == "response:init")
    assert [diff.path for diff in init.diffs] == ["data.ustx"]


async def test_openutau_dropping_an_update_audio_is_caught(tmp_path: Path) -> None:
    scenario = one_edit_session()
    capture = await record_session(tmp_path, "P6", scenario)
    run = await replay_plugin_against_ou(capture, tmp_path / "replay-dir", "P6", scenario, FAST,
                                        faults=InjectedFaults(drop_first="notification:updateAudio"))
    assert run.report.exit_code == 1
    audio = [d for d in run.report.divergences if d.label == "notification:updateAudio"]
    assert audio and audio[0].kind in (DivergenceKind.MISSING, DivergenceKind.MISMATCH)
    assert "notification:updateAudio" in render_human(run.report)


async def test_a_reorder_inside_one_debounce_group_is_caught(tmp_path: Path) -> None:
    """updateUstx then updateTracks come from one debounce (PROTOCOL.md §3.6.5): swapping
    them is a divergence, unlike a swap between the two groups."""
    scenario = one_edit_session()
    capture = await record_session(tmp_path, "P6", scenario)
    run = await replay_plugin_against_ou(capture, tmp_path / "replay-dir", "P6", scenario, FAST,
                                        faults=InjectedFaults(delay_first="notification:updateUstx"))
    assert run.report.exit_code == 1
    kinds = {(d.label, d.kind) for d in run.report.divergences}
    assert any(kind is DivergenceKind.ORDER for _, kind in kinds), kinds

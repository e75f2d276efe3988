"""replaying(): `utauproxy replay` as a context manager that raises Divergence on exit."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from anyio.from_thread import start_blocking_portal

from utauproxy import Divergence, DivergenceKind, replay_options, replaying
from utauproxy.peers.plugin import serve_plugin

from . import utau_sim as sim

pytestmark = pytest.mark.anyio


def private_folder(tmp_path: Path) -> Path:
    return tmp_path / "OpenUtau" / "PluginServers"


async def test_a_faithful_openutau_passes(tmp_path: Path, session_capture: Path) -> None:
    async with replaying(session_capture, role="plugin", discovery_dir=private_folder(tmp_path)) as session:
        assert session.entry_path is not None and session.entry_path.parent == session.discovery_dir
        assert json.loads(session.entry_path.read_text())["port"] == session.port
        assert session.temp_dir == tmp_path
        await sim.openutau_session(session.discovery_dir, sim.one_edit_session())
    assert session.report is not None and session.report.verdict == "identical"
    assert session.report.compared == session.report.expected > 0
    assert not session.entry_path.exists()  # our entry is gone with the replay


async def test_a_changed_track_volume_raises_divergence_naming_the_field(
        tmp_path: Path, session_capture: Path) -> None:
    louder = sim.with_track_volume_change(sim.one_edit_session(), 3.0)
    with pytest.raises(Divergence) as caught:
        async with replaying(session_capture, role="plugin", discovery_dir=private_folder(tmp_path)) as session:
            await sim.openutau_session(session.discovery_dir, louder)
    report = caught.value.report
    assert caught.value.exit_code == 1 and session.report is report
    tracks = [d for d in report.divergences if d.label == "notification:updateTracks"]
    assert tracks and {d.kind for d in tracks} == {DivergenceKind.MISMATCH}
    assert [diff.path for diff in tracks[0].diffs] == ["tracks[0].volume"]
    assert "field tracks[0].volume: expected" in str(caught.value)


async def test_check_false_keeps_the_report_instead_of_raising(tmp_path: Path, session_capture: Path) -> None:
    louder = sim.with_track_volume_change(sim.one_edit_session(), 3.0)
    async with replaying(session_capture, role="plugin", discovery_dir=private_folder(tmp_path),
                         check=False) as session:
        await sim.openutau_session(session.discovery_dir, louder)
        report = await session.wait()
    assert report.exit_code == 1 and session.report is report


def test_as_openutau_from_sync_code_waits_for_the_plugin_to_appear(
        tmp_path: Path, session_capture: Path) -> None:
    folder = private_folder(tmp_path)
    with start_blocking_portal() as portal:
        with replaying(session_capture, role="openutau", discovery_dir=folder, speed="max") as session:
            assert session.port is None  # nothing to drive yet
            plugin = portal.start_task(serve_plugin, sim.plugin_config(folder))[1]
        assert session.port == plugin.port
        assert plugin.ustx == sim.one_edit_session().final_ustx() and plugin.crash_reasons == []
        portal.call(plugin.unload)
    assert session.report is not None and session.report.verdict == "identical"


async def test_no_plugin_is_a_peer_error(tmp_path: Path, session_capture: Path) -> None:
    with pytest.raises(Divergence) as caught:
        async with replaying(session_capture, role="openutau", discovery_dir=tmp_path, connect_timeout=0.2):
            pass
    assert caught.value.exit_code == 3
    assert caught.value.report.peer_error is not None and str(tmp_path) in caught.value.report.peer_error


async def test_an_error_in_the_block_cancels_the_replay_and_propagates(
        tmp_path: Path, session_capture: Path) -> None:
    with anyio.fail_after(5):  # not the 30 s connect timeout: the replay is cancelled
        with pytest.raises(ZeroDivisionError):
            async with replaying(session_capture, role="plugin", discovery_dir=private_folder(tmp_path)) as session:
                1 / 0
    assert session.report is None
    assert session.entry_path is not None and not session.entry_path.exists()


def test_options_use_the_cli_vocabulary() -> None:
    options = replay_options(speed="max", ignore=["hashes,field:tracks[*].volume"], max_gap=0.5)
    assert options.pace.speed is None and options.pace.max_gap == 0.5
    assert options.rules.ignores("hashes") and options.rules.ignores_path("tracks[3].volume")
    with pytest.raises(ValueError, match="unknown rule 'hash'"):
        replay_options(ignore=["hash"])
    with pytest.raises(ValueError, match="role"):
        replaying("x.utpcap", role="daw")  # type: ignore[arg-type]

"""recording(): `utauproxy record` as a context manager, async and sync."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from anyio.from_thread import start_blocking_portal

from utauproxy import CaptureError, open_capture, recording
from utauproxy.peers.plugin import PluginHandle, serve_plugin

from . import utau_sim as sim

pytestmark = pytest.mark.anyio


def entry_port(plugin: PluginHandle) -> int:
    return int(json.loads(plugin.entry_path.read_text())["port"])


async def test_recording_takes_over_the_entry_and_restores_it(tmp_path: Path) -> None:
    folder = tmp_path / "OpenUtau" / "PluginServers"
    output = tmp_path / "rec.utpcap"
    async with anyio.create_task_group() as tasks:
        plugin: PluginHandle = await tasks.start(serve_plugin, sim.plugin_config(folder))
        async with recording(output, discovery_dir=folder, watchdog=False) as rec:
            assert rec.proxy_ports == [entry_port(plugin)] != [plugin.port]
            assert list(rec.entries) == [plugin.entry_path.name]
            result = await sim.openutau_session(folder, sim.one_edit_session())
        assert entry_port(plugin) == plugin.port  # put back on exit
        await plugin.unload()
    assert rec.connections == 1 and rec.failure is None
    assert rec.stats.messages["request:init"] == 1
    with open_capture(output) as capture:
        assert capture.footer is not None
        sent = [m for m in capture.messages() if m.label == "request:init"]
    assert len(sent) == result.sent["request:init"] == 1


async def test_recording_never_overwrites(tmp_path: Path) -> None:
    output = tmp_path / "exists.utpcap"
    output.write_bytes(b"keep me")
    with pytest.raises(CaptureError, match="refusing to overwrite"):
        async with recording(output, discovery_dir=tmp_path, watchdog=False):
            pass
    assert output.read_bytes() == b"keep me"


def test_recording_from_synchronous_code(tmp_path: Path) -> None:
    folder = tmp_path / "OpenUtau" / "PluginServers"
    output = tmp_path / "sync.utpcap"
    with start_blocking_portal() as portal:
        plugin = portal.start_task(serve_plugin, sim.plugin_config(folder))[1]
        with recording(output, discovery_dir=folder, watchdog=False) as rec:
            sim.run_openutau_session(folder, sim.one_edit_session())
        portal.call(plugin.unload)
    assert rec.connections == 1 and rec.stats.connections_open == 0
    with open_capture(output) as capture:
        assert capture.footer is not None and capture.footer.records > 0


async def test_an_error_in_the_block_still_closes_the_capture(tmp_path: Path) -> None:
    folder = tmp_path / "OpenUtau" / "PluginServers"
    output = tmp_path / "failed.utpcap"
    async with anyio.create_task_group() as tasks:
        plugin: PluginHandle = await tasks.start(serve_plugin, sim.plugin_config(folder))
        with pytest.raises(KeyError):
            async with recording(output, discovery_dir=folder, watchdog=False):
                raise KeyError("the test failed")
        assert entry_port(plugin) == plugin.port
        await plugin.unload()
    with open_capture(output) as capture:
        assert capture.footer is not None

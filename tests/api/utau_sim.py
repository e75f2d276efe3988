"""Simulated peers for the API and pytest-plugin tests. Also imported by the inner test runs of
pytester (the folder is put on their sys.path), so it depends on nothing but utauproxy."""

from __future__ import annotations

from pathlib import Path

import anyio

from utauproxy import recording
from utauproxy.peers.openutau import OpenUtauConfig, OpenUtauResult, run_openutau
from utauproxy.peers.plugin import PluginConfig, PluginHandle, serve_plugin
from utauproxy.peers.session import Scenario

# The inner pytester suites import only this module: they reach the scenarios through it.
from utauproxy.peers.session import one_edit_session as one_edit_session
from utauproxy.peers.session import with_track_volume_change as with_track_volume_change

VERSION = "P6"
TIME_SCALE = 0.05  # debounces of 50 ms; every step is >= 100 ms (scaled) from the next


def plugin_config(folder: Path) -> PluginConfig:
    return PluginConfig(version=VERSION, discovery_dir=folder, name="Sim Vocal",
                        ping_interval=0.1, seed=1)


async def openutau_session(folder: Path, scenario: Scenario, seed: int = 5) -> OpenUtauResult:
    """The simulated OpenUtau finds a plugin in `folder` and plays `scenario` against it."""
    config = OpenUtauConfig(version=VERSION, discovery_dir=folder, time_scale=TIME_SCALE, seed=seed)
    result = await run_openutau(config, scenario)
    assert result.errors == [] and result.initialized, result.errors
    return result


def run_openutau_session(folder: Path, scenario: Scenario) -> OpenUtauResult:
    """`openutau_session` from synchronous code (a test body)."""
    return anyio.run(openutau_session, folder, scenario)


async def record_capture(output: Path, folder: Path, scenario: Scenario) -> None:
    """A simulated plugin and OpenUtau session recorded through `utauproxy.recording`."""
    async with anyio.create_task_group() as tasks:
        plugin: PluginHandle = await tasks.start(serve_plugin, plugin_config(folder))
        async with recording(output, discovery_dir=folder, watchdog=False, poll_interval=0.02):
            await openutau_session(folder, scenario)
        await plugin.unload()

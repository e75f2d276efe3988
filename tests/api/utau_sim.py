"""Simulated peers for the API and pytest-plugin tests. Also imported by the inner test runs of
pytester (the folder is put on their sys.path), so it depends on nothing but utauproxy."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import anyio

from utauproxy import recording
from utauproxy.peers.edits import rerendered_parts
from utauproxy.peers.openutau import OpenUtauConfig, OpenUtauResult, run_openutau
from utauproxy.peers.plugin import PluginConfig, PluginHandle, serve_plugin
from utauproxy.peers.session import Scenario, Step, StepKind, generate_session

VERSION = "P6"
TIME_SCALE = 0.05  # debounces of 50 ms; every step is >= 100 ms (scaled) from the next


def short_scenario(seed: int = 3) -> Scenario:
    """Connect, one edit with its re-render inside the debounce, disconnect: bursts that do
    not depend on the machine's speed."""
    base = generate_session(seed, edits=1, audio_seconds=0.05)
    edit = base.edits[0]
    renders = [Step(3.2, StepKind.RENDER_DONE, part=p) for p in sorted(rerendered_parts(edit))]
    steps = (Step(0.0, StepKind.CONNECT), Step(3.0, StepKind.EDIT, edit=edit), *renders,
             Step(12.0, StepKind.DISCONNECT))
    return Scenario(base.seed, base.initial, steps, base.audio_style)


def louder_first_track(scenario: Scenario, by_db: float = 3.0) -> Scenario:
    """The same session with the first track's volume changed: a regression to be caught."""
    tracks = list(scenario.initial.tracks)
    tracks[0] = replace(tracks[0], volume=tracks[0].volume + by_db)
    return replace(scenario, initial=replace(scenario.initial, tracks=tuple(tracks)))


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

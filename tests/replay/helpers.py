"""Helpers of the replay tests: record a session of the simulated peers through the real
recorder, then replay it against simulated peers over loopback."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import anyio

from utauproxy.discovery.entry import is_ours
from utauproxy.peers.openutau import OpenUtauConfig, OpenUtauResult, run_openutau
from utauproxy.peers.ou_types import InjectedFaults
from utauproxy.peers.plugin import PluginConfig, PluginHandle, serve_plugin
from utauproxy.peers.session import (
    Scenario,
)
from utauproxy.proxy.recorder import RecordingState, RecordOptions, run_record
from utauproxy.replay.as_openutau import replay_as_openutau
from utauproxy.replay.as_plugin import replay_as_plugin
from utauproxy.replay.endpoints import PublishedEntry
from utauproxy.replay.options import ReplayOptions
from utauproxy.replay.report import ReplayReport
from utauproxy.replay.run import load_script

TIME_SCALE = 0.05  # debounces of 50 ms; every scenario step is >= 100 ms away from the next


def plugin_config(version: str, folder: Path) -> PluginConfig:
    return PluginConfig(version=version, discovery_dir=folder, ping_interval=0.1,
                        response_jitter=0.01, seed=1)


def ou_config(version: str, folder: Path, seed: int,
              faults: InjectedFaults = InjectedFaults()) -> OpenUtauConfig:
    return OpenUtauConfig(version=version, discovery_dir=folder, time_scale=TIME_SCALE, seed=seed,
                          faults=faults)


async def record_session(tmp_path: Path, version: str, scenario: Scenario) -> Path:
    """A capture of the simulated OpenUtau and plugin, made by the real recorder."""
    folder = tmp_path / "record-dir"
    capture = tmp_path / f"session-{version}.utpcap"
    async with anyio.create_task_group() as tasks:
        plugin: PluginHandle = await tasks.start(serve_plugin, plugin_config(version, folder))
        options = RecordOptions(capture, folder, watchdog=False, poll_interval=0.02)
        state: RecordingState = await tasks.start(partial(run_record, options))
        with anyio.fail_after(10):
            while not any(is_ours(p.read_text()) for p in folder.glob("*.json")):
                await anyio.sleep(0.01)
        result = await run_openutau(ou_config(version, folder, seed=2), scenario)
        assert result.errors == [] and result.initialized, result.errors
        with anyio.fail_after(10):
            await plugin.wait_closed(1)
        state.stop.set()
        await anyio.sleep(0)
        await plugin.unload()
    return capture


@dataclass
class PluginReplayRun:
    report: ReplayReport
    entry: PublishedEntry
    openutau: OpenUtauResult


async def replay_plugin_against_ou(capture: Path, folder: Path, version: str, scenario: Scenario,
                                   options: ReplayOptions, *, ou_seed: int = 5,
                                   faults: InjectedFaults = InjectedFaults()) -> PluginReplayRun:
    """`--as plugin` in this event loop, with the simulated OpenUtau finding it by discovery."""
    script, damage = load_script(capture)
    assert damage == []
    options = replace(options, discovery_dir=folder)
    reports: list[ReplayReport] = []

    async def replayer(*, task_status: anyio.abc.TaskStatus[PublishedEntry]) -> None:
        reports.append(await replay_as_plugin(script, options, capture_name=str(capture),
                                              task_status=task_status))

    async with anyio.create_task_group() as tasks:
        entry: PublishedEntry = await tasks.start(replayer)
        result = await run_openutau(ou_config(version, folder, seed=ou_seed, faults=faults), scenario)
    return PluginReplayRun(reports[0], entry, result)


async def replay_ou_against_plugin(capture: Path, plugin: PluginHandle, options: ReplayOptions) -> ReplayReport:
    """`--as openutau` in this event loop against a running simulated plugin."""
    script, damage = load_script(capture)
    assert damage == []
    options = replace(options, discovery_dir=plugin.directory)
    return await replay_as_openutau(script, options, capture_name=str(capture))

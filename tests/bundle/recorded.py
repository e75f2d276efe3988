"""A session of the simulated peers recorded through the real recorder, with a project full of
values a user would not want to publish, and the list of those values."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import partial
from pathlib import Path

import anyio
import anyio.lowlevel

from utauproxy.discovery.entry import is_ours
from utauproxy.peers.openutau import OpenUtauConfig, run_openutau
from utauproxy.peers.plugin import PluginConfig, PluginHandle, serve_plugin
from utauproxy.peers.session import Scenario, one_edit_session
from utauproxy.proxy.recorder import RecordingState, RecordOptions, run_record

TIME_SCALE = 0.05
PLUGIN_NAME = "アリスの Vocal Plugin"
# Lyrics OpenUtau gives a meaning to: the redaction keeps them (they say nothing about the user).
STRUCTURAL_LYRICS = frozenset({"", "+", "+~", "+*", "-", "R", "ー", "br", "SP", "AP"})


def private_scenario(seed: int = 3) -> Scenario:
    """one_edit_session with a comment and an absolute output folder under a user's home."""
    scenario = one_edit_session(seed)
    project = replace(scenario.initial, comment="mix for Alice's demo tape",
                      output_dir="/home/alice/Music/Secret Album/Vocal",
                      cache_dir="C:\\Users\\alice\\AppData\\Local\\OpenUtau\\Cache")
    return replace(scenario, initial=project)


def private_values(scenario: Scenario, *extra: str) -> set[str]:
    """Every lyric, name, singer, path and comment of every version of the project."""
    values: set[str] = set(extra)
    for project in scenario.projects():
        values |= {project.name, project.comment, project.output_dir, project.cache_dir}
        values |= {t.track_name for t in project.tracks} | {t.singer for t in project.tracks if t.singer}
        for part in project.voice_parts:
            values |= {part.name, part.comment} | {n.lyric for n in part.notes}
    return {v for v in values if v not in STRUCTURAL_LYRICS}


def byte_forms(value: str) -> list[bytes]:
    """The value as it can appear in bytes: UTF-8, JSON-escaped (`\\u3042`, as choc and
    System.Text.Json write it; also upper-case hex), and inside a JSON string."""
    escaped = json.dumps(value)[1:-1]
    forms = {value.encode(), escaped.encode(), escaped.upper().replace("\\U", "\\u").encode(),
             json.dumps(value, ensure_ascii=False)[1:-1].encode()}
    return sorted(forms)


async def record(tmp_path: Path, scenario: Scenario, version: str = "P6") -> Path:
    folder = tmp_path / "PluginServers"
    capture = tmp_path / f"session-{version}.utpcap"
    config = PluginConfig(version=version, discovery_dir=folder, name=PLUGIN_NAME, ping_interval=0.1, seed=1)
    async with anyio.create_task_group() as tasks:
        plugin: PluginHandle = await tasks.start(serve_plugin, config)
        options = RecordOptions(capture, folder, watchdog=False, poll_interval=0.02,
                                header_extra={"ping_interval_s": 0.1})
        state: RecordingState = await tasks.start(partial(run_record, options))
        with anyio.fail_after(10):
            while not any(is_ours(p.read_text()) for p in folder.glob("*.json")):
                await anyio.sleep(0.01)
        result = await run_openutau(OpenUtauConfig(version=version, discovery_dir=folder,
                                                   time_scale=TIME_SCALE, seed=2), scenario)
        assert result.errors == [] and result.initialized, result.errors
        with anyio.fail_after(10):
            await plugin.wait_closed(1)
        state.stop.set()
        await anyio.lowlevel.checkpoint()
        await plugin.unload()
    return capture

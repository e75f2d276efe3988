"""Helpers for the simulated-peer tests: run a plugin and an OpenUtau against each
other over real loopback sockets, and read bytes back through the real Framer."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import anyio

from utauproxy.peers.openutau import OpenUtauConfig, OpenUtauResult, run_openutau
from utauproxy.peers.plugin import PluginConfig, PluginHandle, serve_plugin
from utauproxy.peers.session import Scenario, generate_session
from utauproxy.protocol.events import Dialect, EndOfStream, Event
from utauproxy.protocol.framer import Framer

REAL_WIRE = Path("/work/shared/real-wire/p6-linux")



def frame_all(data: bytes, dialect: Dialect = Dialect.LINE) -> list[Event]:
    """Every event in a complete byte stream (EOF included)."""
    framer = Framer(dialect)
    framer.receive_data(data)
    framer.receive_data(b"")
    return [e for e in framer if not isinstance(e, EndOfStream)]


def real_lines(name: str) -> list[bytes]:
    return [line for line in (REAL_WIRE / name).read_bytes().split(b"\n") if line]


def payload_json(line: bytes) -> object:
    return json.loads(line.split(b" ", 1)[1])


@dataclass
class PairRun:
    plugin: PluginHandle
    result: OpenUtauResult


async def run_pair(directory: Path, scenario: Scenario, version: str, *,
                   time_scale: float = 0.01,
                   during: Callable[[PluginHandle], Awaitable[None]] | None = None,
                   plugin_options: dict[str, object] | None = None) -> PairRun:
    """A simulated plugin and a simulated OpenUtau of `version`, found through `directory`.
    `during` runs once OpenUtau is connected."""
    options: dict[str, object] = dict(ping_interval=0.05, response_jitter=0.01, record_wire=True)
    options.update(plugin_options or {})
    config = PluginConfig(version=version, discovery_dir=directory, **options)  # type: ignore[arg-type]
    async with anyio.create_task_group() as tasks:
        plugin: PluginHandle = await tasks.start(serve_plugin, config)
        if during is not None:
            tasks.start_soon(_when_connected, plugin, during)
        result = await run_openutau(
            OpenUtauConfig(version=version, discovery_dir=directory, time_scale=time_scale,
                           record_wire=True),
            scenario)
        with anyio.fail_after(10):
            await plugin.wait_closed(1)
        await plugin.unload()
    return PairRun(plugin, result)


async def _when_connected(plugin: PluginHandle,
                          during: Callable[[PluginHandle], Awaitable[None]]) -> None:
    while plugin.active is None:
        await anyio.sleep(0.005)
    await during(plugin)


def tiny_scenario() -> Scenario:
    return generate_session(1, edits=1, audio_seconds=0.01)

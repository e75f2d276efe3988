"""The simulated plugin's awkward real-world behaviour, seen from a raw client socket."""

from __future__ import annotations

import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from anyio.abc import SocketAttribute, SocketStream

from .helpers import tiny_scenario
from utauproxy.peers.entries import scan_like_openutau
from utauproxy.peers.openutau import OpenUtauConfig, run_openutau
from utauproxy.peers.plugin import PluginConfig, PluginHandle, serve_plugin
from utauproxy.protocol.events import Dialect, EndOfStream, Message
from utauproxy.protocol.framer import Framer

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def _plugin(tmp_path: Path, version: str = "P6", **options: object
                  ) -> AsyncIterator[PluginHandle]:
    settings: dict[str, object] = {"ping_interval": 0.05, **options}
    config = PluginConfig(version=version, discovery_dir=tmp_path, **settings)  # type: ignore[arg-type]
    async with anyio.create_task_group() as tasks:
        plugin: PluginHandle = await tasks.start(serve_plugin, config)
        yield plugin
        await plugin.unload()


class _Client:
    """A bare TCP client reading lines through the Framer."""

    def __init__(self, stream: SocketStream, dialect: Dialect = Dialect.LINE) -> None:
        self.stream = stream
        self.framer = Framer(dialect)

    async def send(self, data: bytes) -> None:
        await self.stream.send(data)

    async def next_message(self, *, skip_pings: bool = True) -> Message | None:
        """The next message, or None at EOF/reset."""
        with anyio.fail_after(5):
            while True:
                for event in self.framer:
                    if isinstance(event, EndOfStream):
                        return None
                    assert isinstance(event, Message)
                    if not (skip_pings and b"ping" in event.raw[:20]):
                        return event
                try:
                    data = await self.stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                    data = b""
                self.framer.receive_data(data)


async def _connect(plugin: PluginHandle) -> _Client:
    stream = await anyio.connect_tcp("127.0.0.1", plugin.port)
    return _Client(stream, plugin.rules.dialect)


@pytest.mark.parametrize(("version", "ping"), [("P6", b"notification:ping {}"), ("P2", b"ping {}")])
async def test_first_ping_comes_at_once_even_before_the_init_answer(
        tmp_path: Path, version: str, ping: bytes) -> None:
    # lastPing starts at the epoch, so the first reader turn pings (PROTOCOL.md §2.2).
    async with _plugin(tmp_path, version, ping_interval=60.0) as plugin:
        client = await _connect(plugin)
        await client.send(b"request:a:init {}\n")
        first = await client.next_message(skip_pings=False)
        second = await client.next_message(skip_pings=False)
        assert first is not None and first.raw == ping
        assert second is not None and second.header.id == "a"
        await client.stream.aclose()


@pytest.mark.parametrize("version", ["P6", "P2", "R"])
async def test_second_connection_is_closed_without_data(tmp_path: Path, version: str) -> None:
    async with _plugin(tmp_path, version) as plugin:
        first = await _connect(plugin)
        second = await _connect(plugin)
        with anyio.fail_after(5):
            with pytest.raises((anyio.EndOfStream, anyio.BrokenResourceError, ConnectionError)):
                await second.stream.receive()
        assert plugin.rejected == 1 and plugin.accepted == 1
        await first.send(b"request:abc:init {}\n")
        answer = await first.next_message()
        assert answer is not None and answer.header.id == "abc"
        await first.stream.aclose()


async def test_bridge_leaves_a_second_client_waiting(tmp_path: Path) -> None:
    async with _plugin(tmp_path, "v1.2") as plugin:
        first = await _connect(plugin)
        second = await _connect(plugin)
        await second.send(b'request:two:init {"ustx":""}\n')
        with anyio.move_on_after(0.3):
            await second.stream.receive()
            pytest.fail("a waiting client must not get any data")
        assert plugin.accepted == 1 and plugin.rejected == 0
        await first.send(b"close\n")
        answer = await second.next_message()  # served once the first one is gone
        assert answer is not None and answer.header.id == "two"
        assert plugin.accepted == 2
        await second.stream.aclose()


async def test_second_openutau_times_out_on_init(tmp_path: Path) -> None:
    async with _plugin(tmp_path, "P6") as plugin:
        first = await _connect(plugin)
        result = await run_openutau(OpenUtauConfig(discovery_dir=tmp_path, time_scale=0.01),
                                    tiny_scenario())
        assert result.connected and not result.initialized
        assert any("init" in e for e in result.errors)
        assert dict(result.sent) == {"request:init": 1}
        await first.stream.aclose()


async def test_s_plugin_answers_out_of_order_and_r_in_order(tmp_path: Path) -> None:
    ids = [f"id{n:02d}" for n in range(20)]
    for version, in_order in (("P6", False), ("R", True)):
        async with _plugin(tmp_path / version, version, response_jitter=0.05) as plugin:
            client = await _connect(plugin)
            await client.send(b"".join(b"request:%s:init {}\n" % i.encode() for i in ids))
            answered: list[str] = []
            for _ in ids:
                message = await client.next_message()
                assert message is not None
                answered.append(message.header.id or "")
            assert sorted(answered) == ids
            assert (answered == ids) == in_order
            await client.stream.aclose()


async def test_lines_that_kill_the_real_plugin_are_recorded_and_survived(tmp_path: Path) -> None:
    async with _plugin(tmp_path, "P6") as plugin:
        client = await _connect(plugin)
        await client.send(b'ping\nclose\r\nnotification:updateAudio {"audios": {"x": "AAAA"}}\n'
                          b"notification:noSuchKind {}\nrequest:ok:init {}\n")
        answer = await client.next_message()
        assert answer is not None and answer.header.id == "ok"
        assert len(plugin.crash_reasons) == 3
        assert "notification:noSuchKind" in plugin.state.ignored
        await client.stream.aclose()


async def test_abort_like_real_resets_and_leaves_a_stale_entry(tmp_path: Path) -> None:
    config = PluginConfig(version="P6", discovery_dir=tmp_path, abort_like_real=True)
    async with anyio.create_task_group() as tasks:
        plugin: PluginHandle = await tasks.start(serve_plugin, config)
        client = await _connect(plugin)
        await client.send(b"foo 123\n")
        with anyio.fail_after(5):
            await plugin.wait_stopped()
        assert await client.next_message() is None
    assert plugin.aborted and plugin.entry_path.exists()  # left behind, as after a crash
    with pytest.raises(OSError):
        await anyio.connect_tcp("127.0.0.1", plugin.port)
    scan = scan_like_openutau(tmp_path)  # OpenUtau finds it dead and deletes it
    assert scan.entries == [] and not plugin.entry_path.exists()


async def test_plugin_survives_a_client_reset(tmp_path: Path) -> None:
    async with _plugin(tmp_path, "P6") as plugin:
        client = await _connect(plugin)
        await client.send(b'notification:updateUstx {"ustx": "half a li')
        raw = client.stream.extra(SocketAttribute.raw_socket)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        await client.stream.aclose()
        with anyio.fail_after(5):
            await plugin.wait_closed(1)
        again = await _connect(plugin)
        await again.send(b'notification:updateUstx {"ustx": "whole"}\nrequest:r:init {}\n')
        answer = await again.next_message()
        assert answer is not None and answer.json() == {"success": True, "data": {"ustx": "whole"}}
        assert plugin.accepted == 2 and plugin.crash_reasons == []
        await again.stream.aclose()

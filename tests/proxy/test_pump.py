"""The byte pump over real loopback sockets: exact bytes both ways, exact bytes in the capture,
and every connection ending recorded as what it was."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import pytest
from anyio.abc import SocketAttribute, SocketStream

from utauproxy.capture.reader import CaptureReader
from utauproxy.capture.writer import CaptureWriter
from utauproxy.clock import CaptureClock
from utauproxy.proxy.pump import ProxyContext, proxy_connection
from utauproxy.proxy.sink import CaptureSink
from utauproxy.records import (
    CaptureHeader,
    ConnectionRecord,
    ConnEvent,
    Direction,
    MessageFlags,
    MessageRecord,
)

pytestmark = pytest.mark.anyio

Script = Callable[[SocketStream], Awaitable[None]]


def _header() -> CaptureHeader:
    return CaptureHeader(1, 0, "utauproxy test", "2026-01-01T00:00:00Z", "test", "auto")


async def _read_all(stream: SocketStream) -> bytes:
    chunks = []
    while True:
        try:
            chunks.append(await stream.receive(1 << 20))
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            return b"".join(chunks)


async def _through_proxy(tmp_path: Path, plugin: Script, openutau: Script) -> list[object]:
    """Run `plugin` as the upstream server and `openutau` as the client, through one proxied
    connection; return the capture's records."""
    capture = tmp_path / "c.utpcap"
    clock = CaptureClock()
    with CaptureSink(CaptureWriter.create(capture, _header()), clock) as sink:
        ctx = ProxyContext(clock, sink.put)
        upstream = (await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)).listeners[0]
        front = (await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)).listeners[0]
        up_port = upstream.extra(SocketAttribute.local_port)
        front_port = front.extra(SocketAttribute.local_port)

        async def serve_plugin_once() -> None:
            async with upstream:
                stream = await upstream.accept()
                async with stream:
                    await plugin(stream)

        async def serve_proxy_once() -> None:
            async with front:
                client = await front.accept()
                await proxy_connection(client, up_port, ctx, {})

        async with anyio.create_task_group() as tg:
            tg.start_soon(serve_plugin_once)
            tg.start_soon(serve_proxy_once)
            async with await anyio.connect_tcp("127.0.0.1", front_port) as client:
                await openutau(client)
    with CaptureReader.open(capture) as reader:
        return list(reader.records())


def _messages(records: list[object], direction: Direction) -> list[MessageRecord]:
    return [r for r in records if isinstance(r, MessageRecord) and r.direction is direction]


def _events(records: list[object]) -> list[tuple[ConnEvent, Direction | None]]:
    return [(r.event, r.direction) for r in records if isinstance(r, ConnectionRecord)]


NASTY_OU_STREAM = (
    b"request:6f1c2d3e-0a4b-4c5d-9e8f-001122334455:init {}\n"
    b"notification:updateTracks {\"tracks\":[]}\r\n"  # CR kept exactly
    b"\xff\xfe not utf-8 at all\n"
    b"ping\n"  # no space
    b"notification:updateUstx {\"ustx\":\"" + b"x" * (50 << 20) + b"\"}\n"
)
NASTY_PLUGIN_WRITES = [
    b"notification:ping {}\n",
    # PROTOCOL.md §6.1: a partial write glued to the next line
    b'response:6f1c2d3e-0a4b-4c5d-9e8f-001122334455 {"success": true, "data": {"ustx": "na',
    b"notification:ping {}\n",
    b"audio 123 10\nab\ncd\nefgh",  # API v1.2 data frame with LFs inside
    b"tail without newline",
]


async def test_bytes_are_identical_both_ways_and_in_the_capture(tmp_path: Path) -> None:
    received: dict[str, bytes] = {}

    async def plugin(stream: SocketStream) -> None:
        for piece in NASTY_PLUGIN_WRITES:
            await stream.send(piece)
        await stream.send_eof()
        received["plugin"] = await _read_all(stream)

    async def openutau(stream: SocketStream) -> None:
        view = memoryview(NASTY_OU_STREAM)
        for start in range(0, len(view), 70_001):  # odd write sizes
            await stream.send(bytes(view[start : start + 70_001]))
        await stream.send_eof()
        received["openutau"] = await _read_all(stream)

    records = await _through_proxy(tmp_path, plugin, openutau)
    plugin_stream = b"".join(NASTY_PLUGIN_WRITES)
    assert hashlib.sha256(received["plugin"]).digest() == hashlib.sha256(NASTY_OU_STREAM).digest()
    assert received["openutau"] == plugin_stream
    ou = _messages(records, Direction.OU_TO_PLUGIN)
    assert b"".join(m.wire_bytes for m in ou) == NASTY_OU_STREAM
    assert [m.raw for m in ou][:4] == [
        b"request:6f1c2d3e-0a4b-4c5d-9e8f-001122334455:init {}",
        b'notification:updateTracks {"tracks":[]}\r',
        b"\xff\xfe not utf-8 at all",
        b"ping",
    ]
    plugin_msgs = _messages(records, Direction.PLUGIN_TO_OU)
    assert b"".join(m.wire_bytes for m in plugin_msgs) == plugin_stream
    frame = next(m for m in plugin_msgs if m.flags & MessageFlags.FRAME)
    assert frame.raw == b"audio 123 10\nab\ncd\nefgh"
    assert plugin_msgs[-1].raw == b"tail without newline"
    assert plugin_msgs[-1].flags & MessageFlags.NO_LF
    events = _events(records)
    assert events[0][0] is ConnEvent.OPEN and events[-1][0] is ConnEvent.CLOSED
    assert (ConnEvent.EOF, Direction.OU_TO_PLUGIN) in events
    assert (ConnEvent.EOF, Direction.PLUGIN_TO_OU) in events


async def test_half_close_keeps_the_other_direction_open(tmp_path: Path) -> None:
    got: dict[str, bytes] = {}

    async def plugin(stream: SocketStream) -> None:
        got["request"] = await _read_all(stream)  # returns at OpenUtau's FIN
        await stream.send(b"response:1 {\"success\": true, \"data\": {}}\n")

    async def openutau(stream: SocketStream) -> None:
        await stream.send(b"request:1:init {}\n")
        await stream.send_eof()
        got["response"] = await _read_all(stream)

    records = await _through_proxy(tmp_path, plugin, openutau)
    assert got == {"request": b"request:1:init {}\n",
                   "response": b"response:1 {\"success\": true, \"data\": {}}\n"}
    events = _events(records)
    assert events.index((ConnEvent.EOF, Direction.OU_TO_PLUGIN)) < events.index(
        (ConnEvent.EOF, Direction.PLUGIN_TO_OU))


async def test_plugin_reset_mid_line_is_recorded_and_passed_on(tmp_path: Path) -> None:
    partial = b"notification:updateAudio {\"audios\":{\"1\":\"" + os.urandom(1 << 20).hex().encode()
    outcome: dict[str, object] = {}

    async def plugin(stream: SocketStream) -> None:
        await stream.send(partial)
        await anyio.sleep(0.05)
        import socket
        import struct

        sock = stream.extra(SocketAttribute.raw_socket)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    async def openutau(stream: SocketStream) -> None:
        data = b""
        try:
            while True:
                data += await stream.receive(1 << 20)
        except anyio.EndOfStream:
            outcome["end"] = "eof"
        except anyio.BrokenResourceError:
            outcome["end"] = "reset"
        outcome["data"] = data

    records = await _through_proxy(tmp_path, plugin, openutau)
    assert outcome["end"] == "reset"  # the reset was passed on, not turned into a clean FIN
    assert outcome["data"] == partial[: len(outcome["data"])]  # type: ignore[arg-type]
    cut = _messages(records, Direction.PLUGIN_TO_OU)
    assert len(cut) == 1 and cut[0].raw == partial and cut[0].flags & MessageFlags.NO_LF
    assert (ConnEvent.RESET, Direction.PLUGIN_TO_OU) in _events(records)

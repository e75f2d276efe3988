"""The recorder's threaded relay (proxy/relay.py) over real loopback sockets: exact bytes both
ways and in the capture, half-close passed on as half-close, a reset passed on as a reset, records
in causal order across the two threads, and a stop from outside that ends the threads."""

from __future__ import annotations

import hashlib
import os
import socket
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import pytest
from anyio.abc import SocketAttribute, SocketStream

from utauproxy.capture.reader import CaptureReader
from utauproxy.capture.writer import CaptureWriter
from utauproxy.clock import CaptureClock
from utauproxy.proxy.listen import accept, open_loopback_listener
from utauproxy.proxy.capture_input import InlineCapture
from utauproxy.proxy.context import ProxyContext
from utauproxy.proxy.relay import relay_connection
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


async def _through_relay(tmp_path: Path, plugin: Script, openutau: Script,
                         stop_after: Callable[[], Awaitable[None]] | None = None) -> list[object]:
    """`plugin` serves upstream, `openutau` is the client, one relayed connection between
    them; with `stop_after`, the relay is cancelled once it returns. The capture's records."""
    capture = tmp_path / "c.utpcap"
    clock = CaptureClock()
    with CaptureSink(CaptureWriter.create(capture, _header()), clock) as sink:
        ctx = ProxyContext(InlineCapture(clock, sink.put))
        upstream = (await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)).listeners[0]
        up_port = upstream.extra(SocketAttribute.local_port)
        front = open_loopback_listener()

        async def serve_plugin_once() -> None:
            async with upstream:
                stream = await upstream.accept()
                async with stream:
                    await plugin(stream)

        async def serve_relay_once() -> None:
            with front:
                client = await accept(front)
            await relay_connection(client, up_port, ctx, {})

        async with anyio.create_task_group() as tg:
            tg.start_soon(serve_plugin_once)
            tg.start_soon(serve_relay_once)
            async with await anyio.connect_tcp("127.0.0.1", front.getsockname()[1]) as client:
                if stop_after is None:
                    await openutau(client)
                else:
                    tg.start_soon(openutau, client)
                    await stop_after()
                    tg.cancel_scope.cancel()
    with CaptureReader.open(capture) as reader:
        return list(reader.records())


def _messages(records: list[object], direction: Direction) -> list[MessageRecord]:
    return [r for r in records if isinstance(r, MessageRecord) and r.direction is direction]


def _events(records: list[object]) -> list[tuple[ConnEvent, Direction | None]]:
    return [(r.event, r.direction) for r in records if isinstance(r, ConnectionRecord)]


OU_STREAM = (
    b"request:6f1c2d3e-0a4b-4c5d-9e8f-001122334455:init {}\n"
    b"notification:updateTracks {\"tracks\":[]}\r\n"
    b"\xff\xfe not utf-8 at all\n"
    b"ping\n"
    b"notification:updateUstx {\"ustx\":\"" + b"x" * (20 << 20) + b"\"}\n"
)
PLUGIN_WRITES = [
    b"notification:ping {}\n",
    b'response:6f1c2d3e-0a4b-4c5d-9e8f-001122334455 {"success": true, "data": {"ustx": "na',
    b"notification:ping {}\n",
    b"audio 123 10\nab\ncd\nefgh",
    b"tail without newline",
]


async def test_bytes_are_identical_both_ways_and_in_the_capture(tmp_path: Path) -> None:
    received: dict[str, bytes] = {}

    async def plugin(stream: SocketStream) -> None:
        for piece in PLUGIN_WRITES:
            await stream.send(piece)
        await stream.send_eof()
        received["plugin"] = await _read_all(stream)

    async def openutau(stream: SocketStream) -> None:
        view = memoryview(OU_STREAM)
        for start in range(0, len(view), 70_001):
            await stream.send(bytes(view[start : start + 70_001]))
        await stream.send_eof()
        received["openutau"] = await _read_all(stream)

    records = await _through_relay(tmp_path, plugin, openutau)
    assert hashlib.sha256(received["plugin"]).digest() == hashlib.sha256(OU_STREAM).digest()
    assert received["openutau"] == b"".join(PLUGIN_WRITES)
    assert b"".join(m.wire_bytes for m in _messages(records, Direction.OU_TO_PLUGIN)) == OU_STREAM
    plugin_msgs = _messages(records, Direction.PLUGIN_TO_OU)
    assert b"".join(m.wire_bytes for m in plugin_msgs) == b"".join(PLUGIN_WRITES)
    assert any(m.flags & MessageFlags.FRAME and m.raw == b"audio 123 10\nab\ncd\nefgh" for m in plugin_msgs)
    assert plugin_msgs[-1].raw == b"tail without newline" and plugin_msgs[-1].flags & MessageFlags.NO_LF
    events = _events(records)
    assert events[0][0] is ConnEvent.OPEN and events[-1][0] is ConnEvent.CLOSED
    assert {(ConnEvent.EOF, Direction.OU_TO_PLUGIN), (ConnEvent.EOF, Direction.PLUGIN_TO_OU)} <= set(events)


async def test_half_close_keeps_the_other_direction_open(tmp_path: Path) -> None:
    got: dict[str, bytes] = {}

    async def plugin(stream: SocketStream) -> None:
        got["request"] = await _read_all(stream)  # returns at OpenUtau's FIN
        await stream.send(b"response:1 {\"success\": true, \"data\": {}}\n")

    async def openutau(stream: SocketStream) -> None:
        await stream.send(b"request:1:init {}\n")
        await stream.send_eof()
        got["response"] = await _read_all(stream)

    records = await _through_relay(tmp_path, plugin, openutau)
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

    records = await _through_relay(tmp_path, plugin, openutau)
    assert outcome["end"] == "reset"  # passed on as a reset, not turned into a clean FIN
    assert outcome["data"] == partial[: len(outcome["data"])]  # type: ignore[arg-type]
    cut = _messages(records, Direction.PLUGIN_TO_OU)
    assert len(cut) == 1 and cut[0].raw == partial and cut[0].flags & MessageFlags.NO_LF
    assert (ConnEvent.RESET, Direction.PLUGIN_TO_OU) in _events(records)


async def test_every_answer_is_recorded_after_its_request(tmp_path: Path) -> None:
    # Each direction has its own thread: the answer must still never be recorded first.
    count = 300

    async def plugin(stream: SocketStream) -> None:
        buffer = b""
        answered = 0
        while answered < count:
            buffer += await stream.receive()
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                await stream.send(b"response:" + line.split(b":")[1] + b" {}\n")
                answered += 1

    async def openutau(stream: SocketStream) -> None:
        for n in range(count):
            await stream.send(b"request:%d:ping {}\n" % n)
            assert (await stream.receive()).startswith(b"response:%d " % n)
        await stream.send_eof()

    records = await _through_relay(tmp_path, plugin, openutau)
    lines = [m.raw.split(b" ")[0] for m in records if isinstance(m, MessageRecord)]
    assert lines == [line for n in range(count) for line in (b"request:%d:ping" % n, b"response:%d" % n)]
    stamps = [r.ts_ns for r in records if isinstance(r, (MessageRecord, ConnectionRecord))]
    assert stamps == sorted(stamps)


async def test_stopping_the_recorder_ends_a_connection_that_is_still_open(tmp_path: Path) -> None:
    # Both peers stay silent and connected: only the relay's own cancellation can end it.
    ready = anyio.Event()

    async def plugin(stream: SocketStream) -> None:
        await _read_all(stream)

    async def openutau(stream: SocketStream) -> None:
        await stream.send(b"request:1:init {}\n")
        ready.set()
        await anyio.sleep_forever()

    async def once_forwarded() -> None:
        await ready.wait()
        await anyio.sleep(0.1)

    with anyio.fail_after(10):
        records = await _through_relay(tmp_path, plugin, openutau, stop_after=once_forwarded)
    assert [m.raw for m in _messages(records, Direction.OU_TO_PLUGIN)] == [b"request:1:init {}"]
    events = _events(records)
    assert events[0][0] is ConnEvent.OPEN and events[-1][0] is ConnEvent.CLOSED


async def test_an_unreachable_plugin_is_recorded_as_refused(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]  # bound, never listening: connecting is refused
        capture = tmp_path / "c.utpcap"
        clock = CaptureClock()
        with CaptureSink(CaptureWriter.create(capture, _header()), clock) as sink:
            ctx = ProxyContext(InlineCapture(clock, sink.put))
            with open_loopback_listener() as front:
                async with anyio.create_task_group() as tg:
                    async def serve() -> None:
                        await relay_connection(await accept(front), dead_port, ctx, {"entry_name": "Vocal"})

                    tg.start_soon(serve)
                    async with await anyio.connect_tcp("127.0.0.1", front.getsockname()[1]) as client:
                        assert await _read_all(client) == b""  # closed at once
    with CaptureReader.open(capture) as reader:
        refused = [r for r in reader.records() if isinstance(r, ConnectionRecord)]
    assert [(r.event, r.detail["upstream_port"], r.detail["entry_name"]) for r in refused] == [
        (ConnEvent.REFUSED, dead_port, "Vocal")]

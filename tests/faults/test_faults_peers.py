"""Peers misbehaving mid-stream (PROTOCOL.md §3.6, §6), through the real recorder: each fault is
forwarded as it happened, recorded as it happened, and costs no other connection anything."""

from __future__ import annotations

import socket
import threading
import time

import anyio
import pytest
from anyio.abc import SocketStream
from faults_helpers import (
    events,
    messages,
    plugin_and_recorder,
    read_capture,
    receive_all,
    receive_line,
    recording,
    reset_on_close,
    stream_of,
    until,
)

from utauproxy.capture.reader import CaptureReader
from utauproxy.peers.plugin import PluginConfig, PluginHandle, serve_plugin
from utauproxy.protocol.versions import ProtocolVersion
from utauproxy.records import ConnectionRecord, ConnEvent, Direction, MessageFlags, MessageRecord

pytestmark = pytest.mark.anyio

OK = b' {"success": true, "data": {}}'


async def answer_requests(stream: SocketStream) -> None:
    """The well-behaved plugin of the connections that are not under test."""
    buffer = bytearray()
    while True:
        line = await receive_line(stream, buffer)
        request_id = line.split(b":")[1]
        await stream.send(b"response:" + request_id + OK + b"\n")


async def ask(stream: SocketStream, request_id: bytes) -> bytes:
    await stream.send(b"request:" + request_id + b":init {}\n")
    return await receive_line(stream, bytearray())


async def test_plugin_reset_in_the_middle_of_a_50_mb_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    line_head = b'notification:updateAudio {"audios":{"1":"'
    # The first half of a 50 MB line: the rest never comes, the plugin resets instead.
    crossed = line_head + b"QUJDRA==" * ((25 << 20) // 8)
    ou_received = bytearray()
    both_open = anyio.Event()

    async def plugin(stream: SocketStream, n: int) -> None:
        if n != 1:
            await answer_requests(stream)
            return
        await both_open.wait()
        await stream.send(crossed)
        await until(lambda: len(ou_received) >= len(crossed))  # all of it is past the proxy
        reset_on_close(stream)

    async with plugin_and_recorder(tmp_path, plugin) as (raw_plugin, rec):
        async with anyio.create_task_group() as tg:
            first = await anyio.connect_tcp("127.0.0.1", rec.proxy_port)
            await until(lambda: raw_plugin.accepted == 1)
            second = await anyio.connect_tcp("127.0.0.1", rec.proxy_port)
            await until(lambda: raw_plugin.accepted == 2)
            both_open.set()
            async with first:
                _, end = await receive_all(first, ou_received)
            async with second:  # opened before the reset, used after it
                assert await ask(second, b"after-reset") == b"response:after-reset" + OK
            async with await anyio.connect_tcp("127.0.0.1", rec.proxy_port) as third:
                assert await ask(third, b"new-conn") == b"response:new-conn" + OK
            tg.cancel_scope.cancel()
    assert end == "reset"  # passed on as a reset, not turned into a clean end
    assert bytes(ou_received) == crossed
    records = read_capture(rec.output)
    cut = messages(records, 1, Direction.PLUGIN_TO_OU)
    assert len(cut) == 1 and cut[0].raw == crossed and cut[0].flags & MessageFlags.NO_LF
    assert (ConnEvent.RESET, Direction.PLUGIN_TO_OU) in events(records, 1)
    assert events(records, 1)[-1] == (ConnEvent.CLOSED, None)
    first_closed = next(r.ts_ns for r in records if isinstance(r, ConnectionRecord)
                        and r.conn == 1 and r.event is ConnEvent.CLOSED)
    late = messages(records, 2, Direction.PLUGIN_TO_OU)
    assert [m.raw for m in late] == [b"response:after-reset" + OK] and late[0].ts_ns > first_closed
    assert [m.raw for m in messages(records, 3, Direction.PLUGIN_TO_OU)] == [b"response:new-conn" + OK]


async def test_openutau_half_close_passes_the_fin_and_keeps_the_plugins_bytes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    seen: dict[str, object] = {}
    late = [b"response:1" + OK + b"\n", b"notification:ping {}\n"]

    async def plugin(stream: SocketStream, n: int) -> None:
        seen["request"], seen["plugin_end"] = await receive_all(stream)  # returns at the FIN
        for piece in late:
            await anyio.sleep(0.05)
            await stream.send(piece)

    async with plugin_and_recorder(tmp_path, plugin) as (_, rec):
        async with await anyio.connect_tcp("127.0.0.1", rec.proxy_port) as ou:
            await ou.send(b"request:1:init {}\n")
            await ou.send_eof()
            seen["response"], seen["ou_end"] = await receive_all(ou)
    assert seen == {"request": b"request:1:init {}\n", "plugin_end": "eof",
                    "response": b"".join(late), "ou_end": "eof"}
    records = read_capture(rec.output)
    assert stream_of(records, 1, Direction.PLUGIN_TO_OU) == b"".join(late)
    fin = next(r.ts_ns for r in records if isinstance(r, ConnectionRecord)
               and r.event is ConnEvent.EOF and r.direction is Direction.OU_TO_PLUGIN)
    assert all(m.ts_ns > fin for m in messages(records, 1, Direction.PLUGIN_TO_OU))
    assert events(records, 1)[-2:] == [(ConnEvent.EOF, Direction.PLUGIN_TO_OU), (ConnEvent.CLOSED, None)]


async def test_openutau_vanishing_without_fin_resets_the_plugin_side(tmp_path) -> None:  # type: ignore[no-untyped-def]
    seen: dict[int, tuple[bytes, str]] = {}
    half_line = b'request:9:updatePartLayout {"parts":[{"no'

    async def plugin(stream: SocketStream, n: int) -> None:
        if n == 1:
            seen[1] = await receive_all(stream)
        else:
            await answer_requests(stream)

    async with plugin_and_recorder(tmp_path, plugin) as (_, rec):
        async with await anyio.connect_tcp("127.0.0.1", rec.proxy_port) as ou:
            await ou.send(half_line)
            await anyio.sleep(0.1)
            reset_on_close(ou)  # the OpenUtau process dies
        await until(lambda: 1 in seen)
        async with await anyio.connect_tcp("127.0.0.1", rec.proxy_port) as ou:
            assert await ask(ou, b"next") == b"response:next" + OK
    assert seen[1] == (half_line, "reset")
    records = read_capture(rec.output)
    cut = messages(records, 1, Direction.OU_TO_PLUGIN)
    assert [m.raw for m in cut] == [half_line] and cut[0].flags & MessageFlags.NO_LF
    assert (ConnEvent.RESET, Direction.OU_TO_PLUGIN) in events(records, 1)
    assert messages(records, 2, Direction.PLUGIN_TO_OU)


async def test_plugin_vanishing_with_unread_data_resets_openutaus_side(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A plain blocking socket: an event loop would read OpenUtau's line eagerly, and the close
    # would be a FIN. With the line still in the kernel, closing sends RST (a dying process).
    server = socket.create_server(("127.0.0.1", 0))
    unread_sent = threading.Event()

    def plugin() -> None:
        conn, _ = server.accept()
        conn.sendall(b"notification:ping {}\n")
        unread_sent.wait(10)
        time.sleep(0.1)
        conn.close()

    with server:
        async with anyio.create_task_group() as tg:
            tg.start_soon(anyio.to_thread.run_sync, plugin)
            async with recording(tmp_path, server.getsockname()[1]) as rec:
                async with await anyio.connect_tcp("127.0.0.1", rec.proxy_port) as ou:
                    await ou.send(b'notification:updateTracks {"tracks":[]}\n')
                    unread_sent.set()
                    got, end = await receive_all(ou)
    assert (got, end) == (b"notification:ping {}\n", "reset")
    records = read_capture(rec.output)
    assert (ConnEvent.RESET, Direction.PLUGIN_TO_OU) in events(records, 1)
    assert [m.raw for m in messages(records, 1, Direction.PLUGIN_TO_OU)] == [b"notification:ping {}"]
    assert [m.raw for m in messages(records, 1, Direction.OU_TO_PLUGIN)] == [
        b'notification:updateTracks {"tracks":[]}']


async def test_a_cut_short_write_glued_to_the_next_line_is_recorded_as_it_crossed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # PROTOCOL.md §6.1: write_some sent only the start of the response; the ping follows.
    writes = [b'response:a {"success": true, "data": {"ustx": "na', b"notification:ping {}\n",
              b"response:b" + OK + b"\n"]

    async def plugin(stream: SocketStream, n: int) -> None:
        buffer = bytearray()
        await receive_line(stream, buffer)
        await receive_line(stream, buffer)
        for piece in writes:
            await stream.send(piece)
            await anyio.sleep(0.05)  # separate segments, separate proxy reads

    async with plugin_and_recorder(tmp_path, plugin) as (_, rec):
        async with await anyio.connect_tcp("127.0.0.1", rec.proxy_port) as ou:
            await ou.send(b"request:a:init {}\nrequest:b:updatePartLayout {\"parts\":[]}\n")
            got, _ = await receive_all(ou)
    assert got == b"".join(writes)
    records = read_capture(rec.output)
    crossed = messages(records, 1, Direction.PLUGIN_TO_OU)
    assert [m.raw for m in crossed] == [writes[0] + writes[1][:-1], writes[2][:-1]]
    assert not any(m.flags & MessageFlags.NO_LF for m in crossed)
    assert stream_of(records, 1, Direction.PLUGIN_TO_OU) == got


async def test_out_of_order_responses_and_early_pings_are_kept_in_wire_order(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # PROTOCOL.md §6.2: one thread per request, so answers come back in any order.
    answers = [b"notification:ping {}", b'response:c {"success": true, "data": {"missingAudios": []}}',
               b'response:a {"success": true, "data": {"missingAudios": []}}', b"notification:ping {}",
               b'response:b {"success": true, "data": {"missingAudios": []}}']

    async def plugin(stream: SocketStream, n: int) -> None:
        buffer = bytearray()
        for _ in range(3):
            await receive_line(stream, buffer)
        for line in answers:
            await stream.send(line + b"\n")
            await anyio.sleep(0.01)

    requests = b"".join(b'request:%s:updatePartLayout {"parts":[]}\n' % rid for rid in (b"a", b"b", b"c"))
    async with plugin_and_recorder(tmp_path, plugin) as (_, rec):
        async with await anyio.connect_tcp("127.0.0.1", rec.proxy_port) as ou:
            await ou.send(requests)
            got, _ = await receive_all(ou)
    assert got == b"".join(line + b"\n" for line in answers)
    records = read_capture(rec.output)
    assert [m.raw for m in messages(records, 1, Direction.PLUGIN_TO_OU)] == answers
    with CaptureReader.open(rec.output) as reader:
        assert reader.footer is not None
        latency = reader.footer.extra["latency"]["updatePartLayout"]
    assert latency["count"] == 3  # every response matched to its request by id


async def test_a_second_openutau_is_closed_without_data_and_the_first_is_unaffected(tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "PluginServers"
    config = PluginConfig(ProtocolVersion.P6, folder, name="Vocal", ping_interval=60.0)
    async with anyio.create_task_group() as tg:
        plugin: PluginHandle = await tg.start(serve_plugin, config)
        async with recording(tmp_path, None, entry_file=plugin.entry_path.name) as rec:
            async with await anyio.connect_tcp("127.0.0.1", rec.proxy_port) as first:
                buffer = bytearray()
                await first.send(b"request:1111:init {}\n")
                assert (await _response(first, buffer)).startswith(b"response:1111 ")
                async with await anyio.connect_tcp("127.0.0.1", rec.proxy_port) as second:
                    await second.send(b"request:2222:init {}\n")
                    assert await receive_all(second) == (b"", "eof")  # PROTOCOL.md §3.6.8
                await first.send(b'request:3333:updatePartLayout {"parts":[]}\n')
                assert (await _response(first, buffer)).startswith(b"response:3333 ")
        tg.cancel_scope.cancel()
    records = read_capture(rec.output)
    opened = [r.conn for r in records if isinstance(r, ConnectionRecord) and r.event is ConnEvent.OPEN]
    assert opened == [1, 2]
    assert messages(records, 2, Direction.PLUGIN_TO_OU) == []
    assert [m.raw for m in messages(records, 2, Direction.OU_TO_PLUGIN)] == [b"request:2222:init {}"]
    assert (ConnEvent.EOF, Direction.PLUGIN_TO_OU) in events(records, 2)
    second_refused = next(r.ts_ns for r in records if isinstance(r, ConnectionRecord) and r.conn == 2
                          and r.event is ConnEvent.EOF and r.direction is Direction.PLUGIN_TO_OU)
    replies = [m for m in messages(records, 1, Direction.PLUGIN_TO_OU) if m.raw.startswith(b"response:")]
    assert [m.raw.split(b" ")[0] for m in replies] == [b"response:1111", b"response:3333"]
    assert replies[1].ts_ns > second_refused
    assert not any(isinstance(r, MessageRecord) and r.conn not in (1, 2) for r in records)


async def _response(stream: SocketStream, buffer: bytearray) -> bytes:
    while not (line := await receive_line(stream, buffer)).startswith(b"response:"):
        pass  # pings
    return line

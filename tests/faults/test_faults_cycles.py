"""1,000 connect/disconnect cycles through the real recorder: it keeps serving, and what it holds
(sockets, tasks, memory) goes back to where it was."""

from __future__ import annotations

import gc
import tracemalloc

import anyio
import pytest
from anyio.abc import SocketStream
from faults_helpers import events, open_fds, plugin_and_recorder, read_capture, receive_line, reset_on_close, until

from utauproxy.records import ConnectionRecord, ConnEvent

pytestmark = pytest.mark.anyio

CYCLES = 1000
WARM_UP = 50
# Generous: a leak of even 2 KiB per connection would be 2 MB here.
MEMORY_BOUND_BYTES = 2 << 20


async def answer(stream: SocketStream, n: int) -> None:
    buffer = bytearray()
    while True:
        line = await receive_line(stream, buffer)
        await stream.send(b"response:" + line.split(b":")[1] + b' {"success": true, "data": {}}\n')


async def one_cycle(port: int, i: int) -> None:
    async with await anyio.connect_tcp("127.0.0.1", port) as ou:
        kind = i % 3
        if kind == 1:  # a request answered, then a clean close
            await ou.send(b"request:%d:init {}\n" % i)
            assert await receive_line(ou, bytearray()) == b'response:%d {"success": true, "data": {}}' % i
        elif kind == 2:  # half a line, then the process "dies"
            await ou.send(b"request:%d:upd" % i)
            reset_on_close(ou)
        # kind 0: connect and leave at once


async def test_a_thousand_connections_leak_no_sockets_tasks_or_memory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with plugin_and_recorder(tmp_path, answer) as (_, rec):
        stats = rec.state.stats
        for i in range(WARM_UP):
            await one_cycle(rec.proxy_port, i)
        await until(lambda: stats.connections_open == 0)
        gc.collect()
        fds_before = open_fds()
        tasks_before = len(anyio.get_running_tasks())
        tracemalloc.start()
        try:
            memory_before = tracemalloc.get_traced_memory()[0]
            for i in range(WARM_UP, WARM_UP + CYCLES):
                await one_cycle(rec.proxy_port, i)
            await until(lambda: stats.connections_open == 0)
            await until(lambda: open_fds() <= fds_before)
            gc.collect()
            memory_growth = tracemalloc.get_traced_memory()[0] - memory_before
        finally:
            tracemalloc.stop()
        # A task that outlived its connection would keep this from ever holding.
        await until(lambda: len(anyio.get_running_tasks()) <= tasks_before, timeout=10)
        tasks_after = len(anyio.get_running_tasks())
        # Still serving after all that.
        async with await anyio.connect_tcp("127.0.0.1", rec.proxy_port) as ou:
            await ou.send(b"request:last:init {}\n")
            assert (await receive_line(ou, bytearray())).startswith(b"response:last ")
    assert open_fds() - fds_before == set()
    assert tasks_after <= tasks_before
    assert memory_growth < MEMORY_BOUND_BYTES, memory_growth
    assert stats.connections_total == WARM_UP + CYCLES + 1
    records = read_capture(rec.output)
    opened = [r.conn for r in records if isinstance(r, ConnectionRecord) and r.event is ConnEvent.OPEN]
    assert opened == list(range(1, WARM_UP + CYCLES + 2))  # every connection, its own id
    for conn in (WARM_UP + 3, WARM_UP + 4, WARM_UP + 5):
        assert events(records, conn)[-1] == (ConnEvent.CLOSED, None)
    resets = [r for r in records if isinstance(r, ConnectionRecord) and r.event is ConnEvent.RESET]
    assert len(resets) >= (WARM_UP + CYCLES) // 3 - 2

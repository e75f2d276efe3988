"""The byte pump: forwards every byte unchanged in both directions, first, and only then lets the
tap read a copy (DESIGN.md §2: the proxy never interprets bytes in order to forward them)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count

import anyio
import structlog
from anyio.abc import SocketAttribute, SocketStream

from utauproxy.clock import CaptureClock
from utauproxy.protocol.events import Dialect
from utauproxy.proxy.tap import ConnectionTap, TrafficStats
from utauproxy.records import ConnectionRecord, ConnEvent, Direction, Record
from utauproxy.sockets import arm_reset

RECEIVE_SIZE = 256 * 1024
# What a pump catches when a socket goes away: the peer reset, or we closed it ourselves.
_GONE = (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)


@dataclass
class ProxyContext:
    """What every proxied connection of one recorder shares."""

    clock: CaptureClock
    emit: Callable[[Record], None]
    stats: TrafficStats = field(default_factory=TrafficStats)
    dialect: Dialect = Dialect.AUTO
    # Held while a record is timestamped and emitted, so records from the relay's threads
    # reach the sink in timestamp order.
    record_lock: threading.Lock = field(default_factory=threading.Lock)
    _conn_ids: count[int] = field(default_factory=lambda: count(1))

    def next_conn_id(self) -> int:
        return next(self._conn_ids)

    def record_conn(self, conn: int, event: ConnEvent, direction: Direction | None = None, /,
                    **detail: object) -> None:
        with self.record_lock:
            self.emit(ConnectionRecord(self.clock.now(), conn, event, direction, dict(detail)))


def _peer_port(stream: SocketStream) -> int:
    return int(stream.extra(SocketAttribute.remote_port, 0))


async def proxy_connection(client: SocketStream, upstream_port: int, ctx: ProxyContext,
                           entry: dict[str, object]) -> None:
    """Serve one OpenUtau connection: connect upstream, pump both ways, record the lifecycle."""
    conn = ctx.next_conn_id()
    log = structlog.get_logger("utauproxy.proxy").bind(conn=conn)
    async with client:
        try:
            upstream = await anyio.connect_tcp("127.0.0.1", upstream_port)
        except OSError as exc:
            ctx.record_conn(conn, ConnEvent.REFUSED, upstream_port=upstream_port, error=str(exc), **entry)
            log.warning("plugin unreachable", upstream_port=upstream_port, error=str(exc))
            return
        async with upstream:
            await _pump_both(conn, client, upstream, ctx, entry, log)


async def _pump_both(conn: int, client: SocketStream, upstream: SocketStream, ctx: ProxyContext,
                     entry: dict[str, object], log: structlog.typing.FilteringBoundLogger) -> None:
    ctx.record_conn(conn, ConnEvent.OPEN, client_port=_peer_port(client),
                    upstream_port=_peer_port(upstream), **entry)
    ctx.stats.connections_open += 1
    ctx.stats.connections_total += 1
    log.info("connection open", client_port=_peer_port(client))
    tap = ConnectionTap(conn, ctx.dialect, ctx.emit, ctx.clock.now, ctx.stats)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_pump, client, upstream, Direction.OU_TO_PLUGIN, tap, ctx, tg.cancel_scope)
            tg.start_soon(_pump, upstream, client, Direction.PLUGIN_TO_OU, tap, ctx, tg.cancel_scope)
    finally:
        ctx.stats.connections_open -= 1
        for direction in Direction:
            tap.finish(direction)
        ctx.record_conn(conn, ConnEvent.CLOSED)
        log.info("connection closed")


async def _pump(src: SocketStream, dst: SocketStream, direction: Direction, tap: ConnectionTap,
                ctx: ProxyContext, scope: anyio.CancelScope) -> None:
    log = structlog.get_logger("utauproxy.proxy").bind(conn=tap.conn, direction=direction.label)
    while True:
        try:
            data = await src.receive(RECEIVE_SIZE)
        except anyio.EndOfStream:
            tap.finish(direction)
            ctx.record_conn(tap.conn, ConnEvent.EOF, direction)
            log.debug("half-close")
            await _forward_eof(dst)
            return
        except anyio.ClosedResourceError:
            return  # the other pump tore the connection down
        except _GONE as exc:
            tap.finish(direction)
            reset = isinstance(exc.__cause__ or exc, ConnectionResetError)
            ctx.record_conn(tap.conn, ConnEvent.RESET if reset else ConnEvent.ERROR, direction,
                            error=repr(exc.__cause__ or exc))
            log.info("connection reset" if reset else "read error", error=repr(exc.__cause__ or exc))
            arm_reset(dst)
            scope.cancel()
            return
        try:
            await dst.send(data)
        except _GONE as exc:
            tap.feed(direction, data)
            ctx.record_conn(tap.conn, ConnEvent.ERROR, direction.reverse,
                            error=f"write failed: {exc.__cause__ or exc!r}", undelivered_bytes=len(data))
            arm_reset(src)
            scope.cancel()
            return
        tap.feed(direction, data)


async def _forward_eof(dst: SocketStream) -> None:
    try:
        await dst.send_eof()
    except _GONE:
        pass

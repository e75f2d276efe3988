"""The recorder's forwarding path: one blocking worker thread per direction, `recv`, hand the
chunk to the capture, `sendall`, on plain sockets.

Why threads and not anyio streams (docs/benchmarks.md "Where the time goes"): a thread blocked
in `recv` wakes straight into the next line of Python, while an event-loop stream pays an
epoll registration pair, a future and a task switch per chunk; measured on loopback round
trips, the threads add about socat's latency and the stream pump three times it. The event
loop still owns each connection's lifetime: a task group waits for both threads, and its
cancellation wakes them (shutdown) so they return promptly. The recording work (framing,
encoding, compression) runs in another process (proxy/capture_process.py): Python threads
share one interpreter lock, and any of that work here would hold up the forwarding threads.

The semantics (tests/proxy/test_relay.py holds them): a FIN is passed on as a FIN and the other
direction stays open; a reset or read error is passed on as a reset and tears the connection
down; a failed write records what was not delivered.
"""

from __future__ import annotations

import errno
import socket
import threading
from dataclasses import dataclass, field

import anyio
import structlog

from utauproxy.proxy.context import RECEIVE_SIZE, ProxyContext
from utauproxy.records import ConnEvent, Direction
from utauproxy.sockets import arm_reset_socket



@dataclass
class _Link:
    """The two sockets of one proxied connection and whether it is being torn down."""

    client: socket.socket
    upstream: socket.socket
    torn_down: threading.Event = field(default_factory=threading.Event)
    workers_done: bool = False

    def ends(self, direction: Direction) -> tuple[socket.socket, socket.socket]:
        """(source, destination) of `direction`."""
        if direction is Direction.OU_TO_PLUGIN:
            return self.client, self.upstream
        return self.upstream, self.client

    def tear_down(self, how: int = socket.SHUT_RD) -> None:
        """Wake both worker threads: their blocked `recv` returns and they see `torn_down`.
        SHUT_RD sends nothing, so a socket armed for reset still resets on close; SHUT_RDWR
        also wakes a `sendall` stuck on a peer that stopped reading."""
        self.torn_down.set()
        for sock in (self.client, self.upstream):
            try:
                sock.shutdown(how)
            except OSError:
                pass  # not connected any more


async def connect_upstream(port: int) -> socket.socket:
    """A connected, blocking TCP socket to 127.0.0.1:`port`; OSError when refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        err = sock.connect_ex(("127.0.0.1", port))
        if err not in (0, *_IN_PROGRESS):
            raise OSError(err, f"cannot connect to 127.0.0.1:{port}: {errno.errorcode.get(err, err)}")
        if err:
            await anyio.wait_writable(sock)
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise ConnectionRefusedError(err, f"cannot connect to 127.0.0.1:{port}")
        _prepare(sock)
        return sock
    except BaseException:
        sock.close()
        raise


_IN_PROGRESS = (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN)


def _prepare(sock: socket.socket) -> None:
    sock.setblocking(True)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass  # the peer is already gone: the first recv or send says so


def _peer_port(sock: socket.socket) -> int:
    try:
        return int(sock.getpeername()[1])
    except OSError:
        return 0  # the peer is already gone


async def relay_connection(client: socket.socket, upstream_port: int, ctx: ProxyContext,
                           entry: dict[str, object]) -> None:
    """Serve one accepted OpenUtau connection (a socket we now own): connect upstream, forward
    both ways, record the lifecycle. Both sockets are closed on return."""
    conn = ctx.next_conn_id()
    log = structlog.get_logger("utauproxy.proxy").bind(conn=conn)
    with client:
        _prepare(client)
        try:
            upstream = await connect_upstream(upstream_port)
        except OSError as exc:
            ctx.record_conn(conn, ConnEvent.REFUSED, upstream_port=upstream_port, error=str(exc), **entry)
            log.warning("plugin unreachable", upstream_port=upstream_port, error=str(exc))
            return
        with upstream:
            await _relay_both(conn, _Link(client, upstream), ctx, entry, log)


async def _relay_both(conn: int, link: _Link, ctx: ProxyContext, entry: dict[str, object],
                      log: structlog.typing.FilteringBoundLogger) -> None:
    client_port = _peer_port(link.client)
    ctx.record_conn(conn, ConnEvent.OPEN, client_port=client_port,
                    upstream_port=_peer_port(link.upstream), **entry)
    log.info("connection open", client_port=client_port)
    limiter = anyio.CapacityLimiter(len(Direction))  # never waits on other connections' threads
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_wake_threads_on_cancel, link)
            async with anyio.create_task_group() as workers:
                for direction in Direction:
                    workers.start_soon(_in_thread, conn, link, direction, ctx, limiter)
            link.workers_done = True
            tg.cancel_scope.cancel()
    finally:
        for direction in Direction:
            ctx.capture.finish(conn, direction)
        ctx.record_conn(conn, ConnEvent.CLOSED)
        log.info("connection closed")


async def _wake_threads_on_cancel(link: _Link) -> None:
    try:
        await anyio.sleep_forever()
    finally:
        # Only a cancellation from outside (the recorder stops) gets here with threads still
        # blocked; after a reset a shutdown(SHUT_WR) would send a FIN ahead of the RST.
        if not link.workers_done:
            link.tear_down(socket.SHUT_RDWR)


async def _in_thread(conn: int, link: _Link, direction: Direction, ctx: ProxyContext,
                     limiter: anyio.CapacityLimiter) -> None:
    await anyio.to_thread.run_sync(_forward, conn, link, direction, ctx, limiter=limiter)


def _forward(conn: int, link: _Link, direction: Direction, ctx: ProxyContext) -> None:
    """One direction, on a worker thread, until EOF, an error or tear-down."""
    src, dst = link.ends(direction)
    recv, sendall, capture = src.recv, dst.sendall, ctx.capture.chunk
    while True:
        try:
            data = recv(RECEIVE_SIZE)
        except OSError as exc:
            if not link.torn_down.is_set():
                _read_failed(conn, link, direction, ctx, exc)
            return
        if not data:
            if not link.torn_down.is_set():
                _end_of_stream(conn, dst, direction, ctx)
            return
        # Handed to the capture before it is forwarded: with a thread per direction, the
        # answer could otherwise be recorded ahead of what it answers.
        capture(conn, direction, data)
        try:
            sendall(data)
        except OSError as exc:
            if not link.torn_down.is_set():
                _write_failed(conn, link, direction, ctx, data, exc)
            return


def _end_of_stream(conn: int, dst: socket.socket, direction: Direction, ctx: ProxyContext) -> None:
    ctx.capture.finish(conn, direction)
    ctx.record_conn(conn, ConnEvent.EOF, direction)
    structlog.get_logger("utauproxy.proxy").debug("half-close", conn=conn, direction=direction.label)
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def _read_failed(conn: int, link: _Link, direction: Direction, ctx: ProxyContext, exc: OSError) -> None:
    ctx.capture.finish(conn, direction)
    reset = isinstance(exc, ConnectionResetError)
    ctx.record_conn(conn, ConnEvent.RESET if reset else ConnEvent.ERROR, direction, error=repr(exc))
    structlog.get_logger("utauproxy.proxy").info(
        "connection reset" if reset else "read error", conn=conn, direction=direction.label,
        error=repr(exc))
    arm_reset_socket(link.ends(direction)[1])
    link.tear_down()


def _write_failed(conn: int, link: _Link, direction: Direction, ctx: ProxyContext, data: bytes,
                  exc: OSError) -> None:
    ctx.record_conn(conn, ConnEvent.ERROR, direction.reverse, error=f"write failed: {exc!r}",
                    undelivered_bytes=len(data))
    arm_reset_socket(link.ends(direction)[0])
    link.tear_down()

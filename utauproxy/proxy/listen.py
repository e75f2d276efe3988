"""The recorder's listening sockets: plain sockets, so an accepted connection is a socket the
relay's worker threads own outright (an anyio stream would already be reading from it)."""

from __future__ import annotations

import socket

import anyio


def open_loopback_listener() -> socket.socket:
    """A non-blocking TCP listener on 127.0.0.1, on a port the OS chooses."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.listen(socket.SOMAXCONN)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


async def accept(listener: socket.socket) -> socket.socket:
    """The next connection to `listener`, as a blocking socket owned by the caller."""
    while True:
        await anyio.wait_readable(listener)
        try:
            client, _ = listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            continue  # taken back by the peer before we got to it
        client.setblocking(True)
        return client

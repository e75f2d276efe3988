"""Socket details shared by the proxy and the simulated peers."""

from __future__ import annotations

import socket
import struct

import anyio
from anyio.abc import SocketAttribute, SocketStream


def arm_reset_socket(sock: socket.socket) -> None:
    """Make the next close send RST instead of FIN (SO_LINGER 0), as the kernel does when a
    process dies with unread data: a proxy passes a reset on as a reset."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass  # already closed


def arm_reset(stream: SocketStream) -> None:
    """`arm_reset_socket` for an anyio socket stream."""
    try:
        arm_reset_socket(stream.extra(SocketAttribute.raw_socket))
    except anyio.TypedAttributeLookupError:
        pass

"""One side of one TCP connection, for the simulated peers: whole-line writes under a lock,
reads through the sans-IO Framer, counters by message label, and an optional copy of every
byte sent and received (tests run those copies through a Framer of their own).

A peer that vanishes is not an error here: reads end with EndOfStream, failed writes set
`broken` and return False, so a simulated peer never crashes on a reset.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from contextlib import nullcontext

import anyio
from anyio.abc import SocketAttribute, SocketStream

from utauproxy.protocol.events import (
    AudioFrame,
    Dialect,
    EndOfStream,
    Event,
    LinePiece,
    Malformed,
)
from utauproxy.protocol.framer import Framer
from utauproxy.protocol.header import message_label
from utauproxy.sockets import arm_reset

RECEIVE_SIZE = 1 << 16
# Lines go out in one send below this size; bigger ones are sent in pieces to avoid a copy.
_JOIN_LIMIT = 1 << 20
_SOCKET_ERRORS = (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)


def fresh_uuid(rng: random.Random) -> str:
    """A request id: a version-4 UUID from a seeded generator, fresh every time like
    `Guid.NewGuid()`, reproducible per seed."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class Link:
    """Framed, counted, lock-protected access to one connected stream."""

    def __init__(self, stream: SocketStream, dialect: Dialect, *, record: bool = False) -> None:
        self.stream = stream
        self.framer = Framer(dialect)
        self._send_lock = anyio.Lock()
        self.sent = Counter[str]()
        self.received = Counter[str]()
        self.sent_bytes = 0
        self.received_bytes = 0
        self.sent_wire: bytearray | None = bytearray() if record else None
        self.received_wire: bytearray | None = bytearray() if record else None
        self.broken = False  # a write failed: the peer is gone
        self.eof = False  # the peer's side is closed (or reset)

    @property
    def peer_port(self) -> int:
        """The client's port; 0 once the peer is gone (getpeername fails after a reset)."""
        try:
            return int(self.stream.extra(SocketAttribute.remote_port))
        except OSError:
            return 0

    async def send_line(self, line: bytes) -> bool:
        """Send `line` + LF as one unit; False when the peer is gone."""
        pieces = [line + b"\n"] if len(line) < _JOIN_LIMIT else [line, b"\n"]
        return await self._send(pieces, message_label(line[:600]))

    async def send_frame(self, header: bytes, payload: bytes) -> bool:
        """An API v1.2 data frame: `header` LF then exactly the payload bytes (§5.1)."""
        return await self._send([header + b"\n", payload], "audio")

    async def _send(self, pieces: list[bytes], label: str) -> bool:
        if self.broken:
            return False
        async with self._send_lock:
            try:
                for piece in pieces:
                    await self.stream.send(piece)
            except _SOCKET_ERRORS:
                self.broken = True
                return False
        self.sent[label] += 1
        for piece in pieces:
            self.sent_bytes += len(piece)
            if self.sent_wire is not None:
                self.sent_wire += piece
        return True

    async def receive_events(self, timeout: float | None = None) -> list[Event]:
        """Events from the next read; [] if `timeout` passed first. Ends with EndOfStream
        after a FIN or a reset."""
        if self.eof:
            return [EndOfStream()]
        data: bytes | None = None
        try:
            with anyio.move_on_after(timeout) if timeout is not None else nullcontext():
                data = await self.stream.receive(RECEIVE_SIZE)
        except anyio.EndOfStream:
            data = b""
        except _SOCKET_ERRORS:
            data = b""
        if data is None:
            return []
        if not data:
            self.eof = True
        self.received_bytes += len(data)
        if self.received_wire is not None:
            self.received_wire += data
        self.framer.receive_data(data)
        events = list(self.framer)
        for event in events:
            if not isinstance(event, EndOfStream):
                self.received[_event_label(event)] += 1
        return events

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            try:
                await self.stream.aclose()
            except _SOCKET_ERRORS:
                pass

    async def abort(self) -> None:
        """Close with RST, as the kernel does when a process dies with unread data."""
        arm_reset(self.stream)
        await self.aclose()


def _event_label(event: Event) -> str:
    if isinstance(event, AudioFrame):
        return "audio"
    if isinstance(event, Malformed):
        return "malformed"
    if isinstance(event, LinePiece):
        return "piece"
    assert not isinstance(event, EndOfStream)
    return message_label(event.raw[:600])

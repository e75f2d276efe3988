"""Requests matched to their responses by id, per connection (PROTOCOL.md §2.1, §6.2).

Responses may come back out of order and pings may sit between them, so the only key is the
request id, scoped to the connection and to the direction the request went.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from utauproxy.inspect.decode import DecodedMessage
from utauproxy.protocol.header import HeaderType
from utauproxy.records import Direction


@dataclass(frozen=True, slots=True)
class PendingRequest:
    """A request as the tracker remembers it."""

    index: int
    ts_ns: int
    conn: int
    direction: Direction
    id: str
    kind: str


class Outcome(Enum):
    MATCHED = "matched"  # the first response to a pending request
    DUPLICATE = "duplicate"  # a second response to a request already answered
    ORPHAN = "orphan"  # no request with this id was seen on this connection


@dataclass(frozen=True, slots=True)
class Answer:
    """What a response answers. `request` is None for an orphan; `first_index` is the
    index of the earlier response for a duplicate."""

    outcome: Outcome
    request: PendingRequest | None
    latency_ns: int | None = None
    first_index: int | None = None


_Key = tuple[int, Direction, str]


class RequestTracker:
    """Feed it every request and response in capture order."""

    def __init__(self) -> None:
        self._pending: dict[_Key, PendingRequest] = {}
        self._answered: dict[_Key, tuple[PendingRequest, int]] = {}

    def request(self, message: DecodedMessage) -> PendingRequest | None:
        """Remember a request. Returns the still-pending request it displaces when the id is
        reused before an answer (PROTOCOL.md §6.11), else None."""
        header = message.header
        assert header is not None and header.type is HeaderType.REQUEST
        key = (message.conn, message.direction, header.id or "")
        pending = PendingRequest(message.index, message.ts_ns, message.conn, message.direction,
                                 header.id or "", header.kind or "")
        displaced = self._pending.get(key)
        self._pending[key] = pending
        self._answered.pop(key, None)
        return displaced

    def response(self, message: DecodedMessage) -> Answer:
        """Match a response to the request it answers (sent the other way on its connection)."""
        header = message.header
        assert header is not None and header.type is HeaderType.RESPONSE
        key = (message.conn, message.direction.reverse, header.id or "")
        request = self._pending.pop(key, None)
        if request is not None:
            self._answered[key] = (request, message.index)
            return Answer(Outcome.MATCHED, request, message.ts_ns - request.ts_ns)
        earlier = self._answered.get(key)
        if earlier is not None:
            request, first_index = earlier
            return Answer(Outcome.DUPLICATE, request, message.ts_ns - request.ts_ns, first_index)
        return Answer(Outcome.ORPHAN, None)

    def resolve(self, conn: int, direction: Direction, request_id: str) -> PendingRequest | None:
        """Mark a request answered by something other than a response line (API v1.2 answers
        `getAudio` with a data frame, PROTOCOL.md §5.1)."""
        key = (conn, direction, request_id)
        request = self._pending.pop(key, None)
        if request is not None:
            self._answered[key] = (request, -1)
        return request

    def pending(self, conn: int | None = None) -> list[PendingRequest]:
        """Requests still waiting, oldest first (of one connection, or all)."""
        found = [p for p in self._pending.values() if conn is None or p.conn == conn]
        return sorted(found, key=lambda p: p.index)

    def close_connection(self, conn: int) -> list[PendingRequest]:
        """Forget a connection; returns the requests it left unanswered."""
        left = self.pending(conn)
        for key in [k for k in self._pending if k[0] == conn]:
            del self._pending[key]
        for key in [k for k in self._answered if k[0] == conn]:
            del self._answered[key]
        return left

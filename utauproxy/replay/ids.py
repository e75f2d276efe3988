"""Request ids in a replay: OpenUtau's are fresh GUIDs in every run (PROTOCOL.md §2.1, §6), so
recorded ids are rewritten, and only in the header: the payload's bytes stay as recorded."""

from __future__ import annotations

import uuid

from utauproxy.protocol.header import HeaderType, parse_header, split_line


def fresh_id() -> str:
    """A new lowercase v4 GUID, as `Guid.NewGuid().ToString()` writes it."""
    return str(uuid.uuid4())


def with_id(raw: bytes, new_id: str) -> bytes:
    """`raw` with the id of its `request:<id>:<kind>` or `response:<id>` header replaced.
    Any other line is returned unchanged."""
    head, _ = split_line(raw)
    header = parse_header(head)
    if header.type is HeaderType.REQUEST and header.kind is not None:
        new_head = f"request:{new_id}:{header.kind}".encode()
    elif header.type is HeaderType.RESPONSE:
        new_head = f"response:{new_id}".encode()
    else:
        return raw
    return new_head + raw[len(head) :]


class IdMap:
    """Which live id stands for which recorded request (by the request's script index)."""

    def __init__(self) -> None:
        self._live_by_index: dict[int, str] = {}
        self._index_by_live: dict[str, int] = {}

    def bind(self, index: int, live_id: str) -> None:
        self._live_by_index[index] = live_id
        self._index_by_live[live_id] = index

    def live_id(self, index: int) -> str | None:
        return self._live_by_index.get(index)

    def request_index(self, live_id: str) -> int | None:
        return self._index_by_live.get(live_id)

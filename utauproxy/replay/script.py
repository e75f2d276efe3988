"""From a capture's records to a replay script: per connection, every message in recorded order,
classified and paired (responses with their requests, v1.2 audio frames with the `getAudio`
that pulled them). Pure: records in, data out.

Timestamps are rebased to the connection's first record, so each connection replays against
its own start anchor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from utauproxy.protocol.events import Dialect
from utauproxy.protocol.header import HeaderType, parse_header, split_line
from utauproxy.records import (
    CaptureHeader,
    ConnectionRecord,
    ConnEvent,
    Direction,
    DiscoveryRecord,
    MessageFlags,
    MessageRecord,
    Record,
)


class Role(StrEnum):
    REQUEST = "request"
    RESPONSE = "response"
    NOTIFICATION = "notification"
    PING = "ping"  # periodic noise (DESIGN.md §6); P2's bare `ping {}` included (PROTOCOL.md §4)
    CLOSE = "close"
    FRAME = "frame"  # API v1.2 data frame (PROTOCOL.md §5.1)
    OTHER = "other"  # pre-P2 forms and garbage, replayed byte for byte


@dataclass(frozen=True, slots=True)
class ScriptMessage:
    """One recorded message. `index` is its position in its connection (both directions)."""

    index: int
    ts_ns: int  # since the connection's first record
    direction: Direction
    raw: bytes  # the whole message without its LF (pieces of a long line joined)
    flags: MessageFlags
    role: Role
    label: str  # id-free: `request:init`, `response:init`, `notification:ping`, `audio`, ...
    request_id: str | None = None  # the id in the header (requests and responses)
    kind: str | None = None  # request/notification kind; for a response, its request's kind
    answers: int | None = None  # responses and frames: index of the request they answer

    @property
    def wire_bytes(self) -> bytes:
        """The bytes to put on the wire for this message."""
        if self.flags & (MessageFlags.NO_LF | MessageFlags.FRAME):
            return self.raw
        return self.raw + b"\n"

    @property
    def payload(self) -> bytes:
        if self.role is Role.FRAME:
            return self.raw[self.raw.find(b"\n") + 1 :]
        body = split_line(self.raw)[1]
        return b"" if body is None else body


@dataclass(slots=True)
class ConnectionScript:
    conn: int
    messages: list[ScriptMessage] = field(default_factory=list)
    start_ns: int = 0  # absolute capture time of the connection's first record
    ended_by: Direction | None = None  # who sent the first EOF/reset, when recorded
    detail: dict[str, Any] = field(default_factory=dict)  # the OPEN record's detail

    def sent_by(self, direction: Direction) -> list[ScriptMessage]:
        return [m for m in self.messages if m.direction is direction]


@dataclass(slots=True)
class ReplayScript:
    header: CaptureHeader | None
    connections: list[ConnectionScript]
    plugin_name: str | None = None
    dialect: Dialect = Dialect.LINE
    skipped_connections: list[int] = field(default_factory=list)  # recorded without messages


@dataclass(slots=True)
class _Building:
    script: ConnectionScript
    pieces: dict[Direction, list[bytes]] = field(default_factory=dict)
    open_requests: dict[str, int] = field(default_factory=dict)  # id -> index
    kinds: dict[int, str] = field(default_factory=dict)  # request index -> kind
    pending_pull: int | None = None  # a plugin getAudio waiting for its frame (v1.2)


def build_script(records: Iterable[Record], header: CaptureHeader | None = None) -> ReplayScript:
    """The replay script of a capture's records (in file order)."""
    building: dict[int, _Building] = {}
    order: list[int] = []
    plugin_name: str | None = None
    api_version = False
    for record in records:
        if isinstance(record, DiscoveryRecord):
            plugin_name = plugin_name or _entry_name(record.entry)
            api_version = api_version or bool(record.entry.get("api_version"))
            continue
        if not isinstance(record, MessageRecord | ConnectionRecord):
            continue
        state = building.get(record.conn)
        if state is None:
            state = building[record.conn] = _Building(ConnectionScript(record.conn, start_ns=record.ts_ns))
            order.append(record.conn)
        if isinstance(record, ConnectionRecord):
            _on_connection(state, record)
        else:
            _on_message(state, record)
    connections = [building[c].script for c in order if building[c].script.messages]
    skipped = [c for c in order if not building[c].script.messages]
    has_frames = any(m.flags & MessageFlags.FRAME for c in connections for m in c.messages)
    dialect = Dialect.V1_2 if api_version or has_frames else Dialect.LINE
    if plugin_name is None:
        plugin_name = next((_entry_name(c.detail) for c in connections if _entry_name(c.detail)), None)
    return ReplayScript(header, connections, plugin_name, dialect, skipped)


def _entry_name(entry: dict[str, Any]) -> str | None:
    name = entry.get("name", entry.get("entry_name"))
    return name if isinstance(name, str) and name else None


def _on_connection(state: _Building, record: ConnectionRecord) -> None:
    if record.event is ConnEvent.OPEN:
        state.script.detail = dict(record.detail)
    elif record.event in (ConnEvent.EOF, ConnEvent.RESET) and state.script.ended_by is None:
        state.script.ended_by = record.direction


def _on_message(state: _Building, record: MessageRecord) -> None:
    if record.flags & MessageFlags.CONTINUED:
        state.pieces.setdefault(record.direction, []).append(record.raw)
        return
    raw = record.raw
    if pieces := state.pieces.pop(record.direction, None):
        raw = b"".join([*pieces, raw])
    flags = record.flags & (MessageFlags.NO_LF | MessageFlags.FRAME)
    index = len(state.script.messages)
    message = _classify(state, index, record.ts_ns - state.script.start_ns, record.direction, raw, flags)
    state.script.messages.append(message)


def _classify(state: _Building, index: int, ts_ns: int, direction: Direction, raw: bytes,
              flags: MessageFlags) -> ScriptMessage:
    def make(role: Role, label: str, **extra: Any) -> ScriptMessage:
        return ScriptMessage(index, ts_ns, direction, raw, flags, role, label, **extra)

    if flags & MessageFlags.FRAME:
        answers, state.pending_pull = state.pending_pull, None
        return make(Role.FRAME, "audio", answers=answers)
    header = parse_header(split_line(raw)[0])
    if raw == b"close":
        return make(Role.CLOSE, "close")
    if header.type is HeaderType.REQUEST and header.id is not None:
        kind = header.kind or ""
        state.open_requests[header.id] = index
        state.kinds[index] = kind
        if kind == "getAudio":
            state.pending_pull = index
        return make(Role.REQUEST, f"request:{kind}", request_id=header.id, kind=kind)
    if header.type is HeaderType.RESPONSE:
        answers = state.open_requests.pop(header.id or "", None)
        answered = state.kinds.get(answers) if answers is not None else None
        if answers is not None and answers == state.pending_pull:
            state.pending_pull = None  # a failure envelope answered the pull instead of a frame
        return make(Role.RESPONSE, f"response:{answered or '?'}", request_id=header.id,
                    kind=answered, answers=answers)
    if header.type is HeaderType.NOTIFICATION:
        role = Role.PING if header.kind == "ping" else Role.NOTIFICATION
        return make(role, header.label, kind=header.kind)
    if header.type is HeaderType.OTHER and header.text == "ping":
        return make(Role.PING, "other:ping", kind="ping")  # P2's bare ping (PROTOCOL.md §4)
    return make(Role.OTHER, header.label)

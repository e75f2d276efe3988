"""Plain data shared by every layer: what a capture holds, record by record.

No I/O and no behaviour beyond trivial derived values. The capture format (docs/capture-format.md)
encodes exactly these records; the proxy produces them; every reader consumes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, IntFlag, StrEnum
from typing import Any, TypeAlias


class Direction(IntEnum):
    """Which peer sent the bytes. The values are stored in capture files: never renumber."""

    OU_TO_PLUGIN = 0
    PLUGIN_TO_OU = 1

    @property
    def arrow(self) -> str:
        return "→" if self is Direction.OU_TO_PLUGIN else "←"

    @property
    def label(self) -> str:
        return "ou>plugin" if self is Direction.OU_TO_PLUGIN else "plugin>ou"

    @property
    def reverse(self) -> Direction:
        return Direction(1 - self.value)


class MessageFlags(IntFlag):
    """Facts about how a message crossed the wire. Stored in capture files: never renumber."""

    NONE = 0
    # The line ended without LF: the connection closed first (PROTOCOL.md §6.1 cut writes).
    NO_LF = 1
    # An API v1.2 binary data-plane frame (PROTOCOL.md §5.1): `raw` is the whole frame, header
    # line, LF and payload, so nothing is appended when the stream is rebuilt.
    FRAME = 2
    # The line exceeded the framer's limit; `raw` is a piece and continues in the next
    # message record of the same connection and direction.
    CONTINUED = 4


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One message exactly as it crossed the wire (without its terminating LF)."""

    ts_ns: int
    conn: int
    direction: Direction
    raw: bytes
    flags: MessageFlags = MessageFlags.NONE

    @property
    def wire_bytes(self) -> bytes:
        """The bytes as they were on the wire, terminator included."""
        return self.raw if self.flags & _NO_TERMINATOR else self.raw + b"\n"

    @property
    def wire_len(self) -> int:
        # Compared as plain ints: IntFlag arithmetic builds enum members, which costs more
        # than the rest of this (called for every message the recorder writes).
        return len(self.raw) + (0 if int(self.flags) & _NO_TERMINATOR else 1)


_NO_TERMINATOR = int(MessageFlags.NO_LF | MessageFlags.FRAME | MessageFlags.CONTINUED)


class ConnEvent(StrEnum):
    """Connection lifecycle events. The string values are stored in capture files."""

    OPEN = "open"  # OpenUtau connected to the proxy and the upstream connection succeeded
    REFUSED = "refused"  # upstream (the plugin) could not be reached
    EOF = "eof"  # `direction`'s sender half-closed (FIN)
    RESET = "reset"  # `direction`'s sender reset the connection
    ERROR = "error"  # any other socket error on `direction`'s read side
    CLOSED = "closed"  # both legs are closed; nothing more follows for this connection


@dataclass(frozen=True, slots=True)
class ConnectionRecord:
    ts_ns: int
    conn: int
    event: ConnEvent
    direction: Direction | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class DiscoveryEvent(StrEnum):
    """Discovery-folder events (DESIGN.md §5). The string values are stored in capture files."""

    FOUND = "found"  # a live plugin entry was seen
    REWRITTEN = "rewritten"  # we pointed the entry at our listener
    RENAMED = "renamed"  # the plugin rewrote its own file (new name or port); taken over again
    RESTORED = "restored"  # the original content was put back
    GONE = "gone"  # the file disappeared (plugin unloaded, or OpenUtau deleted it)
    REFUSED = "refused"  # we would not touch it (symlink, other owner, unparseable)
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class DiscoveryRecord:
    ts_ns: int
    event: DiscoveryEvent
    entry: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MarkRecord:
    """A user mark ("the bug happened here")."""

    ts_ns: int
    text: str


@dataclass(frozen=True, slots=True)
class GapRecord:
    """Bytes that crossed the wire but could not be captured (the disk fell behind)."""

    ts_ns: int
    conn: int
    direction: Direction
    lost_bytes: int
    lost_messages: int
    reason: str


@dataclass(frozen=True, slots=True)
class NoticeRecord:
    """Something the recorder itself wants on the record (a warning, an error)."""

    ts_ns: int
    level: str
    text: str


Record: TypeAlias = (
    MessageRecord | ConnectionRecord | DiscoveryRecord | MarkRecord | GapRecord | NoticeRecord
)


_RECORD_TYPE_NAMES: dict[type, str] = {
    MessageRecord: "message",
    ConnectionRecord: "connection",
    DiscoveryRecord: "discovery",
    MarkRecord: "mark",
    GapRecord: "gap",
    NoticeRecord: "notice",
}


def record_type_name(record: Record) -> str:
    """The short name of a record's type, as footers and summaries count them."""
    return _RECORD_TYPE_NAMES[type(record)]


@dataclass(frozen=True, slots=True)
class CaptureHeader:
    """What a capture says about itself before its first record (DESIGN.md §4)."""

    format_major: int
    format_minor: int
    writer: str  # e.g. "utauproxy 0.1.0"
    started_utc: str  # ISO 8601 with Z
    host_os: str
    dialect: str  # "line", "v1.2" or "auto"
    discovery: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

"""Events the sans-IO framer produces (h11 style: bytes in, events out).

A peer's mistake is an event (`Malformed`), never an exception. Every event that stands for
bytes carries those exact bytes in `raw`, so nothing the wire carried is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, TypeAlias

from utauproxy.protocol.header import Header, split_line


class Dialect(StrEnum):
    LINE = "line"  # the S line protocol, P2..P6 and R (PROTOCOL.md §2-§4)
    V1_2 = "v1.2"  # API v1.2 with binary data frames (PROTOCOL.md §5.1)
    AUTO = "auto"  # line protocol, but a valid `audio <hash> <length>` line starts a frame


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()


@dataclass(frozen=True, slots=True)
class Message:
    """A complete, well-formed control line. `raw` excludes the LF."""

    raw: bytes
    header: Header
    terminated: bool = True  # False: the stream ended before an LF arrived
    # Filled by the framer when it validated the payload; otherwise parsed on first access.
    _json_cache: list[Any] = field(default_factory=list, repr=False, compare=False)

    @property
    def payload(self) -> bytes:
        body = split_line(self.raw)[1]
        return b"" if body is None else body

    def json(self) -> Any:
        """The payload parsed leniently (choc's quirks accepted, PROTOCOL.md §6.10).
        Raises ValueError when it is not JSON at all."""
        if not self._json_cache:
            from utauproxy.protocol.lenient_json import loads

            self._json_cache.append(loads(self.payload))
        return self._json_cache[0]


@dataclass(frozen=True, slots=True)
class Malformed:
    """A line that is not a valid message. `raw` excludes the LF; `reason` says what is wrong;
    `header` is set when the header itself could be parsed."""

    raw: bytes
    reason: str
    header: Header | None = None
    terminated: bool = True


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """An API v1.2 data-plane frame: `audio <hash> <length>` LF, then `length` raw bytes.
    `raw` is the whole frame; `header_len` is the length of the header line without its LF."""

    raw: bytes
    hash: int  # XXH64 of the payload as the sender declared it (unsigned)
    length: int
    header_len: int

    @property
    def payload(self) -> bytes:
        return self.raw[self.header_len + 1 :]


@dataclass(frozen=True, slots=True)
class LinePiece:
    """A piece of a line longer than the framer's limit. Pieces of one line arrive in order;
    the last one has `final=True` and `terminated` tells whether an LF ended it."""

    raw: bytes
    final: bool
    terminated: bool = True


@dataclass(frozen=True, slots=True)
class EndOfStream:
    """The sender closed its side and every byte has been reported."""


Event: TypeAlias = Message | Malformed | AudioFrame | LinePiece | EndOfStream

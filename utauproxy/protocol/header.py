"""Message headers: the text before the first space of a line (PROTOCOL.md §2.1, §5.1)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum

# A header longer than this is not a header; bounds the search for the first space in huge lines.
MAX_HEADER_LEN = 512


class HeaderType(StrEnum):
    REQUEST = "request"
    RESPONSE = "response"
    NOTIFICATION = "notification"
    CLOSE = "close"
    FRAME = "audio"  # API v1.2 data-plane frame header `audio <hash> <length>`
    OTHER = "other"  # pre-P2 forms (`ping {}`, `init {}`, `status`, `error`) and garbage


@dataclass(frozen=True, slots=True)
class Header:
    type: HeaderType
    text: str
    id: str | None = None
    kind: str | None = None

    @property
    def label(self) -> str:
        """A short, id-free name for statistics and display: `request:init`, `response`,
        `notification:ping`, `close`, `audio`, `other:ping`."""
        if self.type in (HeaderType.REQUEST, HeaderType.NOTIFICATION):
            return f"{self.type.value}:{self.kind or ''}"
        if self.type is HeaderType.OTHER:
            return f"other:{self.text[:40]}"
        return self.type.value


def split_line(raw: bytes) -> tuple[bytes, bytes | None]:
    """Split a line at its first space into header and payload; payload is None when there is
    no space (PROTOCOL.md §2.2: peers disagree on what that means, so we keep the difference)."""
    sep = raw.find(b" ", 0, MAX_HEADER_LEN + 1)
    if sep < 0:
        return (raw if len(raw) <= MAX_HEADER_LEN else raw[:MAX_HEADER_LEN]), None
    return raw[:sep], raw[sep + 1 :]


def parse_header(head: bytes) -> Header:
    """Classify a header. Never raises: anything unrecognised is HeaderType.OTHER."""
    text = head.decode("utf-8", "replace")
    if text == "close":
        return Header(HeaderType.CLOSE, text)
    if text == "audio":
        return Header(HeaderType.FRAME, text)
    type_text, colon, rest = text.partition(":")
    if not colon:
        return Header(HeaderType.OTHER, text)
    if type_text == "request":
        # The plugin splits id and kind at the second colon (PROTOCOL.md §2.2).
        req_id, colon2, kind = rest.partition(":")
        return Header(HeaderType.REQUEST, text, id=req_id, kind=kind if colon2 else None)
    if type_text == "response":
        return Header(HeaderType.RESPONSE, text, id=rest)
    if type_text == "notification":
        return Header(HeaderType.NOTIFICATION, text, kind=rest)
    return Header(HeaderType.OTHER, text)


def message_label(raw: bytes) -> str:
    """The id-free label of a raw line, cheap enough for every message on the hot path: only
    the header is copied, never a (possibly huge) payload."""
    sep = raw.find(b" ", 0, MAX_HEADER_LEN + 1)
    head = raw[: sep if sep >= 0 else MAX_HEADER_LEN]
    # Requests and responses carry a fresh id each, so their heads never repeat; the id is
    # skipped here and the rest is cached. Same result as parse_header(head).label: the colons
    # are ASCII, so splitting bytes or the decoded text gives the same parts.
    if head.startswith(b"request:"):
        _, colon, kind = head[8:].partition(b":")
        return _request_label(kind) if colon else "request:"
    if head.startswith(b"response:"):
        return "response"
    return _head_label(head)


@functools.lru_cache(maxsize=1024)
def _request_label(kind: bytes) -> str:
    return f"request:{kind.decode('utf-8', 'replace')}"


@functools.lru_cache(maxsize=1024)
def _head_label(head: bytes) -> str:
    return parse_header(head).label

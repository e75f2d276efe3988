"""The sans-IO framer: bytes of one direction in, events out (h11 style).

Splits only on LF. A peer's mistake is a `Malformed` event, never an exception, and every byte
received is reported exactly once in some event's `raw`, so concatenating `raw` (+ LF where
`terminated`; frames and non-final pieces carry their own bytes) rebuilds the stream.

Cost is linear in the bytes received: the LF search resumes where the previous one stopped,
and consumed bytes are dropped from the front of one bytearray. A line that grows past 1 MiB
is gathered in a BytesIO instead, so it is handed over without a full-size copy.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

from utauproxy.protocol.events import (
    NEED_DATA,
    AudioFrame,
    Dialect,
    EndOfStream,
    Event,
    LinePiece,
    Malformed,
    Message,
    _NeedData,
)
from utauproxy.protocol.header import (
    MAX_HEADER_LEN,
    Header,
    HeaderType,
    parse_header,
)
from utauproxy.protocol.lenient_json import loads

DEFAULT_MAX_LINE = 512 * 1024 * 1024
# API v1.2 caps a frame at 256 MiB (PROTOCOL.md §5.1).
MAX_FRAME_LENGTH = 268_435_456
_MAX_UINT64 = (1 << 64) - 1

_SMALL_TAKE = 4096  # below this a double copy is cheaper than a memoryview
# A line that grows past this without an LF is gathered in a BytesIO instead of the bytearray:
# its getvalue() hands the bytes over without the full-size copy a bytearray needs (a 64 MiB
# audio line: 36 ms and 67 MB less on the recorder's hot path, issue 8).
_BIG_LINE_BYTES = 1 << 20
_FRAME_PREFIX = b"audio "
# Digit counts are bounded so a hostile header cannot make int() work hard.
_FRAME_HEADER = re.compile(rb"audio ([0-9]{1,20}) ([0-9]{1,10})")
_FRAME_HEADER_TEXT = Header(HeaderType.FRAME, "audio")
_CLOSE_HEADER = Header(HeaderType.CLOSE, "close")


@dataclass(frozen=True, slots=True)
class _PendingFrame:
    """A valid frame header has been seen; its payload is still arriving."""

    hash: int
    length: int
    header_len: int

    @property
    def total(self) -> int:
        return self.header_len + 1 + self.length


class Framer:
    """Frames one direction of the link. Feed bytes with `receive_data`, read events with
    `next_event` (or iterate). `validate=False` is the proxy's hot path: framing, header and
    the cheap no-space/CR checks only; JSON is then parsed lazily by `Message.json()`."""

    def __init__(
        self,
        dialect: Dialect = Dialect.AUTO,
        *,
        max_line: int = DEFAULT_MAX_LINE,
        validate: bool = True,
    ) -> None:
        if max_line < 1:
            raise ValueError("max_line must be at least 1")
        self._dialect = dialect
        self._frames = dialect is not Dialect.LINE
        self._max_line = max_line
        self._validate = validate
        self._buf = bytearray()
        self._search_from = 0  # bytes of _buf already known to hold no LF
        self._scanned = 0
        self._frame: _PendingFrame | None = None
        self._in_long_line = False  # LinePiece events of the current line were emitted
        self._eof = False
        self._eos_reported = False
        self._big: io.BytesIO | None = None  # the start of a long line, none of it an LF
        self._big_line: bytes | None = None  # a long line complete, ahead of _buf, unreported

    @property
    def buffered(self) -> int:
        """Bytes received but not yet reported in an event."""
        size = len(self._buf)
        if self._big is not None:
            size += self._big.tell()
        if self._big_line is not None:
            size += len(self._big_line) + 1
        return size

    @property
    def scanned(self) -> int:
        """Total bytes examined while searching for LF; stays linear in bytes received."""
        return self._scanned

    @property
    def dialect(self) -> Dialect:
        return self._dialect

    def receive_data(self, data: bytes) -> None:
        """Add bytes from the wire; `b""` means the sender closed its side (EOF)."""
        if self._eof:
            if data:
                raise RuntimeError("received data after EOF")
            return
        if not data:
            self._eof = True
            self._leave_big()
        elif self._big is not None:
            self._receive_big(data)
        else:
            self._buf += data
            if len(self._buf) >= _BIG_LINE_BYTES and self._may_go_big():
                self._big = io.BytesIO()
                self._big.write(self._buf)
                self._buf = bytearray()
                self._search_from = 0

    def next_event(self) -> Event | _NeedData:
        """The next event, or NEED_DATA when more bytes (or EOF) are needed."""
        if self._big_line is not None:
            raw, self._big_line = self._big_line, None
            return self._big_line_event(raw)
        if self._frame is not None:
            return self._next_frame_event(self._frame)
        return self._next_line_event()

    def __iter__(self) -> Iterator[Event]:
        """Every event available now (stops at NEED_DATA)."""
        while True:
            event = self.next_event()
            if isinstance(event, _NeedData):
                return
            yield event

    # -- lines ------------------------------------------------------------------------------

    def _next_line_event(self) -> Event | _NeedData:
        end = self._find_lf()
        if end >= 0:
            if self._at_frame_header():
                return self._frame_header_event(end)
            return self._line_event(self._take(end, skip=1), terminated=True)
        if len(self._buf) > self._max_line:
            return self._emit_piece()
        if self._eof:
            return self._end_of_stream()
        return NEED_DATA

    def _at_frame_header(self) -> bool:
        return (
            self._frames and self._buf.startswith(_FRAME_PREFIX) and not self._in_long_line
        )

    def _find_lf(self) -> int:
        """Index of the first LF within the line limit, or -1. Resumes the previous search."""
        limit = min(len(self._buf), self._max_line + 1)
        start = self._search_from
        end = self._buf.find(b"\n", start, limit)
        self._scanned += (end + 1 if end >= 0 else limit) - start
        self._search_from = end if end >= 0 else limit
        return end

    def _take(self, count: int, *, skip: int = 0) -> bytes:
        """Remove and return the first `count` bytes, then drop `skip` more (the LF).
        Big takes copy once through a memoryview; slicing the bytearray would copy twice."""
        if count < _SMALL_TAKE:
            taken = bytes(self._buf[:count])
        else:
            with memoryview(self._buf) as view:
                taken = bytes(view[:count])
        del self._buf[: count + skip]
        self._search_from = 0
        return taken

    def _emit_piece(self) -> LinePiece:
        self._in_long_line = True
        return LinePiece(raw=self._take(self._max_line), final=False)

    def _end_of_stream(self) -> Event | _NeedData:
        if self._buf or self._in_long_line:
            return self._line_event(self._take(len(self._buf)), terminated=False)
        if self._eos_reported:
            return NEED_DATA
        self._eos_reported = True
        return EndOfStream()

    def _line_event(self, raw: bytes, *, terminated: bool) -> Event:
        if self._in_long_line:
            self._in_long_line = False
            return LinePiece(raw=raw, final=True, terminated=terminated)
        if self._frames and raw.startswith(_FRAME_PREFIX):
            # Only reached at EOF: a frame header needs its LF before the payload can follow.
            return Malformed(raw=raw, reason="frame header cut short by end of stream",
                             header=_FRAME_HEADER_TEXT, terminated=terminated)
        return classify_line(
            raw, terminated=terminated, validate=self._validate, dialect=self._dialect
        )

    # -- long lines gathered in a BytesIO ------------------------------------------------------

    def _may_go_big(self) -> bool:
        """The buffer is one unfinished plain line: no frame, no pieces, no LF, within limits."""
        return (self._big_line is None and self._frame is None and not self._in_long_line
                and len(self._buf) <= self._max_line and self._find_lf() < 0)

    def _receive_big(self, data: bytes) -> None:
        assert self._big is not None
        end = data.find(b"\n")
        size = self._big.tell()
        if size + (end if end >= 0 else len(data)) > self._max_line:
            # It becomes LinePiece events: the general path knows how.
            self._leave_big()
            self._buf += data
            return
        self._scanned += end + 1 if end >= 0 else len(data)
        with memoryview(data) as view:
            if end < 0:
                self._big.write(view)
                return
            self._big.write(view[:end])
            self._big_line = self._big.getvalue()  # no copy: the BytesIO is dropped
            self._big = None
            self._buf += view[end + 1 :]

    def _leave_big(self) -> None:
        """Back to the bytearray (EOF, or the line outgrows max_line); nothing in it is an LF."""
        if self._big is None:
            return
        with self._big.getbuffer() as view:
            self._buf = bytearray(view) + self._buf
        self._big = None
        self._search_from = len(self._buf)

    def _big_line_event(self, raw: bytes) -> Event:
        # What _next_line_event gives for the same line found in the bytearray.
        if self._frames and raw.startswith(_FRAME_PREFIX):
            problem, _ = _parse_frame_header(raw, len(raw))
            return Malformed(raw=raw, reason=problem, header=_FRAME_HEADER_TEXT)
        return self._line_event(raw, terminated=True)

    # -- API v1.2 data frames (PROTOCOL.md §5.1) ---------------------------------------------

    def _frame_header_event(self, end: int) -> Event | _NeedData:
        """The line ending at `end` starts with `audio `. A valid header stays in the buffer
        so the frame's `raw` is taken with one copy once the payload is complete."""
        problem, frame = _parse_frame_header(self._buf, end)
        if frame is None:
            raw = self._take(end, skip=1)
            return Malformed(raw=raw, reason=problem, header=_FRAME_HEADER_TEXT)
        self._frame = frame
        return self._next_frame_event(frame)

    def _next_frame_event(self, frame: _PendingFrame) -> Event | _NeedData:
        if len(self._buf) >= frame.total:
            raw = self._take(frame.total)
            self._frame = None
            return AudioFrame(raw=raw, hash=frame.hash, length=frame.length,
                              header_len=frame.header_len)
        if not self._eof:
            return NEED_DATA
        raw = self._take(len(self._buf))
        self._frame = None
        got = len(raw) - frame.header_len - 1
        return Malformed(raw=raw, reason=f"frame cut short: got {got} of {frame.length} bytes",
                         header=_FRAME_HEADER_TEXT, terminated=False)


def _parse_frame_header(buf: bytearray | bytes, end: int) -> tuple[str, _PendingFrame | None]:
    """Parse the frame header occupying `buf[:end]` without copying it."""
    match = _FRAME_HEADER.fullmatch(buf, 0, end)
    if match is None:
        return "invalid audio frame header (expected `audio <hash> <length>`)", None
    frame_hash, length = int(match.group(1)), int(match.group(2))
    if frame_hash > _MAX_UINT64:
        return f"audio frame hash {frame_hash} does not fit in 64 bits", None
    if length > MAX_FRAME_LENGTH:
        return f"audio frame length {length} exceeds {MAX_FRAME_LENGTH}", None
    return "", _PendingFrame(hash=frame_hash, length=length, header_len=end)


# -- control lines ----------------------------------------------------------------------------


def classify_line(
    raw: bytes,
    *,
    terminated: bool = True,
    validate: bool = True,
    dialect: Dialect = Dialect.AUTO,
) -> Message | Malformed:
    """Turn one line (without its LF) into a Message or a Malformed event. Frame headers are
    the framer's business, not this function's."""
    # The recorder's footer classifies each written line twice (latency, then version), one
    # call right after the other: remember the last small line. Events are immutable (a
    # Message's JSON cache only ever holds the one parse of its own payload).
    global _last_classified
    last = _last_classified
    if last is not None and last[0] is raw and last[1] == (terminated, validate, dialect):
        return last[2]
    event = _classify(raw, terminated, validate, dialect)
    if type(raw) is bytes and len(raw) <= _REMEMBER_BYTES:  # immutable, so identity is enough
        _last_classified = (raw, (terminated, validate, dialect), event)
    return event


_REMEMBER_BYTES = 64 * 1024
_last_classified: tuple[bytes, tuple[bool, bool, Dialect], Message | Malformed] | None = None


def _classify(raw: bytes, terminated: bool, validate: bool, dialect: Dialect) -> Message | Malformed:
    if raw == b"close":
        return Message(raw=raw, header=_CLOSE_HEADER, terminated=terminated)
    # Not split_line: its payload slice would copy a 50 MB line on the proxy's hot path.
    sep = raw.find(b" ", 0, MAX_HEADER_LEN + 1)
    if raw.endswith(b"\r"):
        head = raw[:sep] if sep >= 0 else raw[: min(len(raw) - 1, MAX_HEADER_LEN)]
        return Malformed(raw=raw, reason="CR before LF (CRLF line ending)",
                         header=_header_of(head, dialect), terminated=terminated)
    if sep < 0:
        return _no_space(raw, dialect, terminated)
    header = _header_of(raw[:sep], dialect)
    if not validate:
        return Message(raw=raw, header=header, terminated=terminated)
    return _validated(raw, header, sep, terminated)


@functools.lru_cache(maxsize=1024)
def _header_of(head: bytes, dialect: Dialect) -> Header:
    """Headers repeat (`notification:ping`, ...), and Header is immutable: parse each once."""
    header = parse_header(head)
    # Only a line that is exactly `close` closes the connection (PROTOCOL.md §2.2), and
    # `audio` heads a frame only in the dialects that have frames.
    if header.type is HeaderType.CLOSE or (
        header.type is HeaderType.FRAME and dialect is Dialect.LINE
    ):
        return Header(HeaderType.OTHER, header.text)
    return header


def _no_space(raw: bytes, dialect: Dialect, terminated: bool) -> Malformed:
    if not raw:
        return Malformed(raw=raw, reason="empty line", terminated=terminated)
    if len(raw) > MAX_HEADER_LEN:
        reason = f"no space in the first {MAX_HEADER_LEN + 1} bytes (header too long)"
        return Malformed(raw=raw, reason=reason, terminated=terminated)
    # The plugin then parses the whole line as JSON and aborts (PROTOCOL.md §2.2).
    return Malformed(raw=raw, reason="no space between header and payload",
                     header=_header_of(raw, dialect), terminated=terminated)


def _validated(raw: bytes, header: Header, sep: int, terminated: bool) -> Message | Malformed:
    def malformed(reason: str) -> Malformed:
        return Malformed(raw=raw, reason=reason, header=header, terminated=terminated)

    if header.type is HeaderType.REQUEST and header.kind is None:
        return malformed("request header without a kind (request:<id>:<kind>)")
    try:
        raw[:sep].decode("utf-8")
    except UnicodeDecodeError as exc:
        return malformed(f"invalid UTF-8 at byte {exc.start}")
    try:
        text = raw[sep + 1 :].decode("utf-8")  # decoded once, for the check and the parse
    except UnicodeDecodeError as exc:
        return malformed(f"invalid UTF-8 at byte {sep + 1 + exc.start}")
    if not text.strip():
        return malformed("payload is empty")
    try:
        value = loads(text)
    except ValueError as exc:
        return malformed(f"payload is {exc}")
    if not isinstance(value, dict | list):
        return malformed(f"payload's top-level JSON is {type(value).__name__}, not an object"
                         " or array; the real plugin aborts on it (PROTOCOL.md §2.2)")
    message = Message(raw=raw, header=header, terminated=terminated)
    message._json_cache.append(value)
    return message

"""Lines split into CONTINUED pieces (records.py MessageFlags): joined, redacted whole, cut again.

A piece alone may begin inside a JSON string, so it cannot be redacted on its own. The pieces
of one (connection, direction) are held until the piece without CONTINUED arrives; the whole
line is redacted and cut into the same number of pieces at the original offsets (the last
piece takes the rest; if the line got shorter, trailing pieces may be empty). Every record
that arrives while a line is open is held too, so the output order equals the input order.
A line still open at the end of the input is redacted as it is (a cut write, PROTOCOL.md §6.1).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

from utauproxy.records import Direction, MessageFlags, MessageRecord, Record

WholeLine = Callable[[bytes, bool], bytes]
OneRecord = Callable[[Record], Record]
_Stream = tuple[int, Direction]


class PieceJoiner:
    """Streaming helper behind Redactor.records()."""

    def __init__(self, whole_line: WholeLine, one_record: OneRecord) -> None:
        self._whole_line = whole_line
        self._one_record = one_record
        # Output slots in input order; a slot is a record, or None until its line completes.
        self._slots: list[Record | None] = []
        self._open: dict[_Stream, list[tuple[int, MessageRecord]]] = {}

    def push(self, record: Record) -> Iterator[Record]:
        """Feed one record; yields every record whose redacted form is now known, in order."""
        if isinstance(record, MessageRecord):
            stream = (record.conn, record.direction)
            pending = self._open.get(stream)
            if pending is not None or record.flags & MessageFlags.CONTINUED:
                self._slots.append(None)
                self._open.setdefault(stream, []).append((len(self._slots) - 1, record))
                if not record.flags & MessageFlags.CONTINUED:
                    self._complete(stream)
                return self._drain()
        if not self._open:
            return iter((self._one_record(record),))
        self._slots.append(self._one_record(record))
        return self._drain()

    def finish(self) -> Iterator[Record]:
        """Complete lines still open (the capture ended inside them) and yield the rest."""
        for stream in list(self._open):
            self._complete(stream)
        return self._drain()

    def _complete(self, stream: _Stream) -> None:
        pieces = self._open.pop(stream)
        whole = b"".join(piece.raw for _, piece in pieces)
        frame = bool(pieces[0][1].flags & MessageFlags.FRAME)
        redacted = self._whole_line(whole, frame)
        cursor = 0
        for number, (slot, piece) in enumerate(pieces):
            if number == len(pieces) - 1:
                chunk = redacted[cursor:]
            else:
                chunk = redacted[cursor : cursor + len(piece.raw)]
            cursor += len(chunk)
            self._slots[slot] = piece if chunk == piece.raw else dataclasses.replace(piece, raw=chunk)

    def _drain(self) -> Iterator[Record]:
        ready = 0
        while ready < len(self._slots) and self._slots[ready] is not None:
            ready += 1
        done, self._slots = self._slots[:ready], self._slots[ready:]
        return iter([record for record in done if record is not None])

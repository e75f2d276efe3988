"""The private format between the recorder and its capture process, both ways, over pipes: a
fixed 20-byte head (kind, direction, connection, timestamp, payload length), then the payload.
Sans-IO: bytes in, frames out. Both ends are the same program, so pickled payloads are fine."""

from __future__ import annotations

import os
import pickle
import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

_HEAD = struct.Struct("<BBxxIqI")
HEAD_BYTES = _HEAD.size
_LOST = struct.Struct("<QQ?")


class Kind(IntEnum):
    OPEN = 1  # recorder -> process: pickled CaptureSpec, always the first frame
    CHUNK = 2  # bytes of one direction, as forwarded
    FINISH = 3  # that direction ended
    RECORD = 4  # a pickled record made by the recorder (connection events, discovery)
    LOST = 5  # bytes forwarded but dropped before they reached the process
    STOP = 6  # write everything and the footer, then exit
    STATUS = 7  # process -> recorder: a pickled dict (see capture_child.status_of)


@dataclass(frozen=True, slots=True)
class Frame:
    kind: Kind
    conn: int
    direction: int
    ts_ns: int
    payload: bytes

    def unpickled(self) -> Any:
        return pickle.loads(self.payload)

    def lost(self) -> tuple[int, int, bool]:
        """(lost bytes, lost lines, whether the lost stretch ended with an LF) of a LOST frame."""
        lost_bytes, lost_lines, ends_on_line_end = _LOST.unpack(self.payload)
        return lost_bytes, lost_lines, ends_on_line_end


def head(kind: Kind, length: int = 0, conn: int = 0, direction: int = 0, ts_ns: int = 0) -> bytes:
    return _HEAD.pack(kind, direction, conn, ts_ns, length)


def pickled_frame(kind: Kind, value: object, ts_ns: int = 0) -> bytes:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return head(kind, len(payload), ts_ns=ts_ns) + payload


def lost_frame(conn: int, direction: int, ts_ns: int, lost_bytes: int, lost_lines: int,
               ends_on_line_end: bool) -> bytes:
    payload = _LOST.pack(lost_bytes, lost_lines, ends_on_line_end)
    return head(Kind.LOST, len(payload), conn, direction, ts_ns) + payload


_KINDS = {int(kind): kind for kind in Kind}


def write_all(fd: int, frame: bytes) -> None:
    """Write all of `frame` to the blocking `fd`; OSError when the other end went away."""
    view = memoryview(frame)
    while view:
        view = view[os.write(fd, view):]


class FrameReader:
    """Complete frames out of a byte stream fed in arbitrary pieces."""

    def __init__(self) -> None:
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame held back (0 at a frame boundary)."""
        return len(self._buf)

    def receive_data(self, data: bytes) -> None:
        self._buf += data

    def frames(self) -> list[Frame]:
        """Every complete frame received so far, each once."""
        buf, pos, frames = self._buf, 0, []
        while len(buf) - pos >= HEAD_BYTES:
            kind, direction, conn, ts_ns, length = _HEAD.unpack_from(buf, pos)
            end = pos + HEAD_BYTES + length
            if end > len(buf):
                break
            frames.append(Frame(_KINDS[kind], conn, direction, ts_ns, bytes(buf[pos + HEAD_BYTES:end])))
            pos = end
        del buf[:pos]
        return frames

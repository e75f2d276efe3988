"""The recorder <-> capture process frames (proxy/capture_frames.py), sans-IO: the same frames
come out whether the bytes arrive whole, one at a time, or followed by part of the next frame."""

from __future__ import annotations

from utauproxy.proxy.capture_frames import Frame, FrameReader, Kind, head, lost_frame, pickled_frame
from utauproxy.records import ConnectionRecord, ConnEvent, Direction

RECORD = ConnectionRecord(5, 3, ConnEvent.OPEN, None, {"client_port": 50123, "entry_name": "Vocal \u3042"})
STREAM = b"".join([
    head(Kind.CHUNK, 6, 3, 0, 7) + b"abc\ndx",
    head(Kind.CHUNK, 0, 3, 1, 8),
    pickled_frame(Kind.RECORD, RECORD),
    lost_frame(3, 1, 9, 1 << 40, 12, False),
    head(Kind.CHUNK, 300_000, 2**32 - 1, 1, 2**62) + bytes(range(256)) * 1171 + bytes(224),
    head(Kind.FINISH, 0, 3, 0, 10),
    head(Kind.STOP),
])


def _check(frames: list[Frame]) -> None:
    assert [f.kind for f in frames] == [Kind.CHUNK, Kind.CHUNK, Kind.RECORD, Kind.LOST, Kind.CHUNK,
                                        Kind.FINISH, Kind.STOP]
    assert (frames[0].conn, frames[0].direction, frames[0].ts_ns, frames[0].payload) == (3, 0, 7, b"abc\ndx")
    assert frames[1].payload == b"" and frames[1].direction == Direction.PLUGIN_TO_OU
    assert frames[2].unpickled() == RECORD
    assert frames[3].lost() == (1 << 40, 12, False) and frames[3].ts_ns == 9
    assert len(frames[4].payload) == 300_000 and frames[4].conn == 2**32 - 1 and frames[4].ts_ns == 2**62


def test_whole() -> None:
    reader = FrameReader()
    reader.receive_data(STREAM)
    _check(reader.frames())
    assert reader.pending == 0 and reader.frames() == []


def test_byte_by_byte() -> None:
    reader = FrameReader()
    frames: list[Frame] = []
    for i in range(len(STREAM)):
        reader.receive_data(STREAM[i:i + 1])
        frames += reader.frames()
    _check(frames)


def test_with_part_of_the_next_frame_after_it() -> None:
    reader = FrameReader()
    trailing = head(Kind.CHUNK, 10, 1, 0, 0) + b"12345"
    reader.receive_data(STREAM + trailing)
    _check(reader.frames())
    assert reader.pending == len(trailing)
    reader.receive_data(b"67890")
    [last] = reader.frames()
    assert last.payload == b"1234567890" and reader.pending == 0

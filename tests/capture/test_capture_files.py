"""Creating files safely, I/O failures, and what the writer refuses."""

from __future__ import annotations

import errno
import io
import os
import stat
from pathlib import Path

import pytest

from capture_helpers import KeptBytesIO, header, read_bytes
from utauproxy.capture import CaptureReader, CaptureWriter, read_records
from utauproxy.errors import CaptureError
from utauproxy.records import ConnectionRecord, ConnEvent, Direction, MarkRecord, MessageFlags, MessageRecord


def test_create_makes_a_private_file(tmp_path: Path) -> None:
    old_umask = os.umask(0)
    try:
        path = tmp_path / "c.utpcap"
        CaptureWriter.create(path, header()).close()
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(read_records(path)) == []


def test_create_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "c.utpcap"
    path.write_bytes(b"precious")
    with pytest.raises(CaptureError, match="exists"):
        CaptureWriter.create(path, header())
    assert path.read_bytes() == b"precious"


@pytest.mark.parametrize("target_exists", [True, False])
def test_create_never_follows_a_symlink(tmp_path: Path, target_exists: bool) -> None:
    target = tmp_path / "target"
    if target_exists:
        target.write_bytes(b"precious")
    link = tmp_path / "c.utpcap"
    link.symlink_to(target)
    with pytest.raises(CaptureError):
        CaptureWriter.create(link, header())
    assert target.exists() == target_exists
    if target_exists:
        assert target.read_bytes() == b"precious"


def test_create_rejects_a_bad_header_or_options_before_making_a_file(tmp_path: Path) -> None:
    path = tmp_path / "c.utpcap"
    with pytest.raises(TypeError):
        CaptureWriter.create(path, header(note=b"bytes, not text"))
    with pytest.raises(ValueError):
        CaptureWriter.create(path, header(), chunk_max_bytes=1 << 40)
    with pytest.raises(TypeError):
        CaptureWriter.create(path, header(), no_such_option=1)
    assert not path.exists()


class FullDisk(io.BytesIO):
    """A file that fails once `room` bytes have been written, like a full disk."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.tell() + len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)


def test_a_failing_file_is_a_capture_error_and_stays_one() -> None:
    writer = CaptureWriter(FullDisk(room=200), header())
    big = MessageRecord(0, 1, Direction.OU_TO_PLUGIN, os.urandom(5000))
    with pytest.raises(CaptureError, match="No space"):
        writer.write(big)  # larger than the chunk limit: sealed at once
        writer.flush()
    with pytest.raises(CaptureError, match="failed earlier"):
        writer.write(MarkRecord(1, "after"))
    with pytest.raises(CaptureError):
        writer.close()
    writer.close()  # a second close does nothing


def test_a_failing_file_in_the_constructor_is_a_capture_error() -> None:
    with pytest.raises(CaptureError):
        CaptureWriter(FullDisk(room=5), header())


def test_exiting_with_an_exception_does_not_mask_it() -> None:
    with pytest.raises(KeyError):
        with CaptureWriter(FullDisk(room=300), header()) as writer:
            writer.write(MessageRecord(0, 1, Direction.OU_TO_PLUGIN, os.urandom(3000)))
            raise KeyError("original")  # closing then fails on the full disk, silently


def test_invalid_records_are_refused_without_writing() -> None:
    file = KeptBytesIO()
    writer = CaptureWriter(file, header())
    good = MarkRecord(0, "kept")
    writer.write(good)
    bad = [
        MessageRecord(0, -1, Direction.OU_TO_PLUGIN, b"x"),  # negative connection id
        MessageRecord(1 << 63, 1, Direction.OU_TO_PLUGIN, b"x"),  # ts beyond int64
        MessageRecord(0, 1, Direction.OU_TO_PLUGIN, "text"),  # type: ignore[arg-type]
        ConnectionRecord(0, 1, ConnEvent.OPEN, None, {1: "non-text key"}),  # type: ignore[dict-item]
        ConnectionRecord(0, 1, ConnEvent.OPEN, None, {"object": object()}),
        MarkRecord(0, None),  # type: ignore[arg-type]
        "not a record",
    ]
    for record in bad:
        with pytest.raises((TypeError, ValueError)):
            writer.write(record)  # type: ignore[arg-type]
    writer.close()
    records, reader = read_bytes(file.value)
    assert records == [good]
    assert reader.damage == []


def test_odd_but_storable_values_are_made_plain() -> None:
    file = KeptBytesIO()
    with CaptureWriter(file, header(discovery=[{"port": 10**30, "path": "caf\udce9.json"}])) as writer:
        writer.write(ConnectionRecord(0, 1, ConnEvent.ERROR, Direction.PLUGIN_TO_OU, {"nested": ({"t": (1, 2)},)}))
    records, reader = read_bytes(file.value)
    assert reader.header.discovery == [{"port": str(10**30), "path": "caf\\udce9.json"}]
    assert records == [ConnectionRecord(0, 1, ConnEvent.ERROR, Direction.PLUGIN_TO_OU, {"nested": [{"t": [1, 2]}]})]


def test_the_writer_refuses_nesting_beyond_its_limit() -> None:
    deep: dict[str, object] = {}
    inner = deep
    for _ in range(40):
        inner["d"] = {}
        inner = inner["d"]  # type: ignore[assignment]
    writer = CaptureWriter(KeptBytesIO(), header())
    with pytest.raises(ValueError, match="deeper"):
        writer.write(ConnectionRecord(0, 1, ConnEvent.OPEN, None, deep))
    writer.close()


def test_closed_writers_and_readers_raise_capture_errors(tmp_path: Path) -> None:
    path = tmp_path / "c.utpcap"
    writer = CaptureWriter.create(path, header())
    writer.close()
    with pytest.raises(CaptureError):
        writer.write(MarkRecord(0, "late"))
    reader = CaptureReader.open(path)
    reader.close()
    with pytest.raises(CaptureError):
        list(reader.records())
    with pytest.raises(CaptureError):
        CaptureReader.open(tmp_path / "missing.utpcap")


def test_counters_follow_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "c.utpcap"
    with CaptureWriter.create(path, header()) as writer:
        start = writer.bytes_written
        writer.write(MessageRecord(0, 1, Direction.OU_TO_PLUGIN, b"abc"))
        writer.write(MessageRecord(1, 1, Direction.OU_TO_PLUGIN, b"abc", MessageFlags.NO_LF))
        writer.write(MarkRecord(2, "m"))
        assert (writer.records_written, writer.wire_bytes) == (3, 4 + 3)
        assert writer.bytes_written == start, "nothing sealed yet"
    assert writer.bytes_written == path.stat().st_size

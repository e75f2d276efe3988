"""Big messages are encoded and compressed from their parts, never joined into one buffer
(the recorder's peak memory, issue 8): what reaches the disk must still read back exactly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from utauproxy.capture import codec
from utauproxy.capture.reader import CaptureReader
from utauproxy.capture.writer import CaptureWriter
from utauproxy.records import CaptureHeader, Direction, MessageFlags, MessageRecord

HEADER = CaptureHeader(1, 0, "test", "2026-01-01T00:00:00Z", "test", "auto")


@pytest.mark.parametrize("size", [0, 100, codec.SPLIT_RAW_BYTES - 1, codec.SPLIT_RAW_BYTES, 3 << 20])
def test_the_parts_of_a_message_are_its_plain_encoding(size: int) -> None:
    record = MessageRecord(-5, 2**40, Direction.PLUGIN_TO_OU, os.urandom(size), MessageFlags.NO_LF)
    parts = codec.encode_plain_message_parts(record)
    assert b"".join(parts) == codec.encode_plain_message(record)
    assert (len(parts) == 2 and parts[1] is record.raw) == (size >= codec.SPLIT_RAW_BYTES)


@pytest.mark.parametrize("compressible", [True, False])
def test_big_messages_between_small_ones_read_back_exactly(tmp_path: Path, compressible: bool) -> None:
    big = (b"notification:updateAudio " + (b"KLUv" * (1 << 20) if compressible else os.urandom(4 << 20)))
    written = [
        MessageRecord(1, 1, Direction.OU_TO_PLUGIN, b"request:1:init {}"),
        MessageRecord(2, 1, Direction.OU_TO_PLUGIN, big),
        MessageRecord(3, 1, Direction.PLUGIN_TO_OU, b"response:1 {}"),
        MessageRecord(4, 1, Direction.OU_TO_PLUGIN, big[:-1], MessageFlags.NO_LF),
    ]
    path = tmp_path / "big.utpcap"
    with CaptureWriter.create(path, HEADER, chunk_max_bytes=1 << 20) as writer:
        for record in written:
            writer.write(record)
    assert writer.bytes_written == path.stat().st_size
    with CaptureReader.open(path) as reader:
        assert list(reader.records()) == written
        assert not reader.damage
        assert reader.footer is not None and reader.footer.records == len(written)

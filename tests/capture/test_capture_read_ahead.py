"""The reader decompresses big chunks ahead on a worker thread and decodes records straight
from the chunk: neither may change what a read gives, damage included."""

from __future__ import annotations

import io
import random
import threading

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capture_helpers import KeptBytesIO, header
from utauproxy.capture import reader as reader_module
from utauproxy.capture.reader import CaptureReader
from utauproxy.capture.safecbor import load_item
from utauproxy.capture.writer import CaptureWriter
from utauproxy.errors import CaptureCorrupt
from utauproxy.records import ConnectionRecord, ConnEvent, Direction, MessageRecord, Record

MS = 1_000_000
_RNG = random.Random(8)


def _records() -> list[Record]:
    """Big (incompressible, so their chunks stay big) and small messages, in chunks of
    their own and shared, with small chunks between the big ones."""
    records: list[Record] = [ConnectionRecord(0, 1, ConnEvent.OPEN)]
    for n in range(8):
        ts = (n + 1) * 300 * MS
        records.append(MessageRecord(ts, 1, Direction.OU_TO_PLUGIN, b"request:%d:init {}" % n))
        big = b"notification:updateAudio " + _RNG.randbytes(_RNG.choice((300_000, 700_000, 20_000)))
        records.append(MessageRecord(ts + 1, 1, Direction.OU_TO_PLUGIN, big))
        records.append(MessageRecord(ts + 250 * MS, 1, Direction.PLUGIN_TO_OU, b"response:%d {}" % n))
    return records


def _capture(records: list[Record]) -> bytes:
    file = KeptBytesIO()
    with CaptureWriter(file, header(), chunk_max_bytes=1 << 20, chunk_max_age_ns=200 * MS) as writer:
        for record in records:
            writer.write(record)
    return file.value


RECORDS = _records()
CAPTURE = _capture(RECORDS)
_FOOTER = CaptureReader(io.BytesIO(CAPTURE)).footer
assert _FOOTER is not None
FIRST_CHUNK = _FOOTER.chunks[0].offset  # label and header before it: damage there is fatal


def _read(data: bytes) -> tuple[list[Record], list[object], int | None]:
    reader = CaptureReader(io.BytesIO(data))
    records = list(reader.records())
    return records, list(reader.damage), reader.incomplete_tail


def _read_in_order(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Record], list[object], int | None]:
    """The same reader, walking strictly one item after the other on this thread."""
    with monkeypatch.context() as patch:
        patch.setattr(reader_module, "_AHEAD_MIN", 1 << 62)
        patch.setattr(reader_module, "_AHEAD_BYTES", 0)
        return _read(data)


def test_the_capture_has_big_chunks_to_read_ahead() -> None:
    reader = CaptureReader(io.BytesIO(CAPTURE))
    assert reader.footer is not None
    sizes = [b.offset - a.offset for a, b in zip(reader.footer.chunks, reader.footer.chunks[1:])]
    assert sum(size >= reader_module._AHEAD_MIN for size in sizes) >= 4
    assert sum(size < reader_module._AHEAD_MIN for size in sizes) >= 4


def test_an_intact_capture_reads_back_exactly() -> None:
    assert _read(CAPTURE) == (RECORDS, [], None)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=FIRST_CHUNK, max_value=len(CAPTURE) - 1), min_size=1, max_size=3),
       st.integers(min_value=0, max_value=len(CAPTURE)))
def test_damage_reads_as_a_walk_in_order_reads_it(monkeypatch: pytest.MonkeyPatch, flips: list[int],
                                                  cut: int) -> None:
    data = bytearray(CAPTURE)
    for offset in flips:
        data[offset] ^= 0x5A
    damaged = bytes(data[: max(cut, len(CAPTURE) // 2)])
    assert _read(damaged) == _read_in_order(damaged, monkeypatch)


def test_a_corrupt_big_chunk_costs_its_own_records_only() -> None:
    reader = CaptureReader(io.BytesIO(CAPTURE))
    assert reader.footer is not None
    chunks = reader.footer.chunks
    big = max(range(len(chunks) - 1), key=lambda i: chunks[i + 1].offset - chunks[i].offset)
    data = bytearray(CAPTURE)
    data[(chunks[big].offset + chunks[big + 1].offset) // 2] ^= 0xFF
    records, damage, _ = _read(bytes(data))
    assert len(damage) == 1 and "CRC" in str(damage[0])
    assert len(records) == len(RECORDS) - chunks[big].count


def test_two_reads_of_one_reader_may_interleave() -> None:
    reader = CaptureReader(io.BytesIO(CAPTURE))
    first, second = reader.records(), reader.records()
    got_first, got_second = [], []
    for a, b in zip(first, second):
        got_first.append(a)
        got_second.append(b)
    assert got_first == got_second == RECORDS


def test_stopping_early_leaves_no_thread_behind() -> None:
    before = set(threading.enumerate())
    reader = CaptureReader(io.BytesIO(CAPTURE))
    records = reader.records()
    assert next(records) == RECORDS[0]
    next(records)
    assert any(t.name.startswith("capture-read-ahead") for t in set(threading.enumerate()) - before)
    records.close()
    assert not [t for t in set(threading.enumerate()) - before if t.name.startswith("capture-read-ahead")]


@pytest.mark.parametrize("item", [
    [3, 1, b"request:1:init {}"],
    {"k": [1, 2.5, None, True], "t": "text", "b": b"\x00" * 70_000},
    [1, 2, 3],
])
def test_records_decoded_in_place_are_load_items_values(item: object) -> None:
    encoded = cbor2.dumps(item)
    data = b"\x01" + encoded + b"\x02"  # an item among others in a chunk
    reader = CaptureReader(io.BytesIO(CAPTURE))
    assert reader._load_item(data, io.BytesIO(data), 1) == load_item(data, 1, max_bytes=len(data) - 1,
                                                                     max_depth=reader._limits.max_depth)


@pytest.mark.parametrize("data", [
    bytes([0x63]) + b"\xff\xfe\xfd" + b"\x00",  # text that is not UTF-8: scanned fine, undecodable
    bytes([0x82, 0x01]),  # an array cut short
    bytes([0xD9, 0xD9, 0xF7, 0x01, 0x00]),  # a tag
    bytes([0xA1, 0x01, 0x02, 0x00]),  # a map with a key that is not text
])
def test_undecodable_records_fail_as_load_item_fails(data: bytes) -> None:
    reader = CaptureReader(io.BytesIO(CAPTURE))
    depth = reader._limits.max_depth
    with pytest.raises(CaptureCorrupt) as expected:
        load_item(data, 0, max_bytes=len(data), max_depth=depth)
    with pytest.raises(CaptureCorrupt) as got:
        reader._load_item(data, io.BytesIO(data), 0)
    assert type(got.value) is type(expected.value) and str(got.value) == str(expected.value)

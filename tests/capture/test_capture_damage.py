"""Damage costs what docs/capture-format.md §9 promises, and never raises anything else."""

from __future__ import annotations

import io
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capture_helpers import load_golden_script, read_bytes, write_bytes
from utauproxy.capture import CaptureReader
from utauproxy.capture.footer import parse_trailer
from utauproxy.capture.layout import TRAILER_SIZE
from utauproxy.errors import CaptureCorrupt, CaptureError
from utauproxy.records import ConnectionRecord, ConnEvent, Direction, MarkRecord, MessageRecord, Record

MS = 1_000_000
_TEXT = random.Random(11).randbytes(1100)


def _sample_records() -> list[Record]:
    """Small but multi-chunk: a key in one chunk, deltas (and a base copy) in later ones."""
    records: list[Record] = [ConnectionRecord(0, 1, ConnEvent.OPEN)]
    for step in range(6):
        edited = bytearray(_TEXT)
        edited[step * 10] ^= 0xFF
        records.append(MessageRecord(step * 100 * MS, 1, Direction.OU_TO_PLUGIN, b"notification:updateUstx " + edited))
        records.append(MessageRecord(step * 100 * MS + 1, 1, Direction.PLUGIN_TO_OU, b"notification:ping {}"))
    records.append(MarkRecord(700 * MS, "end"))
    return records


RECORDS = _sample_records()
SAMPLE = write_bytes(RECORDS, chunk_max_age_ns=150 * MS)


def _chunk_spans(data: bytes) -> list[tuple[int, int, int]]:
    """(start, end, record count) of every chunk, from the footer's index."""
    reader = CaptureReader(io.BytesIO(data))
    assert reader.footer is not None
    footer_offset = parse_trailer(data[-TRAILER_SIZE:])
    chunks = reader.footer.chunks
    ends = [chunk.offset for chunk in chunks[1:]] + [footer_offset]
    return [(chunk.offset, end, chunk.count) for chunk, end in zip(chunks, ends, strict=True)]


SPANS = _chunk_spans(SAMPLE)


def test_sample_has_deltas_against_a_key_in_an_earlier_chunk() -> None:
    layout = load_golden_script().record_type_layout(SAMPLE)
    key_chunk = next(i for i, types in enumerate(layout) if 6 in types)
    assert any(7 in types for types in layout[key_chunk + 2 :]), layout
    assert len(SPANS) >= 4


def test_truncation_at_every_offset_keeps_every_complete_chunk() -> None:
    header_end = SPANS[0][0]
    for size in range(len(SAMPLE) + 1):
        data = SAMPLE[:size]
        if size < header_end:
            with pytest.raises(CaptureCorrupt):
                CaptureReader(io.BytesIO(data))
            continue
        records, reader = read_bytes(data)
        complete = sum(count for _, end, count in SPANS if end <= size)
        assert records == RECORDS[:complete], f"truncated at {size}"
        assert (reader.footer is not None) == (size == len(SAMPLE))


@pytest.mark.parametrize("chunk", range(len(SPANS)))
@pytest.mark.parametrize("where", ["tag", "crc", "meta", "middle", "last"])
def test_a_corrupt_chunk_costs_exactly_its_records(chunk: int, where: str) -> None:
    start, end, count = SPANS[chunk]
    position = {"tag": start + 1, "crc": start + 8, "meta": start + 13, "middle": (start + end) // 2, "last": end - 1}
    data = bytearray(SAMPLE)
    data[position[where]] ^= 0x5A
    records, reader = read_bytes(bytes(data))
    before = sum(c for _, _, c in SPANS[:chunk])
    assert records == RECORDS[:before] + RECORDS[before + count :]
    assert [(d.offset, d.length) for d in reader.damage] == [(start, end - start)]
    assert reader.footer is not None, "the footer is found through the trailer, not by scanning"


def test_two_corrupt_chunks_in_a_row_are_one_damaged_region() -> None:
    (start, _, first), (_, end, second) = SPANS[1], SPANS[2]
    data = bytearray(SAMPLE)
    data[start + 20] ^= 1
    data[SPANS[2][0] + 20] ^= 1
    records, reader = read_bytes(bytes(data))
    assert [(d.offset, d.length) for d in reader.damage] == [(start, end - start)]
    assert len(records) <= len(RECORDS) - first - second


def test_garbage_between_chunks_is_skipped() -> None:
    start = SPANS[2][0]
    garbage = b"\x00garbage\xff\xda\x55\x54\x50"  # ends like the start of a tag
    records, reader = read_bytes(SAMPLE[:start] + garbage + SAMPLE[start:])
    assert records == RECORDS
    assert [(d.offset, d.length) for d in reader.damage] == [(start, len(garbage))]


def test_a_damaged_footer_costs_only_the_footer() -> None:
    footer_offset = parse_trailer(SAMPLE[-TRAILER_SIZE:])
    data = bytearray(SAMPLE)
    data[footer_offset + 30] ^= 0x10
    records, reader = read_bytes(bytes(data))
    assert reader.footer is None
    assert records == RECORDS


_MUTATION = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, len(SAMPLE) - 1), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, len(SAMPLE)), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, len(SAMPLE)), st.integers(0, 255)),
)


def _read_everything(data: bytes) -> None:
    try:
        reader = CaptureReader(io.BytesIO(data))
        records = list(reader.records())
    except CaptureError:
        return
    assert len(records) <= 2 * len(RECORDS) + 5  # resynchronising cannot invent much


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_MUTATION, min_size=1, max_size=8))
def test_mutated_files_give_records_or_capture_error(mutations: list[tuple[str, int, int]]) -> None:
    data = bytearray(SAMPLE)
    for kind, position, value in mutations:
        position = min(position, len(data))
        if kind == "flip" and position < len(data):
            data[position] ^= value
        elif kind == "cut":
            del data[position:]
        else:
            data[position:position] = bytes([value])
    _read_everything(bytes(data))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_random_bytes_give_capture_error_or_records(noise: bytes, after_header: bool) -> None:
    _read_everything((SAMPLE[: SPANS[0][0]] if after_header else b"") + noise)

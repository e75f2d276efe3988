"""Files made by an attacker: bounded work and memory, and only CaptureError (or damage)."""

from __future__ import annotations

import io

import cbor2
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from capture_helpers import craft_chunk, craft_header, read_bytes, records_cbor, write_bytes
from utauproxy.capture import CaptureReader, ReadLimits
from utauproxy.capture.layout import LABEL
from utauproxy.errors import CaptureCorrupt, CaptureLimitExceeded
from utauproxy.records import Direction, MessageRecord

pytestmark = pytest.mark.timeout(20)

_HUGE_TEXT_HEAD = b"\x7b" + (1 << 62).to_bytes(8, "big")  # text string of 2^62 bytes
_HUGE_ARRAY_HEAD = b"\x9b" + (1 << 62).to_bytes(8, "big")  # array of 2^62 elements
_DEEP = b"\x81" * 100_000 + b"\x00"


def _is_rejected(data: bytes) -> None:
    with pytest.raises(CaptureCorrupt):
        CaptureReader(io.BytesIO(data))


@pytest.mark.parametrize(
    "item",
    [
        b"\xa1\x64note" + _HUGE_TEXT_HEAD + b"abc",
        b"\xa1\x64note" + _HUGE_ARRAY_HEAD,
        b"\xbb" + (1 << 62).to_bytes(8, "big"),
    ],
    ids=["text", "array", "map"],
)
def test_huge_declared_lengths_in_the_header(item: bytes) -> None:
    with pytest.raises(CaptureLimitExceeded):
        CaptureReader(io.BytesIO(LABEL + item))


def test_deep_nesting_in_the_header() -> None:
    with pytest.raises(CaptureLimitExceeded):
        CaptureReader(io.BytesIO(LABEL + _DEEP))


@pytest.mark.parametrize(
    "header",
    [
        LABEL + cbor2.dumps({"format_major": 1, "format_minor": 0, "note": cbor2.CBORTag(35, "(a+)+$")}),
        LABEL + cbor2.dumps({"format_major": 1, "format_minor": 0, "note": 1 << 80}),  # bignum tag
        LABEL + cbor2.dumps({1: 2, "format_major": 1, "format_minor": 0}),  # non-text key
        LABEL + b"\xbf\xff",  # indefinite-length map
        LABEL + cbor2.dumps(["format_major", 1]),
        LABEL + cbor2.dumps({"format_major": 1}),
        LABEL + cbor2.dumps({"format_major": 1, "format_minor": 0, "writer": 5}),
        LABEL + cbor2.dumps({"format_major": 1, "format_minor": 0, "discovery": [1]}),
        LABEL + cbor2.dumps({"format_major": 0, "format_minor": 9}),
        LABEL[:5],
        b"PK\x03\x04 not a capture",
        b"",
    ],
)
def test_headers_outside_the_format_are_corrupt(header: bytes) -> None:
    _is_rejected(header)


def _damage_reasons(data: bytes, **limits: int) -> list[str]:
    records, reader = read_bytes(data, limits=ReadLimits(**limits))
    assert records == []
    return [damage.reason for damage in reader.damage]


def test_deep_nesting_in_a_chunk_is_damage() -> None:
    reasons = _damage_reasons(craft_header() + craft_chunk(_DEEP))
    assert len(reasons) == 1 and "deeper" in reasons[0]


def test_huge_lengths_in_a_chunk_are_damage() -> None:
    chunk_declaring_too_much = craft_chunk(b"", raw_len=1 << 40)
    record_declaring_too_much = craft_chunk(b"\x86\x00\x00\x00\x00\x00" + b"\x5b" + (1 << 62).to_bytes(8, "big"))
    reasons = _damage_reasons(craft_header() + chunk_declaring_too_much + record_declaring_too_much)
    assert len(reasons) == 2
    assert "exceeds" in reasons[0] and "exceeds" in reasons[1]


def test_a_chunk_whose_length_exceeds_the_limit_is_not_read() -> None:
    head = bytes.fromhex("da55545043") + b"\x83\x1a\x00\x00\x00\x00" + cbor2.dumps([0, 0, 0, 1, 1, 5])
    data = craft_header() + head + b"\x5b" + (1 << 40).to_bytes(8, "big")
    assert "exceeds" in _damage_reasons(data)[0]


def test_a_zstd_bomb_chunk_is_damage() -> None:
    bomb = zstandard.ZstdCompressor(level=19).compress(bytes(64 << 20))
    assert len(bomb) < 64 << 10
    honest_size = craft_chunk(b"", payload=bomb, raw_len=64 << 20)
    lying_size = craft_chunk(b"", payload=bomb, raw_len=100)
    assert "exceeds" in _damage_reasons(craft_header() + honest_size, max_chunk_bytes=1 << 20)[0]
    assert "expected 100" in _damage_reasons(craft_header() + lying_size)[0]


def test_a_zstd_frame_without_content_size_is_damage() -> None:
    frame = zstandard.ZstdCompressor(write_content_size=False).compress(records_cbor([3, 0, "x"]))
    assert "expected" in _damage_reasons(craft_header() + craft_chunk(b"", payload=frame, raw_len=6))[0]


def test_a_delta_bomb_is_damage() -> None:
    """A tiny delta frame that expands to 64 MiB: bounded by the chunk's budget."""
    base = b"x" * 2000
    dictionary = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    frame = zstandard.ZstdCompressor(dict_data=dictionary).compress(bytes(64 << 20))
    key = [6, 0, 1, 0, 0, base, 0, 0]
    delta = [7, 1, 1, 0, 0, 0, 0, 64 << 20, frame]
    data = craft_header() + craft_chunk(records_cbor(key, delta), count=2)
    records, reader = read_bytes(data, limits=ReadLimits(max_chunk_bytes=1 << 20))
    assert records == [MessageRecord(0, 1, Direction.OU_TO_PLUGIN, base)]
    assert len(reader.damage) == 1 and "expand beyond" in reader.damage[0].reason


def test_a_delta_asking_for_a_huge_window_is_damage() -> None:
    base = b"y" * 2000
    dictionary = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    params = zstandard.ZstdCompressionParameters(window_log=27, write_content_size=True)
    frame = zstandard.ZstdCompressor(dict_data=dictionary, compression_params=params).compress(b"z" * (3 << 20))
    data = craft_header() + craft_chunk(records_cbor([6, 0, 1, 0, 0, base, 0, 0], [7, 1, 1, 0, 0, 0, 0, 3 << 20, frame]))
    records, reader = read_bytes(data, limits=ReadLimits(max_window_bytes=1 << 20))
    assert len(records) == 1
    assert "window" in reader.damage[0].reason


@pytest.mark.parametrize(
    "array",
    [
        [3, 0, cbor2.CBORTag(0, "2020-01-01T00:00:00Z")],  # a datetime tag
        [3, 0, cbor2.CBORTag(35, "(a+)+$")],  # a regular expression tag
        [1, 0, 1, "open", None, {1: 2}],  # non-text map key
    ],
)
def test_tags_and_odd_keys_inside_records_are_damage(array: list[object]) -> None:
    reasons = _damage_reasons(craft_header() + craft_chunk(records_cbor(array)))
    assert len(reasons) == 1


def test_invalid_utf8_in_text_is_damage() -> None:
    record = b"\x83\x03\x00\x62\xff\xfe"  # [3, 0, text of two invalid bytes]
    assert len(_damage_reasons(craft_header() + craft_chunk(record))) == 1


def test_a_huge_footer_offset_is_ignored() -> None:
    data = write_bytes([MessageRecord(0, 1, Direction.OU_TO_PLUGIN, b"x")])
    forged = data[:-17] + (1 << 63).to_bytes(8, "big") + data[-9:]
    records, reader = read_bytes(forged)
    assert reader.footer is None
    assert len(records) == 1


_ANY_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**64 - 1) | st.floats() | st.text(max_size=5) | st.binary(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=12,
)
_RECORD_LIKE = st.builds(lambda code, rest: [code, *rest], st.integers(0, 10), st.lists(_ANY_VALUE, max_size=9))


@settings(max_examples=120, deadline=None)
@given(st.lists(_RECORD_LIKE, max_size=6))
def test_records_of_any_shape_in_an_intact_chunk_are_records_or_damage(arrays: list[list[object]]) -> None:
    records, reader = read_bytes(craft_header() + craft_chunk(records_cbor(*arrays)))
    assert len(records) + len(reader.damage) + reader.skipped_unknown <= len(arrays)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 1))
def test_any_bytes_in_an_intact_chunk_are_records_or_damage(payload: bytes, codec: int) -> None:
    read_bytes(craft_header() + craft_chunk(payload, codec=codec))

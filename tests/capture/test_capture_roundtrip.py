"""Whatever records go in come back out, equal and in order."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capture_helpers import load_golden_script, read_bytes, write_bytes
from utauproxy.capture.layout import DELTA_MAX_BYTES
from utauproxy.records import (
    ConnectionRecord,
    ConnEvent,
    Direction,
    DiscoveryEvent,
    DiscoveryRecord,
    GapRecord,
    MarkRecord,
    MessageFlags,
    MessageRecord,
    NoticeRecord,
    Record,
)

TS = st.integers(-(2**63), 2**63 - 1)
UINT64 = st.integers(0, 2**64 - 1)
TEXT = st.text(st.characters(codec="utf-8"), max_size=20)  # no lone surrogates
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64 - 1)
    | st.floats(allow_nan=False)
    | TEXT
    | st.binary(max_size=16)
)
JSONISH = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=10
)
MAPS = st.dictionaries(TEXT, JSONISH, max_size=4)

# Big payloads that resemble each other, so that keys, deltas and base copies all happen.
_BASES = [random.Random(seed).randbytes(3000) for seed in range(2)]


def _edited(base: int, position: int, patch: bytes, label: bytes) -> bytes:
    data = bytearray(_BASES[base])
    data[position : position + len(patch)] = patch
    return label + b" " + bytes(data)


SIMILAR = st.builds(
    _edited,
    st.integers(0, 1),
    st.integers(0, 2999),
    st.binary(max_size=8),
    st.sampled_from([b"notification:updateUstx", b"response:abc"]),
)
RAW = st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b"", b"notification:ping {}", b"close", b"\xff\x00\n\r"]),
    SIMILAR,
    SIMILAR,
    st.binary(min_size=1000, max_size=5000),
)

MESSAGES = st.builds(
    MessageRecord,
    TS,
    st.integers(0, 3),
    st.sampled_from(Direction),
    RAW,
    st.integers(0, 7).map(MessageFlags),
)
OTHERS = st.one_of(
    st.builds(ConnectionRecord, TS, UINT64, st.sampled_from(ConnEvent), st.none() | st.sampled_from(Direction), MAPS),
    st.builds(DiscoveryRecord, TS, st.sampled_from(DiscoveryEvent), MAPS),
    st.builds(MarkRecord, TS, TEXT),
    st.builds(GapRecord, TS, UINT64, st.sampled_from(Direction), UINT64, UINT64, TEXT),
    st.builds(NoticeRecord, TS, TEXT, TEXT),
)
RECORDS = st.lists(st.one_of(MESSAGES, MESSAGES, MESSAGES, OTHERS), max_size=40)


def _roundtrip(records: list[Record], **opts: Any) -> list[Record]:
    out, reader = read_bytes(write_bytes(records, **opts))
    assert reader.damage == []
    assert reader.footer is not None and reader.footer.records == len(records)
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RECORDS, st.sampled_from([64, 4096, 4 << 20]), st.sampled_from([0, 10**6, 10**18]))
def test_any_records_round_trip(records: list[Record], max_bytes: int, max_age: int) -> None:
    assert _roundtrip(records, chunk_max_bytes=max_bytes, chunk_max_age_ns=max_age) == records


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2999), st.binary(min_size=1, max_size=6)), min_size=2, max_size=30))
def test_resends_with_edits_round_trip_through_deltas(edits: list[tuple[int, bytes]]) -> None:
    records: list[Record] = []
    for ts, (position, patch) in enumerate(edits):
        records.append(MessageRecord(ts, 1, Direction.OU_TO_PLUGIN, _edited(0, position, patch, b"notification:updateUstx")))
    data = write_bytes(records, chunk_max_bytes=8192)
    assert read_bytes(data)[0] == records
    types = {t for chunk in load_golden_script().record_type_layout(data) for t in chunk}
    assert {6, 7} <= types, "the first resend is a key, later ones deltas"


def test_large_and_empty_messages_round_trip() -> None:
    big = random.Random(7).randbytes(DELTA_MAX_BYTES + 1000)  # beyond deltas and any chunk limit
    records: list[Record] = [
        MessageRecord(0, 1, Direction.OU_TO_PLUGIN, b""),
        MessageRecord(1, 1, Direction.OU_TO_PLUGIN, big, MessageFlags.CONTINUED),
        MessageRecord(2, 1, Direction.OU_TO_PLUGIN, big[::-1], MessageFlags.NO_LF),
        MessageRecord(3, 1, Direction.PLUGIN_TO_OU, bytes(300_000)),
        MessageRecord(4, 1, Direction.PLUGIN_TO_OU, bytes(300_000) + b"x"),
    ]
    assert _roundtrip(records, chunk_max_bytes=1 << 20) == records


def test_messages_after_a_closed_connection_round_trip() -> None:
    """Writer and reader both forget a closed connection's bases; a reused conn id starts
    over with a key, and its deltas still decode."""
    text = random.Random(3).randbytes(4000)
    records: list[Record] = []
    for ts in range(3):
        records.append(MessageRecord(ts, 1, Direction.OU_TO_PLUGIN, b"notification:updateUstx " + text + bytes([ts])))
    records.append(ConnectionRecord(10, 1, "closed"))  # type: ignore[arg-type]  # plain text counts too
    for ts in range(20, 23):
        records.append(MessageRecord(ts, 1, Direction.OU_TO_PLUGIN, b"notification:updateUstx " + text + bytes([ts])))
    out = _roundtrip(records, chunk_max_bytes=4500)
    assert out[:3] + out[4:] == records[:3] + records[4:]
    assert out[3] == ConnectionRecord(10, 1, ConnEvent.CLOSED)

"""The footer, forward compatibility (unknown things are skipped) and migrations."""

from __future__ import annotations

import io
import random
from typing import Any

import cbor2
import pytest

from capture_helpers import GOLDEN, craft_chunk, craft_header, read_bytes, records_cbor, write_bytes
from utauproxy.capture import CaptureReader, Migration, MigrationChain, ReadLimits, Tally
from utauproxy.capture.layout import tag_head
from utauproxy.errors import CaptureCorrupt, CaptureFormatTooNew
from utauproxy.records import (
    ConnectionRecord,
    ConnEvent,
    Direction,
    GapRecord,
    MarkRecord,
    MessageFlags,
    MessageRecord,
    NoticeRecord,
    Record,
)

OU, PLUGIN = Direction.OU_TO_PLUGIN, Direction.PLUGIN_TO_OU


def test_footer_summarises_the_capture() -> None:
    records: list[Record] = [
        ConnectionRecord(5, 1, ConnEvent.OPEN),
        MessageRecord(10, 1, OU, b"request:abc:init {}"),
        MessageRecord(20, 1, PLUGIN, b"notification:ping {}"),
        MessageRecord(30, 1, OU, b'notification:updateUstx {"ustx":"a', MessageFlags.CONTINUED),
        MessageRecord(31, 1, OU, b'bc"}'),
        MessageRecord(40, 2, PLUGIN, b"cut", MessageFlags.NO_LF),
        GapRecord(50, 2, PLUGIN, 1000, 3, "slow disk"),
        MarkRecord(60, "here"),
        NoticeRecord(-7, "info", "clock"),
    ]
    data = write_bytes(records, chunk_max_bytes=64)
    footer = CaptureReader(io.BytesIO(data)).footer
    assert footer is not None
    assert (footer.records, footer.messages, footer.wire_bytes) == (9, 5, 20 + 21 + 35 + 4 + 3)
    assert (footer.first_ts_ns, footer.last_ts_ns) == (-7, 60)
    assert footer.by_type == {"connection": 1, "message": 5, "gap": 1, "mark": 1, "notice": 1}
    assert footer.by_label == {
        "request:init": Tally(1, 20),
        "notification:ping": Tally(1, 21),
        "notification:updateUstx": Tally(2, 39),
        "other:cut": Tally(1, 3),
    }
    assert footer.by_direction == {OU: Tally(3, 59), PLUGIN: Tally(2, 24)}
    conns = {c.conn: c for c in footer.connections}
    assert (conns[1].first_ts_ns, conns[1].last_ts_ns, conns[1].messages) == (5, 31, 4)
    assert conns[1].bytes_by_direction == (59, 21)
    assert (conns[2].first_ts_ns, conns[2].last_ts_ns, conns[2].bytes_by_direction) == (40, 50, (0, 3))
    assert (footer.lost_bytes, footer.lost_messages) == (1000, 3)
    assert [chunk.seq for chunk in footer.chunks] == list(range(len(footer.chunks)))
    assert sum(chunk.count for chunk in footer.chunks) == 9
    assert all(data[chunk.offset : chunk.offset + 5] == tag_head(0x55545043) for chunk in footer.chunks)


class CountingFile(io.BytesIO):
    """Counts the bytes read through it."""

    bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data


def test_the_footer_is_read_without_scanning() -> None:
    noise = random.Random(4).randbytes(2_000_000)
    records: list[Record] = [MessageRecord(ts, 1, OU, noise[ts * 50_000 : (ts + 1) * 50_000]) for ts in range(40)]
    file = CountingFile(write_bytes(records))
    reader = CaptureReader(file)
    assert reader.footer is not None and reader.footer.records == 40
    assert file.bytes_read < 200_000 < len(file.getvalue())


def test_close_extra_lands_in_the_footer() -> None:
    from capture_helpers import KeptBytesIO, header
    from utauproxy.capture import CaptureWriter

    file = KeptBytesIO()
    writer = CaptureWriter(file, header())
    writer.close(extra={"exit": "sigterm", "restored": ["a.json"]})
    footer = CaptureReader(io.BytesIO(file.value)).footer
    assert footer is not None and footer.extra == {"exit": "sigterm", "restored": ["a.json"]}
    assert footer.records == 0 and footer.first_ts_ns is None


def test_unknown_keys_types_events_and_items_are_skipped() -> None:
    head = craft_header({"future_header_key": {"x": [1, 2]}})
    chunk = craft_chunk(
        records_cbor(
            [3, 0, "a", {"future": 1}, "more"],  # a known record with trailing elements
            [42, 1, "a record type from the future"],
            [1, 2, 1, "teleported", None, {}],  # an event kind from the future
            [3, 3, "b"],
        ),
        meta_extra=[{"future_meta": True}],
    )
    future_item = tag_head(0x55545099) + cbor2.dumps({"attachment": b"\x00" * 10})
    second = craft_chunk(records_cbor([5, 4, "info", "c"]), seq=1)
    records, reader = read_bytes(head + chunk + future_item + second)
    assert records == [MarkRecord(0, "a"), MarkRecord(3, "b"), NoticeRecord(4, "info", "c")]
    assert reader.skipped_unknown == 2
    assert reader.damage == []


def test_a_record_with_a_wrong_shape_costs_only_itself() -> None:
    chunk = craft_chunk(records_cbor([3, 0, "a"], [3, "not a ts", "b"], [4, 0, 1, 7, 0, 0, "bad dir"], [3, 2, "c"]))
    records, reader = read_bytes(craft_header() + chunk)
    assert records == [MarkRecord(0, "a"), MarkRecord(2, "c")]
    assert len(reader.damage) == 2 and "record 1" in reader.damage[0].reason


def test_a_delta_without_its_base_is_damage() -> None:
    chunk = craft_chunk(records_cbor([7, 0, 1, 0, 0, 5, 9, 3, b"\x28\xb5\x2f\xfd"], [3, 1, "after"]))
    records, reader = read_bytes(craft_header() + chunk)
    assert records == [MarkRecord(1, "after")]
    assert "unavailable" in reader.damage[0].reason


def test_a_small_base_cache_loses_deltas_not_the_file() -> None:
    texts = [random.Random(seed).randbytes(3000) for seed in range(2)]
    records: list[Record] = []
    for step in range(6):
        for conn, text in enumerate(texts):
            records.append(MessageRecord(step * 2 + conn, conn, OU, b"notification:updateUstx " + text + bytes([step])))
    data = write_bytes(records)
    assert read_bytes(data)[0] == records
    out, reader = read_bytes(data, limits=ReadLimits(max_base_cache_bytes=4000))
    assert len(out) < len(records) and all(record in records for record in out)
    assert reader.damage and all("unavailable" in damage.reason for damage in reader.damage)


# --- migrations ------------------------------------------------------------------------------


def _shout(record: list[Any]) -> list[Any] | None:
    if record[0] == 5:  # notices did not exist "before": drop them
        return None
    if record[0] == 3:
        return [3, record[1], record[2].upper(), *record[3:]]
    return record


def test_a_registered_migration_is_applied_to_older_files() -> None:
    def header_step(value: dict[str, Any]) -> dict[str, Any]:
        return {**value, "extra": {**value.get("extra", {}), "migrated": True}}

    chain = MigrationChain(target=(1, 1), steps={(1, 0): Migration(header_step, _shout)})
    with CaptureReader(open(GOLDEN / "capture-v1.0.utpcap", "rb"), migrations=chain) as reader:
        records = list(reader.records())
        assert reader.header.extra["migrated"] is True
        assert (reader.header.format_major, reader.header.format_minor) == (1, 0)
        assert reader.damage == []
    with CaptureReader.open(GOLDEN / "capture-v1.0.utpcap") as plain:
        original = list(plain.records())
    expected = [
        MarkRecord(r.ts_ns, r.text.upper()) if isinstance(r, MarkRecord) else r
        for r in original
        if not isinstance(r, NoticeRecord)
    ]
    assert records == expected and len(records) < len(original)


def test_migration_steps_run_in_order() -> None:
    trail: list[str] = []

    def step(name: str) -> Migration:
        def header(value: dict[str, Any]) -> dict[str, Any]:
            trail.append(name)
            return value

        return Migration(header=header)

    chain = MigrationChain(target=(1, 2), steps={(1, 1): step("1.1->1.2"), (1, 0): step("1.0->1.1")})
    CaptureReader(io.BytesIO(craft_header()), migrations=chain)
    assert trail == ["1.0->1.1", "1.1->1.2"]
    CaptureReader(io.BytesIO(craft_header({"format_minor": 1})), migrations=chain)
    assert trail[2:] == ["1.1->1.2"]


def test_migration_chain_refuses_what_it_cannot_bridge() -> None:
    chain = MigrationChain(target=(1, 2), steps={(1, 1): Migration()})
    assert chain.plan((1, 1)) == (Migration(),)
    assert chain.plan((1, 5)) == ()  # a newer minor: read as is, skipping the unknown
    with pytest.raises(CaptureCorrupt, match="no migration from capture format 1.0"):
        chain.plan((1, 0))
    with pytest.raises(CaptureFormatTooNew):
        chain.plan((2, 0))
    with pytest.raises(CaptureCorrupt):
        chain.plan((0, 3))


def test_a_migration_that_fails_costs_the_record() -> None:
    def broken(record: list[Any]) -> list[Any] | None:
        if record[0] == 3:
            raise KeyError("oops")
        return record

    chain = MigrationChain(target=(1, 1), steps={(1, 0): Migration(record=broken)})
    data = craft_header() + craft_chunk(records_cbor([3, 0, "a"], [5, 1, "info", "b"]))
    reader = CaptureReader(io.BytesIO(data), migrations=chain)
    assert list(reader.records()) == [NoticeRecord(1, "info", "b")]
    assert "migrate" in reader.damage[0].reason

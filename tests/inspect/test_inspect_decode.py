"""Decoding records back into events: long lines in pieces, frames, lazy validation, and
request/response matching with out-of-order answers."""

from __future__ import annotations

from inspect_captures import MS, OU, PLUGIN, response
from utauproxy.check import check_records
from utauproxy.inspect.correlate import Outcome, RequestTracker
from utauproxy.inspect.decode import DecodedMessage, LongLine, OtherRecord, decode_records, revalidate
from utauproxy.inspect.timeline import Timeline, raw_bytes
from utauproxy.protocol.events import Malformed, Message
from utauproxy.records import MarkRecord, MessageFlags, MessageRecord, Record

C = MessageFlags.CONTINUED


def test_long_line_pieces_are_joined_even_when_interleaved() -> None:
    records: list[Record] = [
        MessageRecord(1 * MS, 1, OU, b"notification:updateUstx {\"ustx\":\"", C),
        MessageRecord(2 * MS, 1, PLUGIN, b"notification:ping {}"),
        MessageRecord(3 * MS, 2, OU, b"request:a:init {}"),
        MessageRecord(4 * MS, 1, OU, b"x" * 100, C),
        MarkRecord(5 * MS, "here"),
        MessageRecord(6 * MS, 1, OU, b"\"}"),
    ]
    items = list(decode_records(records))
    assert [type(i).__name__ for i in items] == ["DecodedMessage", "DecodedMessage", "OtherRecord",
                                                  "DecodedMessage"]
    long_line = items[-1]
    assert isinstance(long_line, DecodedMessage) and isinstance(long_line.event, LongLine)
    assert long_line.index == 0 and long_line.ts_ns == 6 * MS and long_line.event.pieces == 3
    assert long_line.event.header is not None and long_line.event.header.kind == "updateUstx"
    assert long_line.wire_bytes == b'notification:updateUstx {"ustx":"' + b"x" * 100 + b'"}\n'
    assert {f.rule for f in check_records(records).findings} == {"long-line"}


def test_unfinished_long_line_is_reported_unterminated() -> None:
    records = [MessageRecord(1 * MS, 1, OU, b"notification:updateUstx {", C)]
    (item,) = decode_records(records)
    assert isinstance(item, DecodedMessage) and isinstance(item.event, LongLine)
    assert not item.event.terminated
    assert item.wire_bytes == b"notification:updateUstx {"


def test_lazy_lines_are_validated_on_demand() -> None:
    big_bad = b'notification:updateTracks {"tracks":[' + b" " * 100 + b"}"
    (lazy,) = decode_records([MessageRecord(0, 1, OU, big_bad)], lazy_above=64)
    assert isinstance(lazy, DecodedMessage) and isinstance(lazy.event, Message) and not lazy.validated
    checked = revalidate(lazy)
    assert isinstance(checked.event, Malformed) and checked.validated
    timeline = Timeline()
    (line,) = timeline.lines([lazy])
    assert "malformed updateTracks" in timeline.render(line)
    assert timeline.as_json(line)["type"] == "malformed"
    assert raw_bytes(line) == big_bad + b"\n"


def test_no_lf_line_keeps_its_bytes() -> None:
    record = MessageRecord(0, 1, PLUGIN, b'response:x {"success": true', MessageFlags.NO_LF)
    (item,) = decode_records([record])
    assert isinstance(item, DecodedMessage) and not item.terminated
    assert item.wire_bytes == b'response:x {"success": true'


def test_out_of_order_responses_match_by_id_and_connection() -> None:
    records = [
        MessageRecord(1 * MS, 1, OU, b"request:a:init {}"),
        MessageRecord(2 * MS, 1, OU, b"request:b:updatePartLayout {\"parts\":[]}"),
        MessageRecord(3 * MS, 2, OU, b"request:b:init {}"),
        MessageRecord(5 * MS, 1, PLUGIN, response("b", {"missingAudios": []})),
        MessageRecord(9 * MS, 1, PLUGIN, response("a", {"ustx": ""})),
        MessageRecord(10 * MS, 1, PLUGIN, response("a", {"ustx": ""})),
        MessageRecord(11 * MS, 2, PLUGIN, response("zzz", {"ustx": ""})),
    ]
    tracker = RequestTracker()
    outcomes = []
    for item in decode_records(records):
        assert isinstance(item, DecodedMessage) and isinstance(item.event, Message)
        if item.event.header.type.value == "request":
            tracker.request(item)
        else:
            answer = tracker.response(item)
            kind = answer.request.kind if answer.request else None
            outcomes.append((answer.outcome, kind, answer.latency_ns))
    assert outcomes == [
        (Outcome.MATCHED, "updatePartLayout", 3 * MS),
        (Outcome.MATCHED, "init", 8 * MS),
        (Outcome.DUPLICATE, "init", 9 * MS),
        (Outcome.ORPHAN, None, None),
    ]
    assert [(p.conn, p.kind) for p in tracker.pending()] == [(2, "init")]
    assert [p.kind for p in tracker.close_connection(2)] == ["init"] and tracker.pending() == []


def test_other_records_keep_their_index() -> None:
    items = list(decode_records([MarkRecord(0, "a"), MessageRecord(1, 1, OU, b"close")]))
    assert isinstance(items[0], OtherRecord) and items[0].index == 0
    assert isinstance(items[1], DecodedMessage) and items[1].index == 1

"""Trimming: each option keeps exactly the records it should, openings survive, and the
dropped counts are right. Pure: hand-built records."""

from __future__ import annotations

from dataclasses import dataclass

from utauproxy.bundle.trim import (
    NS,
    TrimResult,
    TrimSpec,
    keep_all_plan,
    needs_plan,
    plan_trim,
    trim_records,
)
from utauproxy.records import (
    ConnectionRecord,
    ConnEvent,
    Direction,
    DiscoveryEvent,
    DiscoveryRecord,
    MarkRecord,
    MessageFlags,
    MessageRecord,
    NoticeRecord,
    Record,
)

OU, PLUGIN = Direction.OU_TO_PLUGIN, Direction.PLUGIN_TO_OU


def at(seconds: float) -> int:
    return round(seconds * NS)


def msg(t: float, conn: int, direction: Direction, raw: bytes, flags: MessageFlags = MessageFlags.NONE) -> MessageRecord:
    return MessageRecord(at(t), conn, direction, raw, flags)


def connection(start: float, conn: int, end: float) -> list[Record]:
    """open, an early ping, init and its response, then one update a second, then close."""
    records: list[Record] = [
        ConnectionRecord(at(start), conn, ConnEvent.OPEN),
        msg(start + 0.1, conn, OU, b"request:id-%d:init {}" % conn),
        msg(start + 0.15, conn, PLUGIN, b"notification:ping {}"),
        msg(start + 0.2, conn, PLUGIN, b'response:id-%d {"success": true, "data": {"ustx": ""}}' % conn),
    ]
    t = start + 1
    while t < end:
        records.append(msg(t, conn, OU, b'notification:updateUstx {"ustx":"t%d"}' % round(t)))
        t += 1
    records.append(ConnectionRecord(at(end), conn, ConnEvent.CLOSED))
    return records


@dataclass
class Capture:
    records: list[Record]

    @property
    def end(self) -> int:
        return max(r.ts_ns for r in self.records)

    def trim(self, spec: TrimSpec) -> tuple[list[Record], TrimResult]:
        plan = plan_trim(self.records, spec, self.end)
        return trim_records(self.records, plan)


def capture() -> Capture:
    records: list[Record] = [*connection(0.0, 1, 100.0), *connection(50.0, 2, 80.0),
                             DiscoveryRecord(at(10), DiscoveryEvent.FOUND, {"name": "x"}),
                             DiscoveryRecord(at(60), DiscoveryEvent.RENAMED, {"name": "y"}),
                             MarkRecord(at(70), "here"), NoticeRecord(at(20), "warning", "slow"),
                             # a long line cut into pieces across the 30 s boundary
                             msg(29.9, 1, PLUGIN, b"notification:big {\"a\":\"", MessageFlags.CONTINUED),
                             msg(30.1, 1, PLUGIN, b"xxxx\"}")]
    records.sort(key=lambda r: r.ts_ns)
    return Capture(records)


def ids(records: list[Record]) -> set[int]:
    return {id(r) for r in records}


def test_from_to_keeps_the_window_plus_the_openings_of_kept_connections() -> None:
    cap = capture()
    kept, result = cap.trim(TrimSpec(start_s=30, end_s=60))
    in_window = [r for r in cap.records if at(30) <= r.ts_ns <= at(60)
                 and not (isinstance(r, MessageRecord) and r.ts_ns == at(30.1))]  # piece of a line begun before
    openings = [r for r in cap.records if r.ts_ns in (at(0), at(0.1), at(0.2))]
    assert ids(kept) == ids(in_window) | ids(openings)
    assert [r.ts_ns for r in kept] == sorted(r.ts_ns for r in kept)  # file order kept
    assert not any(r.ts_ns == at(0.15) for r in kept)  # the early ping is not part of the opening
    assert result.opening_records == 3
    dropped = [r for r in cap.records if id(r) not in ids(kept)]
    assert result.records_dropped == len(dropped) and result.records_kept == len(kept)
    messages = [r for r in dropped if isinstance(r, MessageRecord)]
    assert result.bytes_dropped == sum(r.wire_len for r in messages)
    assert result.messages_dropped == sum(1 for r in messages if not r.flags & MessageFlags.CONTINUED)
    assert result.dropped_spans == ((at(0.15), at(29.9)), (at(61), at(100)))
    assert result.connections_dropped == ()
    assert any("0:00:29.900" in line for line in result.describe())


def test_a_connection_outside_the_window_is_dropped_with_its_opening() -> None:
    cap = capture()
    kept, result = cap.trim(TrimSpec(start_s=85))
    assert {r.conn for r in kept if isinstance(r, MessageRecord | ConnectionRecord)} == {1}
    assert result.connections_dropped == (2,)
    assert not any(isinstance(r, MarkRecord | DiscoveryRecord | NoticeRecord) for r in kept)


def test_last_counts_back_from_the_last_record() -> None:
    cap = capture()
    kept, result = cap.trim(TrimSpec(last_s=10))
    assert result.window.lo_ns == at(90)
    later = [r for r in cap.records if r.ts_ns >= at(90)]
    openings = [r for r in cap.records if r.ts_ns in (at(0), at(0.1), at(0.2))]
    assert ids(kept) == ids(later) | ids(openings)


def test_connection_filter_keeps_that_connection_and_the_shared_records() -> None:
    cap = capture()
    kept, result = cap.trim(TrimSpec(connections=frozenset({2})))
    conn_records = [r for r in kept if isinstance(r, MessageRecord | ConnectionRecord)]
    assert conn_records and all(r.conn == 2 for r in conn_records)
    shared = [r for r in cap.records if isinstance(r, DiscoveryRecord | MarkRecord | NoticeRecord)]
    assert ids(shared) <= ids(kept)
    assert len(conn_records) == sum(1 for r in cap.records if isinstance(r, MessageRecord | ConnectionRecord)
                                    and r.conn == 2)
    assert result.connections_dropped == (1,)
    assert result.opening_records == 0  # nothing kept from outside the (unbounded) window


def test_until_is_an_upper_bound_like_to() -> None:
    cap = capture()
    kept_until, _ = cap.trim(TrimSpec(until_ns=at(40)))
    kept_to, _ = cap.trim(TrimSpec(end_s=40))
    assert ids(kept_until) == ids(kept_to)
    assert max(r.ts_ns for r in kept_until) <= at(40)
    both, _ = cap.trim(TrimSpec(end_s=60, until_ns=at(40)))
    assert ids(both) == ids(kept_to)


def test_a_long_line_begun_in_the_window_is_kept_whole() -> None:
    cap = capture()
    kept, _ = cap.trim(TrimSpec(start_s=29.5, end_s=30.0))  # the line starts at 29.9, ends at 30.1
    pieces = [r for r in kept if isinstance(r, MessageRecord) and r.direction is PLUGIN and r.conn == 1
              and r.ts_ns in (at(29.9), at(30.1))]
    assert len(pieces) == 2


def test_no_options_keep_everything() -> None:
    cap = capture()
    kept, result = cap.trim(TrimSpec())
    assert kept == cap.records and not result.dropped_anything and result.describe() == []


def test_the_first_pass_is_skipped_only_when_it_cannot_matter() -> None:
    cap = capture()
    for spec in (TrimSpec(), TrimSpec(end_s=40), TrimSpec(until_ns=at(60))):
        assert not needs_plan(spec, cap.end)
        quick, _ = trim_records(cap.records, keep_all_plan(spec, cap.end))
        planned, _ = trim_records(cap.records, plan_trim(cap.records, spec, cap.end))
        assert quick == planned
    for spec in (TrimSpec(start_s=1), TrimSpec(last_s=5), TrimSpec(connections=frozenset({1}))):
        assert needs_plan(spec, cap.end)


def test_a_trimmed_connection_still_starts_with_its_init_exchange_for_replay() -> None:
    from utauproxy.replay.script import build_script

    cap = capture()
    kept, _ = cap.trim(TrimSpec(start_s=40, end_s=45))
    script = build_script(kept)
    for connection in script.connections:
        labels = [m.label for m in connection.messages]
        assert labels[:2] == ["request:init", "response:init"], labels
        assert labels[2:] and all(label == "notification:updateUstx" for label in labels[2:])

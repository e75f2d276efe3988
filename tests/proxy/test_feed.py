"""RecordingFeed (proxy/feed.py): chunks become records per connection and direction, lost
stretches become a cut line plus a GapRecord and framing starts again at the next line, and the
connection counters follow the connection records."""

from __future__ import annotations

from utauproxy.proxy.feed import RecordingFeed
from utauproxy.proxy.tap import TrafficStats
from utauproxy.records import ConnectionRecord, ConnEvent, Direction, GapRecord, MessageFlags, MessageRecord, Record

OU, PLUGIN = Direction.OU_TO_PLUGIN, Direction.PLUGIN_TO_OU


def _feed() -> tuple[RecordingFeed, list[Record]]:
    records: list[Record] = []
    return RecordingFeed(records.append, TrafficStats()), records


def test_chunks_become_messages_per_connection_and_direction() -> None:
    feed, records = _feed()
    feed.chunk(1, 1, OU, b"request:a:init {}\nrequest:b:ini")
    feed.chunk(2, 2, OU, b"request:c:init {}\n")
    feed.chunk(3, 1, PLUGIN, b"response:a {}\n")
    feed.chunk(4, 1, OU, b"t {}\n")
    feed.finish(5, 1, OU)
    messages = [(r.ts_ns, r.conn, r.direction, r.raw) for r in records if isinstance(r, MessageRecord)]
    assert messages == [(1, 1, OU, b"request:a:init {}"), (2, 2, OU, b"request:c:init {}"),
                        (3, 1, PLUGIN, b"response:a {}"), (4, 1, OU, b"request:b:init {}")]
    assert feed.stats.wire_bytes[OU] == 18 + 13 + 18 + 5


def test_a_loss_inside_a_line_cuts_it_records_the_gap_and_skips_to_the_next_line() -> None:
    feed, records = _feed()
    feed.chunk(1, 1, PLUGIN, b"response:a {}\nresponse:b {\"dat")
    feed.lost(2, 1, PLUGIN, 5000, 3, False)
    feed.chunk(3, 1, PLUGIN, b"rest of a lost line\nresponse:c {}\n")
    feed.chunk(4, 1, OU, b"request:d:x {}\n")  # the other direction never noticed
    assert [(type(r).__name__, getattr(r, "raw", None), getattr(r, "flags", None)) for r in records] == [
        ("MessageRecord", b"response:a {}", MessageFlags.NONE),
        ("MessageRecord", b'response:b {"dat', MessageFlags.NO_LF),
        ("GapRecord", None, None),
        ("MessageRecord", b"response:c {}", MessageFlags.NONE),
        ("MessageRecord", b"request:d:x {}", MessageFlags.NONE),
    ]
    gap = records[2]
    assert isinstance(gap, GapRecord) and (gap.lost_bytes, gap.lost_messages, gap.ts_ns) == (5000, 3, 2)
    assert feed.stats.wire_bytes[PLUGIN] == 30 + 5000 + 34


def test_a_loss_that_ended_on_a_line_end_keeps_the_next_line_whole() -> None:
    feed, records = _feed()
    feed.lost(1, 1, OU, 100, 1, True)
    feed.chunk(2, 1, OU, b"request:e:init {}\n")
    assert [r.raw for r in records if isinstance(r, MessageRecord)] == [b"request:e:init {}"]


def test_connections_are_counted_from_their_records() -> None:
    feed, _ = _feed()
    feed.record(ConnectionRecord(1, 1, ConnEvent.OPEN))
    feed.record(ConnectionRecord(2, 2, ConnEvent.OPEN))
    feed.record(ConnectionRecord(3, 3, ConnEvent.REFUSED))
    feed.record(ConnectionRecord(4, 1, ConnEvent.CLOSED))
    assert (feed.stats.connections_open, feed.stats.connections_total) == (1, 2)
    feed.record(ConnectionRecord(5, 1, ConnEvent.CLOSED))  # twice: counted once
    assert feed.stats.connections_open == 1

"""CaptureReader.follow: a capture read while it is written, in one pass."""

from __future__ import annotations

import threading
from pathlib import Path

from utauproxy.capture.reader import CaptureReader
from utauproxy.capture.writer import CaptureWriter
from utauproxy.records import CaptureHeader, Direction, MessageRecord, Record

HEADER = CaptureHeader(1, 0, "test", "2026-01-01T00:00:00Z", "test", "auto")
PROJECT = b"".join(b"  - position: %d\n    lyric: a\n" % i for i in range(4000))


def _messages(n: int) -> list[MessageRecord]:
    # Big, nearly identical payloads: stored as deltas against keys in earlier chunks.
    return [MessageRecord(i, 1, Direction.OU_TO_PLUGIN,
                          b'notification:updateUstx {"ustx":"' + PROJECT + b"edit %d" % i + b'"}')
            for i in range(n)]


def test_follow_yields_what_a_live_writer_appends_and_stops_at_the_footer(tmp_path: Path) -> None:
    path = tmp_path / "live.utpcap"
    messages = _messages(60)
    writer = CaptureWriter.create(path, HEADER, chunk_max_bytes=300_000)
    step = threading.Event()

    def write_slowly() -> None:
        for record in messages:
            writer.write(record)
            step.wait(0.002)
        writer.close()

    thread = threading.Thread(target=write_slowly)
    thread.start()
    followed: list[Record] = []
    with CaptureReader.open(path) as reader:
        followed.extend(reader.follow(poll_s=0.005))
        assert not reader.damage
    thread.join()
    assert followed == messages


def test_follow_waits_for_a_chunk_that_is_only_half_written(tmp_path: Path) -> None:
    whole = tmp_path / "whole.utpcap"
    with CaptureWriter.create(whole, HEADER, chunk_max_bytes=300_000) as writer:
        for record in _messages(20):
            writer.write(record)
    data = whole.read_bytes()
    live = tmp_path / "live.utpcap"
    live.write_bytes(data[: len(data) // 2])  # ends inside an item
    polls: list[int] = []

    def sleep(_: float) -> None:
        polls.append(1)
        if len(polls) == 3:  # the writer's next write arrives
            with live.open("ab") as f:
                f.write(data[len(data) // 2 :])

    with CaptureReader.open(live) as reader:
        followed = list(reader.follow(poll_s=0, sleep=sleep))
        assert not reader.damage
    assert followed == _messages(20)

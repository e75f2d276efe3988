"""`show --follow`: a capture that is still being written is shown as it grows, and the
command ends when the recorder closes the file."""

from __future__ import annotations

import threading
from pathlib import Path

from click.testing import CliRunner

from inspect_captures import fixed_header, p6_session
from utauproxy.capture import CaptureWriter
from utauproxy.cli.show import follow_records, show


class Recorder:
    """Writes a capture in two flushed halves on a thread; the second half only after the
    reader has seen the first (an Event, not a sleep)."""

    def __init__(self, path: Path) -> None:
        self.records = p6_session()
        self.half = len(self.records) // 2
        self.writer = CaptureWriter.create(path, fixed_header())
        for record in self.records[: self.half]:
            self.writer.write(record)
        self.writer.flush()
        self.first_half_seen = threading.Event()
        self.thread = threading.Thread(target=self._rest)

    def _rest(self) -> None:
        assert self.first_half_seen.wait(60)
        for record in self.records[self.half :]:
            self.writer.write(record)
        self.writer.close()


def test_follow_yields_every_record_once_and_stops_at_the_footer(tmp_path: Path) -> None:
    path = tmp_path / "live.utpcap"
    recorder = Recorder(path)
    recorder.thread.start()
    seen = []
    for record in follow_records(path, poll_s=0.01):
        seen.append(record)
        if len(seen) == recorder.half:
            recorder.first_half_seen.set()
    recorder.thread.join()
    assert seen == recorder.records


def test_show_follow_prints_the_whole_session(tmp_path: Path) -> None:
    path = tmp_path / "live.utpcap"
    recorder = Recorder(path)
    recorder.first_half_seen.set()  # the CLI cannot signal; the writer may race ahead
    recorder.thread.start()
    result = CliRunner().invoke(show, [str(path), "--follow", "--poll", "0.01"])
    recorder.thread.join()
    assert result.exit_code == 0, result.output
    followed = result.output
    plain = CliRunner().invoke(show, [str(path)]).output
    assert followed == plain

"""Both captures of a diff summarised side by side (sidebyside.py), their audio started ahead
once for both (lookahead.py): the summaries, the report and its damage figures are the ones
reading the captures one after the other gives, however the turns fall."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from utauproxy.capture import CaptureReader, CaptureWriter
from utauproxy.diff import DiffOptions, diff_captures, summarize_capture
from utauproxy.diff import engine, sidebyside
from utauproxy.diff.facts import FactsCache
from utauproxy.diff.junit import render_junit
from utauproxy.diff.lookahead import AudioAhead
from utauproxy.diff.sidebyside import summarize_pair
from utauproxy.diff.summary import CaptureSummary, decoded, facts_key
from utauproxy.errors import UtauproxyError
from utauproxy.inspect.audio import DigestsAhead
from utauproxy.inspect.decode import DecodedMessage
from utauproxy.peers.edits import SetLyric, apply_edit
from utauproxy.peers.project import Project, ProjectSpec, generate_project
from utauproxy.protocol.events import Message
from utauproxy.records import Record

from .sessions import default_render, header, synthetic_records, write_capture

SPEC = ProjectSpec(notes=12, tracks=2, parts_per_track=2, part_seconds=1.0, curve_points=4)


def _noisy(project: Project, index: int) -> bytes:
    """A part's render with noise after it: its payload is long enough to be digested ahead."""
    return default_render(project, index) + random.Random(index).randbytes(24_000)


def _records(projects: Sequence[Project], seed: int) -> list[Record]:
    return synthetic_records(projects, seed=seed, render=_noisy)


@pytest.fixture(scope="module")
def projects() -> list[Project]:
    project = generate_project(5, SPEC)
    first = apply_edit(project, SetLyric(1, 0, "ら"))
    return [project, first, apply_edit(first, SetLyric(0, 1, "り")), project]


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory, projects: list[Project]) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("sidebyside")
    return (write_capture(folder / "a.utpcap", _records(projects, 1)),
            write_capture(folder / "b.utpcap", _records(projects[1:], 2)))


def _in_turn(path_a: Path, path_b: Path) -> tuple[tuple[CaptureSummary, int], tuple[CaptureSummary, int]]:
    facts = FactsCache()
    return summarize_capture(path_a, facts), summarize_capture(path_b, facts)


@pytest.mark.parametrize("turn_bytes", [1, 3000, sidebyside.TURN_BYTES])
@pytest.mark.parametrize("order", ["ab", "ba", "aa"])
def test_summaries_side_by_side_are_the_ones_read_in_turn(captures: tuple[Path, Path], order: str,
                                                          turn_bytes: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sidebyside, "TURN_BYTES", turn_bytes)  # 1: a turn per message
    first, second = (captures["ab".index(name)] for name in order)
    together = summarize_pair(first, second)
    assert together == _in_turn(first, second)
    (summary_a, _), (summary_b, _) = together
    assert summary_a.audio and summary_b.audio and summary_a.messages and summary_b.messages


def test_a_report_reads_the_same_side_by_side_and_in_turn(captures: tuple[Path, Path],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = captures
    options = DiffOptions(examples=5)
    report = diff_captures(a, b, options)
    monkeypatch.setattr(engine, "summarize_pair", lambda x, y, facts: _in_turn(x, y))
    in_turn = diff_captures(a, b, options)
    assert report.as_dict() == in_turn.as_dict()
    assert report.render() == in_turn.render()
    assert render_junit(report) == render_junit(in_turn)
    assert not report.equivalent  # the edits are found, so there was something to get wrong


def _chunked(path: Path, records: Sequence[Record]) -> Path:
    """A capture with a chunk per record, so that damage to one chunk loses one record."""
    writer = CaptureWriter.create(path, header())
    for record in records:
        writer.write(record)
        writer.flush()
    writer.close()
    return path


def _damage(path: Path, chunk: int) -> None:
    with CaptureReader.open(path) as reader:
        assert reader.footer is not None
        offset = reader.footer.chunks[chunk].offset
    data = bytearray(path.read_bytes())
    data[offset + 8 : offset + 40] = b"\xde\xad" * 16
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damaged", ["a", "b"])
def test_damage_in_either_file_is_reported_as_when_read_in_turn(tmp_path: Path, projects: list[Project],
                                                                damaged: str) -> None:
    a = _chunked(tmp_path / "a.utpcap", _records(projects, 1))
    b = _chunked(tmp_path / "b.utpcap", _records(projects, 2))
    _damage(a if damaged == "a" else b, 5)
    together = summarize_pair(a, b)
    assert together == _in_turn(a, b)
    (_, damaged_a), (_, damaged_b) = together
    assert (damaged_a > 0, damaged_b > 0) == (damaged == "a", damaged == "b")
    report = diff_captures(a, b).as_dict()
    assert report["a"]["damaged_bytes"] == damaged_a and report["b"]["damaged_bytes"] == damaged_b


def test_an_unreadable_file_is_an_error_and_when_both_are_it_is_as_in_turn(
        tmp_path: Path, captures: tuple[Path, Path]) -> None:
    good = captures[0]
    bad_a, bad_b = tmp_path / "bad_a.utpcap", tmp_path / "bad_b.utpcap"
    bad_a.write_bytes(b"not a capture at all " * 10)
    bad_b.write_bytes(b"\x00" * 300)
    for first, second in [(good, bad_b), (bad_a, good), (bad_a, bad_b)]:
        with pytest.raises(UtauproxyError) as side_by_side:
            summarize_pair(first, second)
        with pytest.raises(UtauproxyError) as in_turn:
            _in_turn(first, second)
        assert type(side_by_side.value) is type(in_turn.value)
        assert str(side_by_side.value) == str(in_turn.value)


class _Counting(DigestsAhead):
    """Counts the payloads it was asked to start."""

    def __init__(self) -> None:
        super().__init__()
        self.started: list[bytes] = []

    def start(self, text: bytes | memoryview) -> None:
        self.started.append(bytes(text))
        super().start(text)


def test_items_come_out_in_order_with_their_keys_and_audio_is_started_once(captures: tuple[Path, Path]) -> None:
    path = captures[0]
    with CaptureReader.open(path) as reader:
        plain = list(decoded(reader.records()))
    facts = FactsCache()
    with _Counting() as digests:
        ahead = AudioAhead(facts, digests)
        with CaptureReader.open(path) as first, CaptureReader.open(path) as second:
            once = list(ahead.items(decoded(first.records())))
            started = len(digests.started)
            twice = list(ahead.items(decoded(second.records())))
    assert [item for item, _ in once] == plain and [item for item, _ in twice] == plain
    for item, key in once + twice:
        if isinstance(item, DecodedMessage) and isinstance(item.event, Message):
            assert key == facts_key(item.event, item.direction)
        else:
            assert key is None
    assert started > 0
    assert len(digests.started) == started  # the second read of the same payloads starts none
    assert len(set(digests.started)) == len(digests.started)

"""Diffs of real recordings: the recorder between the simulated OpenUtau and plugin."""

from __future__ import annotations

from pathlib import Path

import pytest

from utauproxy.capture import CaptureReader
from utauproxy.diff import DiffOptions, diff_captures
from utauproxy.peers.project import ProjectSpec
from utauproxy.peers.session import Scenario, SessionSpec, generate_session
from utauproxy.protocol.header import parse_header, split_line
from utauproxy.protocol.versions import ProtocolVersion as V
from utauproxy.records import MessageRecord

from .sessions import recorded_capture

# Edits further apart than P3's 5 s layout debounce (plus render latency), so P3 and P6 send
# the same messages and only the protocol differs (PROTOCOL.md §4: P4 cut it to 1 s).
SPEC = SessionSpec(edits=2, edit_gap=(9.0, 10.0), render_latency=(0.2, 0.5), first_edit_at=9.0,
                   project=ProjectSpec(notes=24, tracks=2, parts_per_track=1, curve_points=8,
                                       part_seconds=1.0))


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return generate_session(5, spec=SPEC)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("recorded")


@pytest.fixture(scope="module")
def p6_pair(folder: Path, scenario: Scenario) -> tuple[Path, Path]:
    return (recorded_capture(folder, "p6-first", V.P6, scenario, seed=1),
            recorded_capture(folder, "p6-second", V.P6, scenario, seed=2))


@pytest.fixture(scope="module")
def p3(folder: Path, scenario: Scenario) -> Path:
    return recorded_capture(folder, "p3", V.P3, scenario, seed=3)


def request_ids(path: Path) -> list[str]:
    with CaptureReader.open(path) as reader:
        headers = [parse_header(split_line(r.raw)[0]) for r in reader.records() if isinstance(r, MessageRecord)]
    return [h.id for h in headers if h.type.value == "request" and h.id]


def test_two_recordings_of_one_scenario_are_equivalent(p6_pair: tuple[Path, Path]) -> None:
    first, second = p6_pair
    ids_first, ids_second = request_ids(first), request_ids(second)
    assert ids_first and len(ids_first) == len(ids_second) and not set(ids_first) & set(ids_second)
    report = diff_captures(first, second)
    assert report.equivalent, report.render()
    assert report.identical >= 10 and report.noise["ids"] == 2 * len(ids_first)
    assert (report.a.version, report.b.version) == ("P6", "P6")


def test_strict_ids_and_timing_make_the_same_recordings_differ(p6_pair: tuple[Path, Path]) -> None:
    report = diff_captures(*p6_pair, DiffOptions(strict=frozenset({"ids"})))
    assert not report.equivalent
    assert {d.rule for d in report.differences} == {"ids"}
    assert {d.subject for d in report.differences} == {"request:init request id", "response:init request id",
                                                       "request:updatePartLayout request id",
                                                       "response:updatePartLayout request id"}


def test_p3_against_p6_shows_exactly_the_protocol_changes(p3: Path, p6_pair: tuple[Path, Path]) -> None:
    report = diff_captures(p3, p6_pair[0])
    assert (report.a.version, report.b.version) == ("P3", "P6")
    changes = {(c.feature, c.before, c.after) for c in report.protocol}
    assert changes == {("missing-type", "strings", "numbers"),
                       ("hash-sign", "unsigned uint32", "signed int32")}, report.render()
    # Nothing else: the hashes name the same audio, spelled the way each version spells them.
    assert not report.differences and report.only_a == report.only_b == 0, report.render()
    assert report.changed == 0 and not report.equivalent
    assert "protocol P3 → P6 (2 protocol changes)" in report.render()


def test_p5_hashes_differ_every_run_yet_name_the_same_audio(folder: Path, scenario: Scenario) -> None:
    first = recorded_capture(folder, "p5-first", V.P5, scenario, seed=4)
    second = recorded_capture(folder, "p5-second", V.P5, scenario, seed=5)
    report = diff_captures(first, second)
    assert report.equivalent, report.render()
    assert report.noise["hash-values"] > 0
    strict = diff_captures(first, second, DiffOptions(strict=frozenset({"hash-values"})))
    assert strict.differences and {d.rule for d in strict.differences} == {"hash-values"}
    assert all(d.note == "same samples under another hash" for d in strict.differences)

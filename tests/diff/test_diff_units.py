"""The pure pieces of the diff: rules, paths, audio verdicts, alignment, USTX pairing."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pytest

from utauproxy.diff import (
    DiffOptions,
    PathFilter,
    compare_audio,
    diff_captures,
    parse_no_ignore,
)
from utauproxy.diff.canon import normalize_hash
from utauproxy.diff.hashes import HashContext
from utauproxy.diff.layout import compare_layout
from utauproxy.diff.summary import CaptureSummary
from utauproxy.diff.ustx import compare_ustx
from utauproxy.diff.ustx_load import load_ustx
from utauproxy.records import (
    ConnectionRecord,
    ConnEvent,
    Direction,
    MessageRecord,
    Record,
)

from .sessions import write_capture

OU, PLUGIN = Direction.OU_TO_PLUGIN, Direction.PLUGIN_TO_OU
MS = 1_000_000


def stereo(seconds: float, amplitude: float = 0.25, period: int = 100) -> bytes:
    frames = round(seconds * 44100)
    values = [amplitude * math.sin(2 * math.pi * (n % period) / period) for n in range(frames)]
    return struct.pack(f"<{2 * frames}f", *(v for v in values for _ in range(2)))


# -- rules and paths ------------------------------------------------------------------------------


def test_no_ignore_accepts_names_lists_and_all_and_refuses_unknown_rules() -> None:
    assert parse_no_ignore(["ids", "timing,pings"]) == {"ids", "timing", "pings"}
    assert parse_no_ignore(["all"]) == {"ids", "timing", "pings", "json-format", "audio-encoding", "hash-values"}
    with pytest.raises(ValueError, match="unknown noise rule 'ustx'.*known: ids"):
        parse_no_ignore(["ustx"])


def test_ignore_paths_match_exactly_or_below_never_as_substrings() -> None:
    paths = PathFilter(["tracks[0]", "data.missingAudios", "ustx:voice_parts[*].notes[@480].lyric"])
    assert paths.ignores("tracks[0]") and paths.ignores("tracks[0].pan")
    assert not paths.ignores("tracks[01].pan") and not paths.ignores("tracks[1].pan")
    assert not paths.ignores("my.tracks[0]") and not paths.ignores("tracks[0]x")
    assert paths.ignores("data.missingAudios[3]") and not paths.ignores("data.missingAudiosX")
    assert paths.ignores("ustx:voice_parts[2].notes[@480].lyric")
    assert not paths.ignores("ustx:voice_parts[2].notes[@4800].lyric")
    assert not PathFilter([])


def test_hashes_normalise_across_signed_unsigned_and_string_spellings() -> None:
    assert normalize_hash("3664817106") == normalize_hash(-630150190) == normalize_hash(3664817106)
    assert normalize_hash("18446744073079401426") == 18446744073079401426  # 64-bit stays itself
    assert normalize_hash(True) is None and normalize_hash("12a") is None and normalize_hash(1.5) is None


# -- audio ------------------------------------------------------------------------------------------


def test_audio_verdicts_say_identical_how_much_longer_and_how_loud() -> None:
    base = stereo(0.5)
    assert compare_audio(base, base).text == "identical"
    quieter = struct.pack(f"<{len(base) // 4}f", *(x * 0.999 for x in struct.unpack(f"<{len(base) // 4}f", base)))
    verdict = compare_audio(base, quieter)
    # The difference is 0.1% of a 0.25 sine: RMS 0.25e-3/sqrt(2), i.e. about -75 dB.
    assert verdict.text == "same length, −75 dB RMS difference"
    assert verdict.max_difference == pytest.approx(0.25e-3, rel=0.01)
    longer = base + stereo(0.35, amplitude=0.0)
    assert compare_audio(base, longer).text == "0.35 s longer"
    assert compare_audio(longer, base).text == "0.35 s shorter"
    assert compare_audio(base, stereo(0.6, period=90)).text.startswith("0.10 s longer, −")


# -- USTX as a project ------------------------------------------------------------------------------

USTX = """name: Song
bpm: 120
tracks:
- track_name: main
  pan: 0
  volume: 0
voice_parts:
- name: A
  track_no: 0
  position: 0
  duration: 1920
  notes:
  - {position: 0, duration: 480, tone: 60, lyric: a, pitch: {data: [{x: -40, y: 0}], snap_first: true}}
  - {position: 480, duration: 480, tone: 62, lyric: i}
  - {position: 960, duration: 480, tone: 64, lyric: u}
- name: B
  track_no: 0
  position: 3840
  duration: 960
  notes:
  - {position: 0, duration: 960, tone: 67, lyric: e}
wave_parts: []
"""


def test_notes_pair_by_position_so_a_removed_note_is_one_difference() -> None:
    a = load_ustx(USTX)
    b = load_ustx(USTX.replace("  - {position: 480, duration: 480, tone: 62, lyric: i}\n", "")
                  .replace("{x: -40, y: 0}", "{x: -40, y: 5}"))
    assert a is not None and b is not None
    found = {(f.subject, f.a, f.b) for f in compare_ustx(a, b, "ustx:")}
    assert found == {("ustx:voice_parts[0].notes[@480]", '"i" tone 62, 480 ticks', "(absent)"),
                     ("ustx:voice_parts[0].notes[@0].pitch.data[0].y", "0", "5")}


def test_parts_pair_by_track_and_position_and_track_fields_share_subjects() -> None:
    a = load_ustx(USTX)
    moved = USTX.replace("position: 3840", "position: 5760").replace("track_name: main", "track_name: lead")
    b = load_ustx(moved.replace("name: Song", "name: Song 2"))
    assert a is not None and b is not None
    found = {(f.subject, f.a, f.b) for f in compare_ustx(a, b, "data.ustx:")}
    assert found == {("ustx:voice_parts[1].position", "3840", "5760"),
                     ("track[0].name", '"main"', '"lead"'),
                     ("ustx:name", '"Song"', '"Song 2"')}


def test_yaml_plain_off_stays_a_string_like_in_openutau() -> None:
    doc = load_ustx("name: x\noptions:\n- off\n- on\nflag: true\n")
    assert doc == {"name": "x", "options": ["off", "on"], "flag": True}


# -- alignment and noise, on hand-built captures -----------------------------------------------------


def conn(*messages: tuple[int, Direction, bytes]) -> list[Record]:
    records: list[Record] = [ConnectionRecord(0, 1, ConnEvent.OPEN)]
    records += [MessageRecord(ts * MS, 1, direction, raw) for ts, direction, raw in messages]
    return records


INIT_A = b"request:6f1c2d3e-0a4b-4c5d-9e8f-001122334455:init {}"
INIT_B = b"request:0b1c2d3e-0a4b-4c5d-9e8f-001122334455:init {}"
TRACKS_OU = b'notification:updateTracks {"tracks":[{"name":"a","volume":1500.0,"pan":0.0}]}'
TRACKS_REORDERED = b'notification:updateTracks {"tracks": [{"pan": 0, "name": "a", "volume": 1500}]}'
LAYOUT = b'request:%s:updatePartLayout {"parts":[]}'


def test_out_of_order_answers_pings_and_formatting_are_noise(tmp_path: Path) -> None:
    id1, id2 = b"11111111-0000-4000-8000-000000000000", b"22222222-0000-4000-8000-000000000000"
    id3, id4 = b"33333333-0000-4000-8000-000000000000", b"44444444-0000-4000-8000-000000000000"
    a = write_capture(tmp_path / "a.utpcap", conn(
        (1, OU, INIT_A), (2, PLUGIN, b"notification:ping {}"),
        (3, PLUGIN, b'response:6f1c2d3e-0a4b-4c5d-9e8f-001122334455 {"success": true, "data": {"ustx": ""}}'),
        (4, OU, TRACKS_OU), (5, OU, LAYOUT % id1), (6, OU, b"request:%s:unknownKind {}" % id2),
        (7, PLUGIN, b'response:%s {"success": true, "data": {"missingAudios": []}}' % id1),
        (8, PLUGIN, b'response:%s {"success": false, "error": "Unknown request type"}' % id2)))
    b = write_capture(tmp_path / "b.utpcap", conn(
        (1, OU, INIT_B),
        (30, PLUGIN, b'response:0b1c2d3e-0a4b-4c5d-9e8f-001122334455 {"success": true, "data": {"ustx": ""}}'),
        (31, PLUGIN, b"notification:ping {}"), (32, PLUGIN, b"notification:ping {}"),
        (40, OU, TRACKS_REORDERED), (50, OU, LAYOUT % id3), (51, OU, b"request:%s:unknownKind {}" % id4),
        (52, PLUGIN, b'response:%s {"success": false, "error": "Unknown request type"}' % id4),
        (53, PLUGIN, b'response:%s {"success": true, "data": {"missingAudios": []}}' % id3)))
    report = diff_captures(a, b)
    assert report.equivalent, report.render()
    assert report.identical == 7
    assert report.noise == {"ids": 6, "pings": 1, "json-format": 1}
    strict = diff_captures(a, b, DiffOptions(strict=frozenset({"json-format", "pings", "timing"}),
                                             time_tolerance_s=0.01))
    assert {d.subject for d in strict.differences} == {
        "notification:updateTracks formatting", "pings plugin>ou",
        "response:init time", "notification:updateTracks time", "request:updatePartLayout time",
        "request:unknownKind time", "response:updatePartLayout time", "response:unknownKind time"}


def test_an_extra_message_is_only_in_b_and_the_rest_still_pairs(tmp_path: Path) -> None:
    ustx = b'notification:updateUstx {"ustx":"name: x\\n"}'
    a = write_capture(tmp_path / "a.utpcap", conn((1, OU, INIT_A), (2, OU, ustx), (3, OU, TRACKS_OU)))
    b = write_capture(tmp_path / "b.utpcap", conn((1, OU, INIT_B), (2, OU, ustx), (3, OU, b"close"),
                                                  (4, OU, TRACKS_OU)))
    report = diff_captures(a, b)
    assert (report.identical, report.changed, report.only_a, report.only_b) == (3, 0, 0, 1)
    [extra] = report.one_sided
    assert (extra.side, extra.label, extra.count) == ("B", "close", 1)
    assert "1 only in B" in report.render()


def test_layout_parts_pair_by_track_and_time_so_a_missing_part_is_one_difference() -> None:
    hashes = HashContext(CaptureSummary("a"), CaptureSummary("b"), DiffOptions())
    parts = [{"trackNo": 0, "startMs": 0.0, "endMs": 1000.0, "audioHash": 1},
             {"trackNo": 1, "startMs": 250.0, "endMs": 1500.0, "audioHash": 2},
             {"trackNo": 2, "startMs": 0.0, "endMs": 800.0, "audioHash": 3}]
    later = [dict(parts[0]), {**parts[2], "endMs": 900.0}]  # part 1 not rendered yet; part 2 longer
    found = {(f.subject, f.a, f.b) for f in compare_layout(parts, later, hashes)}
    assert found == {("layout parts[t1@250]", "track 1, 250.0–1500.0 ms", "(absent)"),
                     ("layout parts[t2@0].endMs", "800", "900")}

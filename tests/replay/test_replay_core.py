"""The pure core of replay: scripts from records, id rewriting, structural comparison, the
matcher's verdicts, noise rules, the schedule, and the report renderings. No sockets."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
import zstandard

from utauproxy.protocol.audio import encode_audio_payload
from utauproxy.records import ConnectionRecord, ConnEvent, Direction, MessageFlags, MessageRecord, Record
from utauproxy.replay.compare import compare_payloads
from utauproxy.replay.ids import IdMap, with_id
from utauproxy.replay.matcher import Arrival, Matcher
from utauproxy.replay.plan import plan_outgoing
from utauproxy.replay.render import render_human, render_junit, to_json
from utauproxy.replay.report import DivergenceKind, ReplayReport
from utauproxy.replay.rules import RuleSet, parse_rules
from utauproxy.replay.schedule import Pace, parse_speed, schedule_offsets
from utauproxy.replay.script import Role, build_script

OU, PL = Direction.OU_TO_PLUGIN, Direction.PLUGIN_TO_OU
RID = "6f1c2d3e-0a4b-4c5d-9e8f-001122334455"
LID = "1b9d0000-0000-4000-8000-000000000001"
SAMPLES = b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x3e\x00\x00\x80\xbe\x00\x00\x00\x3f\x00\x00\x00\xbf"
USTX = "name: New Project\ntracks:\n- track_name: main\n  volume: 0\n"


def msg(ms: int, direction: Direction, raw: bytes, flags: MessageFlags = MessageFlags.NONE) -> MessageRecord:
    return MessageRecord(ms * 1_000_000, 1, direction, raw, flags)


def session() -> list[Record]:
    """A P6 exchange shaped like PROTOCOL.md §3.6's "typical exchange"."""
    return [
        ConnectionRecord(0, 1, ConnEvent.OPEN, detail={"entry_name": "Vocal"}),
        msg(1, OU, f"request:{RID}:init {{}}".encode()),
        msg(2, PL, b"notification:ping {}"),
        msg(3, PL, f'response:{RID} {{"success": true, "data": {{"ustx": {json.dumps(USTX)}}}}}'.encode()),
        msg(1000, OU, b'notification:updateUstx {"ustx":' + json.dumps(USTX).encode() + b"}"),
        msg(1001, OU, b'notification:updateTracks {"tracks":[{"name":"main","volume":0.0,"pan":0.0}]}'),
        msg(1002, OU, b'request:aaaa:updatePartLayout {"parts":[{"trackNo":0,"startMs":0.0,"endMs":0.07,"audioHash":-630150190}]}'),
        msg(1010, PL, b'response:aaaa {"success": true, "data": {"missingAudios": [-630150190]}}'),
        msg(1020, OU, b'notification:updateAudio {"audios":{"-630150190":"KLUv/SAYwQAAAAAAAAAAAAAAAIA+AACAvgAAAD8AAAC/"}}'),
        ConnectionRecord(2000, 1, ConnEvent.EOF, OU),
    ]


def test_script_pairs_responses_with_requests_and_classifies_pings() -> None:
    script = build_script(session())
    (conn,) = script.connections
    labels = [m.label for m in conn.messages]
    assert labels == ["request:init", "notification:ping", "response:init", "notification:updateUstx",
                      "notification:updateTracks", "request:updatePartLayout", "response:updatePartLayout",
                      "notification:updateAudio"]
    assert conn.messages[2].answers == 0 and conn.messages[6].answers == 5
    assert conn.messages[1].role is Role.PING and conn.ended_by is OU
    assert script.plugin_name == "Vocal" and conn.messages[3].ts_ns == 1_000_000_000


def test_continued_pieces_are_joined_into_one_message() -> None:
    records: list[Record] = [msg(1, OU, b'notification:updateUstx {"us', MessageFlags.CONTINUED),
                             msg(2, OU, b'tx":"a"}')]
    (conn,) = build_script(records).connections
    assert [m.raw for m in conn.messages] == [b'notification:updateUstx {"ustx":"a"}']


def test_id_rewriting_touches_only_the_header() -> None:
    raw = f'response:{RID} {{"success": true, "data": {{"ustx": "response:{RID}"}}}}'.encode()
    assert with_id(raw, LID) == f'response:{LID} {{"success": true, "data": {{"ustx": "response:{RID}"}}}}'.encode()
    assert with_id(f"request:{RID}:init {{}}".encode(), LID) == f"request:{LID}:init {{}}".encode()
    assert with_id(b"notification:ping {}", LID) == b"notification:ping {}"


def test_number_formatting_and_key_order_are_noise_but_types_are_not() -> None:
    strict = RuleSet()
    assert compare_payloads(b'{"a":1500.0,"b":[1,2]}', b'{"b": [1, 2], "a": 1500}', strict) == []
    (diff,) = compare_payloads(b'{"missingAudios":["3664817106"]}', b'{"missingAudios":[3664817106]}', strict)
    assert diff.path == "missingAudios[0]"
    (diff,) = compare_payloads(b'{"ok":true}', b'{"ok":1}', strict)
    assert diff.path == "ok"


def test_ustx_is_compared_as_yaml_with_a_path_into_the_project() -> None:
    left = json.dumps({"ustx": USTX}).encode()
    reformatted = json.dumps({"ustx": "\ufeffname: 'New Project'\ntracks: [{track_name: main, volume: 0}]\n"}).encode()
    assert compare_payloads(left, reformatted, RuleSet()) == []
    louder = json.dumps({"ustx": USTX.replace("volume: 0", "volume: 3")}).encode()
    (diff,) = compare_payloads(left, louder, RuleSet())
    assert diff.path == "ustx:tracks[0].volume" and (diff.expected, diff.actual) == ("0", "3")
    assert compare_payloads(left, louder, parse_rules(["ustx"])) == []


def test_audio_is_compared_by_decoded_samples_not_compressed_bytes() -> None:
    level3 = encode_audio_payload(SAMPLES, "zstd")
    import base64
    level19 = base64.b64encode(zstandard.ZstdCompressor(level=19, write_checksum=True).compress(SAMPLES)).decode()
    assert level3 != level19
    payload = '{{"audios":{{"-630150190":"{}"}}}}'
    assert compare_payloads(payload.format(level3).encode(), payload.format(level19).encode(), RuleSet()) == []
    other = encode_audio_payload(SAMPLES[:-4] + b"\x00\x00\x00\x00", "zstd")
    (diff,) = compare_payloads(payload.format(level3).encode(), payload.format(other).encode(), RuleSet())
    assert diff.path == 'audios["-630150190"]' and "6 floats" in diff.expected


def test_hash_rule_and_field_globs_relax_only_what_they_name() -> None:
    left = b'{"parts":[{"trackNo":0,"audioHash":1}],"tracks":[{"volume":0.0}]}'
    right = b'{"parts":[{"trackNo":0,"audioHash":2}],"tracks":[{"volume":3.0}]}'
    assert [d.path for d in compare_payloads(left, right, RuleSet())] == ["parts[0].audioHash", "tracks[0].volume"]
    assert [d.path for d in compare_payloads(left, right, parse_rules(["hashes"]))] == ["tracks[0].volume"]
    assert compare_payloads(left, right, parse_rules(["hashes,field:tracks[*].volume"])) == []
    with pytest.raises(ValueError, match="unknown rule 'nope'"):
        parse_rules(["nope"])


def _matcher(rules: RuleSet = RuleSet()) -> Matcher:
    (conn,) = build_script(session()).connections
    return Matcher(conn, OU, rules, IdMap())


def _feed(matcher: Matcher, raws: list[bytes]) -> None:
    for n, raw in enumerate(raws):
        matcher.receive(Arrival(raw, n))


def _ou_lines(layout_id: str = "bbbb") -> list[bytes]:
    records = [r for r in session() if isinstance(r, MessageRecord) and r.direction is OU]
    return [with_id(r.raw, LID if b":init" in r.raw else layout_id) for r in records]


def test_identical_traffic_with_fresh_ids_has_no_divergence() -> None:
    matcher = _matcher()
    _feed(matcher, _ou_lines())
    divergences, allowed = matcher.finish()
    assert divergences == [] and allowed == [] and len(matcher.matched) == 5


def test_a_dropped_update_audio_is_reported_missing_once() -> None:
    matcher = _matcher()
    _feed(matcher, _ou_lines()[:-1])
    divergences, _ = matcher.finish()
    assert [(d.kind, d.label) for d in divergences] == [(DivergenceKind.MISSING, "notification:updateAudio")]


def test_reordering_inside_one_debounce_diverges_but_across_debounces_is_allowed() -> None:
    init, ustx, tracks, layout, audio = _ou_lines()
    matcher = _matcher()
    _feed(matcher, [init, tracks, ustx, layout, audio])
    divergences, _ = matcher.finish()
    (order,) = divergences
    assert order.kind is DivergenceKind.ORDER and order.label == "notification:updateUstx"
    assert order.actual is not None and order.actual.label == "notification:updateTracks"

    matcher = _matcher()
    _feed(matcher, [init, layout, ustx, tracks, audio])
    divergences, allowed = matcher.finish()
    assert divergences == [] and allowed and "PROTOCOL.md §3.6.5" in allowed[0]

    matcher = _matcher(parse_rules(["order"]))
    _feed(matcher, [init, tracks, ustx, layout, audio])
    assert matcher.finish()[0] == []


def test_responses_are_matched_through_the_live_id() -> None:
    (conn,) = build_script(session()).connections
    ids = IdMap()
    ids.bind(5, "live-layout")  # we sent the recorded layout request with this id
    matcher = Matcher(conn, PL, RuleSet(), ids)
    matcher.receive(Arrival(b'response:live-layout {"success": true, "data": {"missingAudios": []}}', 1))
    matcher.receive(Arrival(b'response:who {"success": true, "data": {}}', 2))
    divergences = matcher.divergences
    assert [d.kind for d in divergences] == [DivergenceKind.MISMATCH, DivergenceKind.UNEXPECTED]
    assert [d.path for d in divergences[0].diffs] == ["data.missingAudios[0]"]
    assert divergences[0].label == "response:updatePartLayout" and "no request" in divergences[1].note


def test_schedule_is_one_anchor_with_capped_gaps_and_speed() -> None:
    stamps = [0, 1_000_000_000, 61_000_000_000, 62_000_000_000]
    assert schedule_offsets(stamps, Pace(1.0)) == [0.0, 1.0, 61.0, 62.0]
    assert schedule_offsets(stamps, Pace(2.0, max_gap=5.0)) == [0.0, 0.5, 3.0, 3.5]
    assert schedule_offsets(stamps, Pace(None)) == [0.0] * 4
    assert parse_speed("max") is None and parse_speed("2.5") == 2.5
    with pytest.raises(ValueError):
        parse_speed("0")


def test_plan_waits_for_replies_when_playing_openutau_and_answers_requests_when_playing_plugin() -> None:
    (conn,) = build_script(session()).connections
    as_ou, _ = plan_outgoing(conn, OU, Pace(None))
    audio = next(o for o in as_ou if o.message.label == "notification:updateAudio")
    assert audio.needs == (6,)  # the layout response (PROTOCOL.md §6)
    as_plugin, offsets = plan_outgoing(conn, PL, Pace(1.0))
    response = next(o for o in as_plugin if o.message.label == "response:init")
    assert response.answers == 0 and offsets[response.message.index] == pytest.approx(0.003)


def test_report_renderings_name_message_and_field() -> None:
    matcher = _matcher()
    lines = _ou_lines()
    lines[2] = lines[2].replace(b'"volume":0.0', b'"volume":3.0')
    _feed(matcher, lines)
    report = ReplayReport("plugin", "x.utpcap")
    report.divergences, report.allowed_reorders = matcher.finish()
    text = render_human(report)
    assert "DIVERGED" in text and "notification:updateTracks" in text
    assert "field tracks[0].volume: expected 0.0, got 3.0" in text
    data = to_json(report)
    assert data["exit_code"] == 1 and data["divergences"][0]["diffs"][0]["path"] == "tracks[0].volume"
    json.dumps(data)
    suite = ET.fromstring(render_junit(report))
    failing = [case.get("name") for case in suite if case.find("failure") is not None]
    assert failing == ["conn 1 notification:updateTracks"]

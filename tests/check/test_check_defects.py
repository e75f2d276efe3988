"""`check` finds each defect of a set of deliberately broken captures (one defect per capture,
plus the findings that defect necessarily causes) and nothing else; it is clean on good ones."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from inspect_captures import (
    HASHES,
    ID_INIT,
    ID_LAYOUT,
    ID_LAYOUT2,
    MS,
    OU,
    PLUGIN,
    SAMPLES,
    audio_payload,
    dropped,
    find,
    inserted,
    layout_payload,
    line,
    p2_session,
    p6_session,
    read_back,
    replaced,
    response,
    tone,
    v1_2_session,
    write_capture,
)
from utauproxy.check.context import CheckOptions
from utauproxy.check.engine import check_records
from utauproxy.protocol.audio import encode_audio_payload, signed_xxh32
from utauproxy.protocol.versions import ProtocolVersion
from utauproxy.records import MessageFlags, MessageRecord, Record

Mutation = Callable[[list[Record]], list[Record]]
H1, H2 = HASHES
AUDIO = b"notification:updateAudio"
LAYOUT_RESPONSE = f"response:{ID_LAYOUT} ".encode()
LAYOUT2_RESPONSE = f"response:{ID_LAYOUT2} ".encode()


def _audio_line(entries: dict[str, str]) -> bytes:
    return line("notification:updateAudio", audio_payload(entries))


def _good_audios() -> dict[str, str]:
    return {str(h): encode_audio_payload(s, "zstd") for h, s in zip(HASHES, SAMPLES)}


def _with_audio(key: int, value: str) -> Mutation:
    def mutate(records: list[Record]) -> list[Record]:
        audios = _good_audios()
        audios[str(key)] = value
        return replaced(records, AUDIO, _audio_line(audios))
    return mutate


def _shorter_part_two(records: list[Record]) -> list[Record]:
    short = tone(len(SAMPLES[1]) // 4 - 2, 75)
    short_hash = signed_xxh32(short)
    hashes = (H1, short_hash)
    records = replaced(records, f"request:{ID_LAYOUT}:".encode(),
                       line(f"request:{ID_LAYOUT}:updatePartLayout", layout_payload(hashes)))
    records = replaced(records, LAYOUT_RESPONSE, response(ID_LAYOUT, {"missingAudios": sorted(hashes)}))
    audios = {str(H1): encode_audio_payload(SAMPLES[0], "zstd"),
              str(short_hash): encode_audio_payload(short, "zstd")}
    return replaced(records, AUDIO, _audio_line(audios))


def _zstd_without_size(samples: bytes) -> str:
    packed = zstandard.ZstdCompressor(write_content_size=False).compress(samples)
    return base64.b64encode(packed).decode()


def _msg(t_ms: int, direction: object, raw: bytes, flags: MessageFlags = MessageFlags.NONE) -> MessageRecord:
    return MessageRecord(t_ms * MS, 1, direction, raw, flags)  # type: ignore[arg-type]


def _reused_id(records: list[Record]) -> list[Record]:
    again = line(f"request:{ID_LAYOUT2}:updatePartLayout", layout_payload(HASHES))
    return inserted(records, _msg(12011, OU, again))


def _glued(records: list[Record]) -> list[Record]:
    cut = LAYOUT2_RESPONSE + b'{"success": true, "data": {"missi' + b"notification:ping {}"
    return replaced(records, LAYOUT2_RESPONSE, cut)


TRACKS = b"notification:updateTracks"
ID_LAYOUT3 = "3d3d3d3d-0000-4000-8000-000000000003"


def _string_missing_audios(records: list[Record]) -> list[Record]:
    """A P2/P3 plugin's answer (decimal strings) in the middle of a P6 session."""
    records = inserted(records, _msg(12900, OU, line(f"request:{ID_LAYOUT3}:updatePartLayout",
                                                     layout_payload(HASHES))))
    return inserted(records, _msg(12902, PLUGIN, response(ID_LAYOUT3, {"missingAudios": [str(H1)]})))

DEFECTS: dict[str, tuple[Mutation, set[str]]] = {
    # requests (§2.1, §3.6, §6.11)
    "unanswered": (lambda r: dropped(r, LAYOUT2_RESPONSE), {"unanswered-request"}),
    "orphan": (lambda r: inserted(r, _msg(12500, PLUGIN, response("feedface-0000", {"missingAudios": []}))),
               {"orphan-response"}),
    "duplicate": (lambda r: inserted(r, _msg(12013, PLUGIN, response(ID_LAYOUT2, {"missingAudios": []}))),
                  {"duplicate-response"}),
    "reused id": (_reused_id, {"reused-request-id"}),
    "init not first": (lambda r: dropped(dropped(r, f"request:{ID_INIT}".encode()), f"response:{ID_INIT}".encode()),
                       {"init-not-first"}),
    # envelopes and payload shapes (§3.1, §3.2)
    "envelope without data": (lambda r: replaced(r, LAYOUT2_RESPONSE, LAYOUT2_RESPONSE + b'{"success": true}'),
                              {"envelope-shape"}),
    "failure without error": (lambda r: replaced(r, LAYOUT2_RESPONSE, LAYOUT2_RESPONSE + b'{"success": false}'),
                              {"envelope-shape"}),
    "success not a bool": (lambda r: replaced(r, LAYOUT2_RESPONSE,
                                              LAYOUT2_RESPONSE + b'{"success": "yes", "data": {}}'),
                           {"envelope-shape"}),
    "missingAudios not an array": (lambda r: replaced(r, LAYOUT2_RESPONSE, response(ID_LAYOUT2, {"missingAudios": "none"})),
                                   {"response-data-shape"}),
    "init data without ustx": (lambda r: replaced(r, f"response:{ID_INIT}".encode(), response(ID_INIT, {})),
                               {"response-data-shape"}),
    "track without pan": (lambda r: replaced(r, TRACKS, line("notification:updateTracks",
                                                             {"tracks": [{"name": "Vocal", "volume": 0.0}]})),
                          {"payload-shape"}),
    "ustx not a string": (lambda r: replaced(r, b"notification:updateUstx", line("notification:updateUstx", {"ustx": 5})),
                          {"payload-shape"}),
    "audio key not decimal": (lambda r: inserted(r, _msg(12500, OU, _audio_line({"abc": _good_audios()[str(H1)]}))),
                              {"payload-shape"}),
    # audio (§3.2, §3.4)
    "missing not in layout": (lambda r: replaced(r, LAYOUT_RESPONSE, response(ID_LAYOUT, {"missingAudios": [*sorted(HASHES), 12345]})),
                              {"missing-not-in-layout"}),
    "missing audio never sent": (lambda r: replaced(r, AUDIO, _audio_line({str(H1): encode_audio_payload(SAMPLES[0], "zstd")})),
                                 {"missing-audio-not-sent"}),
    "hash mismatch": (_with_audio(H1, encode_audio_payload(b"\x00\x00\x80\x3f" + SAMPLES[0][4:], "zstd")),
                      {"audio-hash-mismatch"}),
    "sample count mismatch": (_shorter_part_two, {"audio-length-mismatch"}),
    "zstd without content size": (_with_audio(H1, _zstd_without_size(SAMPLES[0])), {"zstd-without-content-size"}),
    "undecodable audio": (_with_audio(H1, "KLUv!!!not-base64"), {"audio-undecodable"}),
    "raw audio": (_with_audio(H1, base64.b64encode(SAMPLES[0]).decode()), {"audio-codec"}),
    "unrequested audio": (lambda r: inserted(r, _msg(12500, OU, _audio_line({str(H1): encode_audio_payload(SAMPLES[0], "zstd")}))),
                          {"unrequested-audio"}),
    # what the real plugin's parser chokes on (§2.2, §6.10)
    "plus exponent": (lambda r: replaced(r, TRACKS, b'notification:updateTracks {"tracks":[{"name":"Vocal","volume":1E+16,"pan":0.0}]}'),
                      {"plugin-parser-hazard"}),
    "bare NaN": (lambda r: replaced(r, TRACKS, b'notification:updateTracks {"tracks":[{"name":"Vocal","volume":0.0,"pan":NaN}]}'),
                 {"plugin-parser-hazard"}),
    "CR inside the payload": (lambda r: replaced(r, TRACKS, b'notification:updateTracks {"tracks":\r[]}'),
                              {"plugin-parser-hazard"}),
    "CRLF line ending": (lambda r: replaced(r, TRACKS, line("notification:updateTracks", {"tracks": []}) + b"\r"),
                         {"crlf-line-ending"}),
    "non-object payload": (lambda r: inserted(r, _msg(12500, OU, b'notification:updateUstx "name: x"')),
                           {"non-object-payload"}),
    "no space": (lambda r: inserted(r, _msg(12500, OU, b"notification:updateTracks")), {"no-space"}),
    "empty payload": (lambda r: inserted(r, _msg(12500, OU, b"notification:updateTracks ")), {"empty-payload"}),
    "invalid JSON": (lambda r: inserted(r, _msg(12500, OU, b'notification:updateTracks {"tracks":[}')),
                     {"invalid-json"}),
    "invalid UTF-8": (lambda r: inserted(r, _msg(12500, OU, b'notification:updateUstx {"ustx":"\xff"}')),
                      {"invalid-utf8"}),
    "request without kind": (lambda r: inserted(r, _msg(12500, OU, b"request:abc {}")), {"request-without-kind"}),
    "glued partial write": (_glued, {"glued-partial-write", "unanswered-request"}),
    "cut line": (lambda r: inserted(r, _msg(15900, OU, b'notification:updateUstx {"ustx":"na', MessageFlags.NO_LF)),
                 {"cut-line"}),
    # headers, kinds, directions (§2.1, §3.2, §6.11)
    "unknown notification": (lambda r: inserted(r, _msg(12500, OU, b"notification:flush {}")), {"unknown-kind"}),
    "unknown header": (lambda r: inserted(r, _msg(12500, PLUGIN, b'error {"message": "busy"}')), {"unknown-header"}),
    "wrong direction": (lambda r: inserted(r, _msg(12500, PLUGIN, b'notification:updateUstx {"ustx": ""}')),
                        {"wrong-direction"}),
    "close from the plugin": (lambda r: inserted(r, _msg(15900, PLUGIN, b"close")), {"wrong-direction"}),
    # timing (§2.2)
    "ping missing": (lambda r: dropped(r, b"notification:ping", 1), {"ping-overdue"}),
    "ping too early": (lambda r: inserted(r, _msg(2000, PLUGIN, b"notification:ping {}")), {"ping-too-early"}),
    # version consistency (§4)
    "gzip audio in a P6 session": (_with_audio(H1, encode_audio_payload(SAMPLES[0], "gzip")), {"version-conflict"}),
    "string missingAudios in a P6 session": (_string_missing_audios, {"version-conflict", "missing-audio-not-sent"}),
}


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_each_defect_is_found_and_nothing_else(tmp_path: Path, name: str) -> None:
    mutate, expected = DEFECTS[name]
    path = write_capture(tmp_path / "broken.utpcap", mutate(p6_session()))
    header, records = read_back(path)
    report = check_records(records, header=header)
    found = {f.rule for f in report.findings}
    assert found == expected, "\n".join(f.render() for f in report.findings)
    for finding in report.findings:
        assert finding.section.startswith("§")
        assert finding.index is not None and finding.ts_ns is not None and finding.conn == 1


@pytest.mark.parametrize("session", [p6_session, p2_session, v1_2_session], ids=["P6", "P2", "v1.2"])
def test_clean_sessions_have_no_findings(tmp_path: Path, session: Callable[[], list[Record]]) -> None:
    path = write_capture(tmp_path / "good.utpcap", session())
    header, records = read_back(path)
    report = check_records(records, header=header)
    assert report.findings == []
    assert report.connections == 1


def test_versions_are_detected() -> None:
    assert check_records(p6_session()).version.version is ProtocolVersion.P6
    assert check_records(p2_session()).version.version is ProtocolVersion.P2
    assert check_records(v1_2_session()).version.version is ProtocolVersion.V1_2


def test_v1_2_frame_with_a_wrong_hash() -> None:
    report = check_records(v1_2_session(frame_hash=42))
    assert [f.rule for f in report.findings] == ["frame-hash-mismatch"]
    assert "XXH64" in report.findings[0].message


def test_v1_2_frame_that_is_not_whole_stereo_frames() -> None:
    from inspect_captures import v1_2_frame

    records = v1_2_session()
    index = find(records, b"audio ", 1)
    odd = SAMPLES[1][:-4]
    records[index] = MessageRecord(records[index].ts_ns, 1, OU, v1_2_frame(odd), MessageFlags.FRAME)
    rules = {f.rule for f in check_records(records).findings}
    assert rules == {"frame-length", "audio-length-mismatch"}


def test_finding_points_at_the_broken_message() -> None:
    records = replaced(p6_session(), LAYOUT2_RESPONSE, LAYOUT2_RESPONSE + b'{"success": true}')
    (finding,) = check_records(records).findings
    broken = records[finding.index]  # type: ignore[index]
    assert isinstance(broken, MessageRecord) and broken.raw == LAYOUT2_RESPONSE + b'{"success": true}'
    assert finding.section == "§3.1"
    assert finding.ts_ns == broken.ts_ns


def test_unanswered_request_points_at_the_request_and_names_the_kind() -> None:
    records = dropped(p6_session(), LAYOUT2_RESPONSE)
    (finding,) = check_records(records).findings
    request = records[finding.index]  # type: ignore[index]
    assert isinstance(request, MessageRecord) and request.raw.startswith(f"request:{ID_LAYOUT2}".encode())
    assert "updatePartLayout" in finding.message and "closed" in finding.message


def test_pending_request_at_capture_end_respects_the_grace_period() -> None:
    # No close records: the capture just ends (the recorder was stopped).
    records: list[Record] = [r for r in p6_session()
                             if isinstance(r, MessageRecord) and not r.raw.startswith(LAYOUT2_RESPONSE)]
    assert check_records(records).findings == []  # asked 3 s before the end: may be on its way
    short_grace = CheckOptions(end_grace_s=1.0)
    assert {f.rule for f in check_records(records, short_grace).findings} == {"unanswered-request"}
    late = records[: find(records, f"request:{ID_LAYOUT2}".encode()) + 1]
    assert check_records(late, CheckOptions(skip=frozenset({"timing"}))).findings == []


def test_skip_by_rule_and_by_family() -> None:
    records = dropped(p6_session(), b"notification:ping", 1)
    assert check_records(records, CheckOptions(skip=frozenset({"ping-overdue"}))).findings == []
    assert check_records(records, CheckOptions(skip=frozenset({"timing"}))).findings == []


def test_ping_interval_option_scales_the_window() -> None:
    # Pings 5 s apart are too far apart for a plugin configured to ping every second.
    rules = {f.rule for f in check_records(p6_session(), CheckOptions(ping_interval_s=1.0)).findings}
    assert rules == {"ping-overdue"}


def test_pinned_version_reports_evidence_against_it() -> None:
    report = check_records(p6_session(), CheckOptions(version=ProtocolVersion.P3))
    assert {f.rule for f in report.findings} == {"version-mismatch"}
    assert "P3" in report.findings[0].message


def test_pinned_p5_accepts_hashes_that_are_not_xxh32() -> None:
    mutate, _ = DEFECTS["hash mismatch"]
    records = mutate(p6_session())
    pinned = check_records(records, CheckOptions(version=ProtocolVersion.P5, skip=frozenset({"version"})))
    assert pinned.findings == []


def test_real_wire_session_is_clean(tmp_path: Path) -> None:
    from inspect_real_wire import real_wire_records

    path = write_capture(tmp_path / "real.utpcap", real_wire_records())
    header, records = read_back(path)
    report = check_records(records, header=header)
    assert report.findings == []
    assert report.version.version is ProtocolVersion.P6


def test_check_survives_garbage_everywhere() -> None:
    garbage = [MessageRecord(i * MS, 1, OU if i % 2 else PLUGIN, raw)
               for i, raw in enumerate([b"", b"\xff\xfe", b"response: {}", b"request:::: []",
                                        b"notification:updateAudio {\"audios\": []}",
                                        b"notification:updateAudio {\"audios\": {\"1\": 5}}",
                                        b"response:x {\"success\": true, \"data\": null}",
                                        b"audio 1 2", json.dumps({"a": 1}).encode(), zlib.compress(b"x")])]
    report = check_records(garbage)
    assert report.findings  # and no exception
    assert all(f.index is not None for f in report.findings)

"""The plugin's per-line decisions, without sockets (PROTOCOL.md §2.2, §3, §6)."""

from __future__ import annotations

import json

import pytest

from utauproxy.peers.plugin_logic import (
    Action,
    CloseLink,
    Crash,
    PluginLogic,
    PluginState,
    Pull,
    Reply,
    choc_parse,
    stoul,
)
from utauproxy.peers.rules import rules_for
from utauproxy.protocol.versions import ProtocolVersion as V

# PROTOCOL.md §3.4's worked example: 3 stereo frames, XXH32 0xda70abd2.
TOY_B64 = "KLUv/SAYwQAAAAAAAAAAAAAAAIA+AACAvgAAAD8AAAC/"
TOY_SAMPLES = bytes.fromhex("00000000" "00000000" "0000803e" "000080be" "0000003f" "000000bf")


def _layout(request_id: str, audio_hash: str, end_ms: str = "0.07") -> bytes:
    return (f'request:{request_id}:updatePartLayout {{"parts":[{{"trackNo":0,"startMs":0.0,'
            f'"endMs":{end_ms},"audioHash":{audio_hash}}}]}}').encode()


def _audio(key: str, b64: str = TOY_B64) -> bytes:
    return f'notification:updateAudio {{"audios":{{"{key}":"{b64}"}}}}'.encode()


def _logic(version: V, ustx: str = "") -> PluginLogic:
    return PluginLogic(rules_for(version), PluginState(ustx=ustx))


def _reply(actions: list[Action]) -> tuple[str, bytes]:
    reply = actions[0]
    assert isinstance(reply, Reply)
    head, payload = reply.line.split(b" ", 1)
    return head.decode(), payload


def test_stoul_wraps_negative_keys_like_64_bit_linux() -> None:
    assert stoul("-630150190") == 18446744073079401426
    assert rules_for(V.P6).normalize_hash(stoul("-630150190")) == -630150190
    assert rules_for(V.P3).normalize_hash(stoul("-630150190")) == 3664817106
    assert stoul("12abc") == 12
    with pytest.raises(ValueError):
        stoul("abc")


@pytest.mark.parametrize("line", [
    b"ping",  # no space: the whole line is parsed as JSON
    b"close\r",
    b"foo 123",
    b"notification:updateUstx {\"ustx\": \"\xff\"}",
    b"request:1:updatePartLayout {\"parts\": [], \"x\": 1E+16}",
    b"notification:updateUstx {\"nope\": 1}",
    b'notification:updateTracks {"tracks": [{"name": "a", "volume": "loud", "pan": 0}]}',
    b"notification:updateAudio {\"audios\": {\"abc\": \"" + TOY_B64.encode() + b"\"}}",
])
def test_lines_that_abort_the_real_plugin_are_recorded_not_fatal(line: bytes) -> None:
    logic = _logic(V.P6)
    actions = logic.on_line(line)
    assert len(actions) == 1 and isinstance(actions[0], Crash)
    assert logic.state.crash_reasons == [actions[0].reason]


def test_choc_refusals_are_found_in_numbers_not_inside_strings() -> None:
    assert choc_parse(b'{"audios": {"1": "AE+NaN/Infinity+"}}') == (
        {"audios": {"1": "AE+NaN/Infinity+"}}, None)
    assert choc_parse(b"[1E+16]")[1] is not None
    assert choc_parse(b'{"x": NaN}')[1] is not None
    assert choc_parse(b" \r\n") == (None, None)  # blank: choc's void value, no throw
    assert choc_parse(b'"text"')[1] is not None


def test_the_bridge_ignores_bad_lines_and_tolerates_crlf() -> None:
    logic = _logic(V.V1_2)
    assert logic.on_line(b"foo 123") == []
    assert logic.state.ignored and not logic.state.crash_reasons
    assert logic.on_line(b"close") == [CloseLink()]
    head, payload = _reply(logic.on_line(b'request:abc:init {"ustx":"name: x"}\r'))
    assert head == "response:abc"
    assert payload == b'{"data":{"apiVersion":"1.2"},"error":null,"success":true}'
    assert logic.state.ustx == "name: x"


def test_init_answers_the_stored_ustx_choc_style() -> None:
    logic = _logic(V.P6, ustx="name: \u3042")
    head, payload = _reply(logic.on_line(b"request:6f1c:init {}"))
    assert head == "response:6f1c"
    assert payload == b'{"success": true, "data": {"ustx": "name: \\u3042"}}'


def test_unknown_request_kind_gets_a_failure_envelope() -> None:
    for line in (b"request:1:frobnicate {}", b"request:1 {}"):
        head, payload = _reply(_logic(V.P6).on_line(line))
        assert head == "response:1"
        assert payload == b'{"success": false, "error": "Unknown request type"}'


def test_p6_layout_and_audio_follow_the_worked_example() -> None:
    logic = _logic(V.P6)
    layout = _layout("1b9d", "-630150190")
    _, payload = _reply(logic.on_line(layout))
    assert payload == b'{"success": true, "data": {"missingAudios": [-630150190]}}'
    assert logic.on_line(_audio("-630150190")) == []
    assert logic.state.audio == {-630150190: TOY_SAMPLES}
    assert not logic.state.hash_mismatches and not logic.state.decode_errors
    _, payload = _reply(logic.on_line(layout.replace(b"1b9d", b"2c3e")))
    assert json.loads(payload)["data"]["missingAudios"] == []


def test_p3_answers_decimal_strings_and_rejects_gzip_era_audio() -> None:
    logic = _logic(V.P3)
    layout = _layout("1", "3664817106")
    _, payload = _reply(logic.on_line(layout))
    assert payload == b'{"success": true, "data": {"missingAudios": ["3664817106"]}}'
    logic.on_line(_audio("3664817106"))
    assert logic.state.audio == {3664817106: TOY_SAMPLES}
    gzip_era = _logic(V.P2)
    gzip_era.on_line(layout)
    gzip_era.on_line(_audio("3664817106"))
    assert gzip_era.state.audio == {} and gzip_era.state.decode_errors


def test_wrong_hash_is_recorded() -> None:
    logic = _logic(V.P6)
    logic.on_line(_audio("-5"))
    assert logic.state.hash_mismatches


def test_new_layout_drops_audio_it_no_longer_uses() -> None:
    logic = _logic(V.P6)
    logic.state.audio = {1: b"a" * 8, 2: b"b" * 8}
    _, payload = _reply(logic.on_line(
        b'request:9:updatePartLayout {"parts":[{"trackNo":0,"startMs":0.0,"endMs":1.0,"audioHash":2},'
        b'{"trackNo":1,"startMs":0.0,"endMs":1.0,"audioHash":-3}]}'))
    assert json.loads(payload)["data"]["missingAudios"] == [-3]
    assert set(logic.state.audio) == {2}


def test_bad_layout_is_a_failure_not_a_crash() -> None:
    logic = _logic(V.P6)
    _, payload = _reply(logic.on_line(b'request:9:updatePartLayout {"parts":"no"}'))
    assert json.loads(payload)["success"] is False
    assert not logic.state.crash_reasons


def test_bridge_layout_uses_strings_and_asks_to_pull() -> None:
    logic = _logic(V.V1_2)
    actions = logic.on_line(_layout("9", '"18446744073709551615"'))
    _, payload = _reply(actions)
    assert json.loads(payload)["data"]["missingAudios"] == ["18446744073709551615"]
    assert actions[1] == Pull((18446744073709551615,))

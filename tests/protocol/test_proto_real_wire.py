"""The real P6 session (tests/data/real-wire/p6-linux, see its README.md) through the
framer, the JSON reader, the audio codec and the version detector."""

from __future__ import annotations

import pytest
from proto_samples import OU_TO_PLUGIN, PLUGIN_TO_OU, feed, real_chunks, without_eos

from utauproxy.protocol import (
    Message,
    ProtocolVersion,
    VersionDetector,
    decode_audio_payload,
    hash_matches,
    plugin_hazards,
    signed_xxh32,
)
from utauproxy.records import Direction


def _messages(direction: str) -> list[Message]:
    events = without_eos(feed(real_chunks(direction)))
    assert all(isinstance(e, Message) and e.terminated for e in events), events
    return events  # type: ignore[return-value]


def test_openutau_sent_eight_valid_messages_in_the_documented_order() -> None:
    labels = [m.header.label for m in _messages(OU_TO_PLUGIN)]
    assert labels == [
        "request:init", "notification:updateUstx", "notification:updateTracks",
        "request:updatePartLayout", "notification:updateAudio",
        "notification:updateUstx", "notification:updateTracks", "request:updatePartLayout",
    ]


def test_the_plugin_sent_six_valid_messages_with_a_ping_before_the_init_response() -> None:
    messages = _messages(PLUGIN_TO_OU)
    labels = [m.header.label for m in messages]
    assert labels == ["notification:ping", "response", "response", "notification:ping",
                      "notification:ping", "response"]
    init_id = _messages(OU_TO_PLUGIN)[0].header.id
    assert messages[1].header.id == init_id


def test_the_plugins_bom_and_unicode_escapes_parse() -> None:
    init_response = _messages(PLUGIN_TO_OU)[1]
    assert b"\\ufeff" in init_response.raw
    ustx = init_response.json()["data"]["ustx"]
    assert ustx.startswith("\ufeffname: New Project\n")
    assert init_response.json()["success"] is True


def test_the_layout_responses_echo_request_ids_and_list_missing_hashes() -> None:
    ou, plugin = _messages(OU_TO_PLUGIN), _messages(PLUGIN_TO_OU)
    requests = [m for m in ou if m.header.label == "request:updatePartLayout"]
    responses = {m.header.id: m.json() for m in plugin if m.header.label == "response"}
    first, second = (responses[r.header.id]["data"]["missingAudios"] for r in requests)
    layout_hashes = {part["audioHash"] for part in requests[0].json()["parts"]}
    assert -475255030 in first and -475255030 in layout_hashes
    assert second == []


def test_update_audio_hashes_are_signed_xxh32_of_the_decoded_samples() -> None:
    (update,) = [m for m in _messages(OU_TO_PLUGIN) if m.header.kind == "updateAudio"]
    audios = update.json()["audios"]
    assert audios, "the sample carries audio"
    for key, b64 in audios.items():
        assert b64.startswith("KLUv")
        decoded = decode_audio_payload(b64)
        assert decoded.codec == "zstd"
        assert decoded.float_count % 2 == 0 and decoded.frames > 0
        assert str(signed_xxh32(decoded.samples)) == key
        assert hash_matches(key, decoded.samples)


@pytest.mark.parametrize("direction", [OU_TO_PLUGIN, PLUGIN_TO_OU])
def test_real_traffic_carries_no_plugin_hazards(direction: str) -> None:
    for message in _messages(direction):
        assert plugin_hazards(message.payload) == [], message.header.label


def test_the_version_detector_says_p6() -> None:
    detector = VersionDetector()
    for direction, name in ((Direction.OU_TO_PLUGIN, OU_TO_PLUGIN),
                            (Direction.PLUGIN_TO_OU, PLUGIN_TO_OU)):
        for message in _messages(name):
            detector.observe(direction, message)
    guess = detector.result()
    assert guess.version is ProtocolVersion.P6
    assert guess.candidates == frozenset({ProtocolVersion.P6})
    assert "audio hash == signed XXH32 of the decoded audio" in guess.evidence
    assert "updateAudio payload is zstd (KLUv)" in guess.evidence

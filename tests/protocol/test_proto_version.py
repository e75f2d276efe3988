"""Version recognition from traffic (PROTOCOL.md §4 "detect" column, §5.1), one small
hand-built session per version."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from proto_samples import TOY_B64, TOY_SAMPLES, feed, frame, without_eos

from utauproxy.protocol import (
    Dialect,
    ProtocolVersion,
    VersionDetector,
    detect_version,
    encode_audio_payload,
)
from utauproxy.protocol.version import ALL_VERSIONS
from utauproxy.records import Direction

V = ProtocolVersion
OU, PLUGIN = Direction.OU_TO_PLUGIN, Direction.PLUGIN_TO_OU
GZIP_TOY = encode_audio_payload(TOY_SAMPLES, "gzip")


def _detector(*lines: tuple[Direction, bytes], dialect: Dialect = Dialect.AUTO) -> VersionDetector:
    detector = VersionDetector()
    for direction, raw in lines:
        for event in without_eos(feed([raw], dialect=dialect)):
            detector.observe(direction, event)
    return detector


def _audio(key: str, b64: str) -> bytes:
    return b"notification:updateAudio " + json.dumps({"audios": {key: b64}}).encode() + b"\n"


def _missing(*values: object) -> bytes:
    body = {"success": True, "data": {"missingAudios": list(values)}}
    return b"response:1b9d " + json.dumps(body).encode() + b"\n"


def _layout(audio_hash: object) -> bytes:
    parts = [{"trackNo": 0, "startMs": 0.0, "endMs": 0.07, "audioHash": audio_hash}]
    return b"request:1b9d:updatePartLayout " + json.dumps({"parts": parts}).encode() + b"\n"


SESSIONS: dict[V, list[tuple[Direction, bytes]]] = {
    V.P2: [(PLUGIN, b"ping {}\n"), (PLUGIN, _missing("3664817106")),
           (OU, _audio("3664817106", GZIP_TOY))],
    V.P2_2: [(PLUGIN, b"notification:ping {}\n"), (PLUGIN, _missing("3664817106")),
             (OU, _audio("3664817106", GZIP_TOY))],
    V.R: [(PLUGIN, b"notification:ping {}\n"), (PLUGIN, b"notification:playbackStarted {}\n"),
          (OU, _audio("3664817106", GZIP_TOY))],
    V.P3: [(PLUGIN, b"notification:ping {}\n"), (PLUGIN, _missing("3664817106")),
           (OU, _audio("3664817106", TOY_B64))],
    V.P4: [(OU, _layout(12345678901234567890)), (OU, _audio("12345", TOY_B64))],
    V.P5: [(PLUGIN, _missing(-12345)), (OU, _audio("-12345", TOY_B64))],
    V.P6: [(OU, _layout(-630150190)), (PLUGIN, _missing(-630150190)),
           (OU, _audio("-630150190", TOY_B64))],
    V.V1_2: [(PLUGIN, b'request:0f0e:getAudio {"hash":"42"}\n'), (OU, frame(b"\x00" * 8, 42)),
             (PLUGIN, b'response:9 {"success":true,"data":{"apiVersion":"1.2"},"error":null}\n')],
}


# R differs from P2.2 on the wire only by playbackStarted, which a session need not contain.
ALSO_POSSIBLE = {V.P2_2: {V.R}}


@pytest.mark.parametrize("version", list(SESSIONS))
def test_each_version_is_recognised_from_its_distinguishing_evidence(version: V) -> None:
    guess = _detector(*SESSIONS[version]).result()
    assert guess.version is version, guess
    assert guess.candidates == frozenset({version, *ALSO_POSSIBLE.get(version, ())}), guess
    assert not any("conflict" in fact for fact in guess.evidence)


@pytest.mark.parametrize(
    ("line", "fragment", "versions"),
    [
        ((PLUGIN, b"ping {}\n"), "bare `ping {}`", {V.P2}),
        ((PLUGIN, b"notification:ping {}\n"), "P2.2 or later",
         {V.P2_2, V.P3, V.P4, V.P5, V.P6, V.R, V.V1_2}),
        ((OU, _audio("3664817106", GZIP_TOY)), "gzip (H4sI)", {V.P2, V.P2_2, V.R}),
        ((OU, _audio("1", "KLUvAAAA")), "zstd (KLUv)", {V.P3, V.P4, V.P5, V.P6}),
        ((PLUGIN, _missing("5")), "missingAudios holds strings",
         {V.P2, V.P2_2, V.P3, V.P4, V.R, V.V1_2}),
        ((PLUGIN, _missing(5)), "missingAudios holds JSON numbers", {V.P5, V.P6}),
        ((OU, _layout(-5)), "negative audio hashes", {V.P5, V.P6}),
        ((OU, _layout(1 << 40)), "64-bit audioHash", {V.P4}),
        ((OU, _layout("77")), "audioHash is a JSON string", {V.V1_2}),
        ((PLUGIN, b"notification:playbackStarted {}\n"), "playbackStarted", {V.R, V.V1_2}),
        ((OU, frame(b"ab")), "binary audio data frame", {V.V1_2}),
        ((PLUGIN, b'request:1:getAudio {"hash":"1"}\n'), "getAudio", {V.V1_2}),
        ((PLUGIN, b'response:1 {"success":true,"data":{},"error":null}\n'), '"error":null',
         {V.V1_2}),
        ((OU, b'request:1:init {"ustx":"name: x"}\n'), "carries the project", {V.V1_2}),
    ],
)
def test_single_facts_narrow_to_the_versions_of_section_4(
    line: tuple[Direction, bytes], fragment: str, versions: set[V]
) -> None:
    guess = _detector(line).result()
    assert any(fragment in fact for fact in guess.evidence), guess.evidence
    assert guess.candidates == frozenset(versions)
    assert guess.version in versions


def test_hash_not_matching_the_audio_points_to_p4_or_p5() -> None:
    guess = _detector((OU, _audio("-12345", TOY_B64))).result()
    assert "audio hash is not XXH32 of the decoded audio" in guess.evidence
    assert guess.candidates == frozenset({V.P5})


def test_the_discovery_entrys_api_version_means_v1_2() -> None:
    detector = VersionDetector()
    detector.observe_discovery({"apiVersion": "1.2", "name": "OpenUtau Bridge 52341", "port": 1})
    assert detector.result().version is V.V1_2
    plain = VersionDetector()
    plain.observe_discovery({"port": 51234, "name": "Vocal"})
    assert plain.result().version is V.UNKNOWN


def test_no_evidence_means_unknown_with_every_candidate() -> None:
    guess = _detector((OU, b"request:1:init {}\n"), (PLUGIN, b'response:1 {"success": true}\n'),
                      (OU, b"garbage\n")).result()
    assert guess == type(guess)(V.UNKNOWN, ALL_VERSIONS, ())


def test_conflicting_evidence_is_said_and_the_best_supported_version_wins() -> None:
    guess = _detector(*SESSIONS[V.P6], (OU, _audio("3664817106", GZIP_TOY))).result()
    assert guess.version is V.P6
    assert any("conflict" in fact for fact in guess.evidence)


def test_ambiguous_evidence_guesses_the_most_common_candidate() -> None:
    guess = _detector((PLUGIN, _missing(-7))).result()
    assert guess.candidates == frozenset({V.P5, V.P6})
    assert guess.version is V.P6


def test_audio_decoding_is_bounded_but_codec_evidence_is_not() -> None:
    detector = VersionDetector(max_audio_checks=1)
    for _ in range(3):
        detector.observe(OU, without_eos(feed([_audio("-630150190", TOY_B64)]))[0])
    detector.observe(OU, without_eos(feed([_audio("1", GZIP_TOY)]))[0])
    evidence = detector.result().evidence
    assert "updateAudio payload is gzip (H4sI)" in evidence
    assert detector._audio_checks_left == 0


def test_detect_version_runs_over_direction_event_pairs() -> None:
    events = [(d, e) for d, raw in SESSIONS[V.P6] for e in without_eos(feed([raw]))]
    assert detect_version(events).version is V.P6


_FRAGMENTS = [
    b"notification:updateAudio ", b'{"audios": {"', b"-1", b"\xff", b'": "', b"KLUv", b"H4sI",
    b'"}}', b"\n", b"response:1 ", b'{"data": {"missingAudios": [', b'"7"', b"-3", b"]}}",
    b"request:1:updatePartLayout ", b'{"parts": [{"audioHash": ', b"99999999999", b"}]}",
    b"audio 1 2\nab", b"ping {}\n", b"notification:ping {}\n", b'"error": null}',
]


@settings(max_examples=200, deadline=None)
@given(pieces=st.lists(st.sampled_from(_FRAGMENTS) | st.binary(max_size=8), max_size=30),
       direction=st.sampled_from(list(Direction)))
def test_the_detector_never_raises_on_whatever_the_framer_reports(
    pieces: list[bytes], direction: Direction
) -> None:
    detector = VersionDetector()
    for event in feed([b"".join(pieces)]):
        detector.observe(direction, event)
    guess = detector.result()
    assert guess.version is V.UNKNOWN or guess.version in guess.candidates

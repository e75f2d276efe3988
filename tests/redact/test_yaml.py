"""USTX YAML forms YamlDotNet may write: quoting, block scalars, CRLF, wave parts."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from utauproxy.redact import is_token
from utauproxy.redact.yamlline import INITIAL_STATE, classify_line

from .helpers import choc_json, load_yaml, message, ou_json, redactor, shape, surviving

HAND_WRITTEN = """name: "Secret: Project"
comment: |-
  first line of the story
  second line, with アリス

  after a blank line
output_dir: 'C:\\Users\\alice\\My Songs'
cache_dir: ../cache/alice
ustx_version: "0.7"
resolution: 480
tracks:
- singer: "Voice \\"Q\\" \\u30A2"
  phonemizer: OpenUtau.Core.DefaultPhonemizer
  track_name: 'it''s mine'
  track_color: Pink
voice_parts:
- name: Verse
  comment: >
    folded text
    goes on
  notes:
  - position: 0
    lyric: "+~"
    pitch:
      data:
      - {x: -40, y: 0, shape: io}
  - position: 480
    lyric: かなしみ
    phoneme_overrides:
    - index: 0
      phoneme: k a
wave_parts:
- name: Backing
  relative_path: ../audio/backing take 1.wav
  comment: "long double-quoted
    text that wraps"
extra_field: surprise value
"""

SECRETS = {"Secret: Project", "first line of the story", "アリス", "after a blank line",
           "My Songs", "alice", "Voice", "it's mine", "it''s mine", "Verse", "folded text",
           "goes on", "かなしみ", "k a", "Backing", "backing take", "wraps", "surprise value"}


def _redacted(text: str, newline: str = "\n", style: str = "ou") -> str:
    body = {"ustx": text.replace("\n", newline)}
    raw = b"notification:updateUstx " + (ou_json(body) if style == "ou" else choc_json(body))
    out = redactor().record(message(raw)).raw
    assert not surviving(out, SECRETS), surviving(out, SECRETS)
    result = json.loads(out.split(b" ", 1)[1])["ustx"]
    assert isinstance(result, str)
    return result


def test_hand_written_ustx_keeps_shape_and_loses_every_secret() -> None:
    for style in ("ou", "choc"):
        redacted = _redacted(HAND_WRITTEN, style=style)
        before, after = load_yaml(HAND_WRITTEN), load_yaml(redacted)
        assert shape(after) == shape(before)
        assert after["ustx_version"] == "0.7" and after["tracks"][0]["track_color"] == "Pink"
        assert after["voice_parts"][0]["notes"][0]["lyric"] == "+~"
        assert after["voice_parts"][0]["notes"][0]["pitch"]["data"][0]["shape"] == "io"
        assert after["wave_parts"][0]["relative_path"].startswith("path-")
        assert after["wave_parts"][0]["relative_path"].endswith(".wav")
        assert after["output_dir"].startswith("path-")
        assert after["voice_parts"][0]["notes"][1]["phoneme_overrides"][0]["phoneme"].startswith("lyric-")
        assert after["extra_field"].startswith("text-")
        assert all(is_token(word) for word in after["comment"].split())


def test_crlf_line_ends_survive() -> None:
    redacted = _redacted(HAND_WRITTEN, newline="\r\n")
    assert redacted.count("\r\n") == HAND_WRITTEN.count("\n")
    assert shape(load_yaml(redacted)) == shape(load_yaml(HAND_WRITTEN))


def test_same_value_same_token_in_yaml_and_json() -> None:
    red = redactor()
    ustx = 'name: "Secret: Project"\ntracks:\n- singer: Sim Voice\n  track_name: lead\n'
    out = red.record(message(b"notification:updateUstx " + ou_json({"ustx": ustx}))).raw
    project = load_yaml(json.loads(out.split(b" ", 1)[1])["ustx"])
    info = red.record(message(b"notification:updateProjectInfo "
                              + ou_json({"name": "Secret: Project", "saved": True}))).raw
    tracks = red.record(message(b"notification:updateTracks " + ou_json(
        {"tracks": [{"name": "lead", "singer": "Sim Voice", "engine": "WORLDLINE-R"}]}))).raw
    assert json.loads(info.split(b" ", 1)[1])["name"] == project["name"]
    track = json.loads(tracks.split(b" ", 1)[1])["tracks"][0]
    assert track["name"] == project["tracks"][0]["track_name"]
    assert track["singer"] == project["tracks"][0]["singer"]
    assert track["engine"] == "WORLDLINE-R"


def test_escaped_newline_inside_a_value_is_not_a_line_break() -> None:
    # A Windows path with `\n` in it: JSON `C:\\new`, which must not be split as a line.
    ustx = "output_dir: C:\\new\\nothing\\alice\nresolution: 480\n"
    out = _redacted(ustx)
    assert load_yaml(out)["resolution"] == 480
    assert load_yaml(out)["output_dir"].startswith("path-")


_YAML_CHARS = st.text(st.sampled_from(list("- :'\"#|>{}[],\\ab\r\tー")), max_size=30)


@settings(max_examples=400, deadline=None)
@given(st.lists(_YAML_CHARS, max_size=6))
def test_classifier_never_raises_and_spans_stay_in_the_line(lines: list[str]) -> None:
    state = INITIAL_STATE
    for line in lines:
        spans, state = classify_line(state, line)
        hash(state)  # states are cache keys
        assert all(0 <= s.start < s.end <= len(line) for s in spans)
        starts = [s.start for s in spans]
        assert starts == sorted(starts)


def test_allow_listed_field_holding_a_known_secret_is_still_tokenised() -> None:
    red = redactor()
    red.record(message(b"notification:updateTracks " + ou_json({"tracks": [{"name": "Zephyrine"}]})))
    ustx = "tracks:\n- phonemizer: Zephyrine\n  track_color: Blue\n"
    out = red.record(message(b"notification:updateUstx " + ou_json({"ustx": ustx}))).raw
    track = load_yaml(json.loads(out.split(b" ", 1)[1])["ustx"])["tracks"][0]
    assert track["phonemizer"].startswith("name-") and track["track_color"] == "Blue"

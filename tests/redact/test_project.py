"""The simulated project through updateUstx (OpenUtau style) and init (choc style)."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from utauproxy.peers.jsonstyle import CHOC, NEWTONSOFT, SYSTEM_TEXT_JSON, JsonStyle
from utauproxy.peers.ustx import to_ustx
from utauproxy.redact import TOKEN_PATTERN, is_token
from utauproxy.redact.yamlline import STRUCTURAL_LYRICS

from .helpers import (
    HOME,
    USER,
    all_strings,
    init_response,
    inverse_tokens,
    load_yaml,
    message,
    redactor,
    secret_project,
    secrets_of,
    shape,
    surviving,
    update_tracks,
    update_ustx,
)

_TOKEN = re.compile(TOKEN_PATTERN.encode())


def _ustx_of(raw: bytes) -> str:
    payload = json.loads(raw.split(b" ", 1)[1])
    ustx = payload["ustx"] if "ustx" in payload else payload["data"]["ustx"]
    assert isinstance(ustx, str)
    return ustx


def _undo(redacted: bytes, inverse: dict[str, str], escape: bool) -> bytes:
    def back(match: re.Match[bytes]) -> bytes:
        value = inverse[match.group(0).decode()]
        if escape:  # the value as choc writes it inside a JSON string
            return json.dumps(value)[1:-1].encode("ascii")
        return json.dumps(value, ensure_ascii=False)[1:-1].encode("utf-8")

    return _TOKEN.sub(back, redacted)


def test_no_secret_survives_either_style() -> None:
    project = secret_project()
    secrets = secrets_of(project)
    red = redactor()
    for raw in (update_ustx(project), init_response(project), update_tracks(project)):
        assert surviving(raw, secrets), "the search must find the secrets before redaction"
        out = red.record(message(raw)).raw
        assert surviving(out, secrets) == set()


def test_yaml_keeps_its_shape_and_strings_become_tokens() -> None:
    project = secret_project()
    original = load_yaml(to_ustx(project))
    for raw in (update_ustx(project), init_response(project)):
        redacted = load_yaml(_ustx_of(redactor().record(message(raw)).raw))
        assert shape(redacted) == shape(original)
        assert redacted["name"].startswith("name-")
        assert redacted["comment"].startswith("text-")
        assert redacted["output_dir"].startswith("path-")
        assert redacted["tracks"][0]["phonemizer"] == original["tracks"][0]["phonemizer"]
        assert redacted["expressions"] == original["expressions"]
        lyrics = [n["lyric"] for p in redacted["voice_parts"] for n in p["notes"]]
        assert "+" in lyrics and all(lyric in STRUCTURAL_LYRICS or is_token(lyric) for lyric in lyrics)


def test_only_the_redacted_strings_change() -> None:
    # Putting every token back gives the original bytes: header, key order, number formats,
    # escapes and JSON style are untouched.
    project = secret_project()
    inverse = inverse_tokens(all_strings(load_yaml(to_ustx(project))) | {t.track_name for t in project.tracks})
    red = redactor()
    for raw, escaped in ((update_ustx(project), False), (init_response(project), True),
                         (update_tracks(project), False)):
        out = red.record(message(raw)).raw
        assert out != raw
        assert _undo(out, inverse, escaped) == raw


def test_same_value_same_token_across_messages_and_styles() -> None:
    project = secret_project()
    red = redactor()
    from_ou = load_yaml(_ustx_of(red.record(message(update_ustx(project))).raw))
    from_choc = load_yaml(_ustx_of(red.record(message(init_response(project))).raw))
    assert from_ou == from_choc
    tracks = json.loads(red.record(message(update_tracks(project))).raw.split(b" ", 1)[1])
    assert [t["name"] for t in tracks["tracks"]] == [t["track_name"] for t in from_ou["tracks"]]


def test_a_resend_with_one_edit_changes_one_line() -> None:
    project = secret_project()
    red = redactor()
    first = _ustx_of(red.record(message(update_ustx(project))).raw).split("\n")
    edited = project.voice_parts[0].notes[3]
    parts = list(project.voice_parts)
    notes = list(parts[0].notes)
    notes[3] = dataclasses.replace(edited, lyric="ぱ" if edited.lyric != "ぱ" else "ば")
    parts[0] = dataclasses.replace(parts[0], notes=tuple(notes))
    second = _ustx_of(red.record(message(update_ustx(
        dataclasses.replace(project, voice_parts=tuple(parts))))).raw).split("\n")
    assert len(first) == len(second)
    assert sum(a != b for a, b in zip(first, second, strict=True)) == 1


def test_user_and_home_are_scrubbed_from_free_text() -> None:
    red = redactor()
    text = f"cannot open {HOME}/Music/song.ustx as {USER}; see C:\\Users\\{USER}\\x.log"
    scrubbed = red.scrub_text(text)
    assert USER not in scrubbed and HOME not in scrubbed
    assert re.search(r"path-[a-z2-7]{8}", scrubbed)
    assert scrubbed.startswith("cannot open ")


def test_short_english_lyrics_leave_our_own_sentences_alone_but_names_do_not() -> None:
    project = secret_project()
    notes = list(project.voice_parts[0].notes)
    notes[0] = dataclasses.replace(notes[0], lyric="the")
    parts = list(project.voice_parts)
    parts[0] = dataclasses.replace(parts[0], notes=tuple(notes))
    project = dataclasses.replace(project, voice_parts=tuple(parts))
    red = redactor()
    red.record(message(update_ustx(project)))
    name = project.tracks[0].track_name
    text = f"only 0.1 s since the previous ping on {name}"
    scrubbed = red.scrub_text(text)
    assert scrubbed.startswith("only 0.1 s since the previous ping on ")
    assert name not in scrubbed


@pytest.mark.parametrize("style", [NEWTONSOFT, CHOC, SYSTEM_TEXT_JSON],
                         ids=["newtonsoft", "choc", "system-text-json"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_every_peer_json_style_is_kept_byte_for_byte(style: JsonStyle, newline: str) -> None:
    # The peers' own writers (PROTOCOL.md §3.3, §5.1): raw UTF-8, choc's \uxxxx and \a,
    # System.Text.Json's \uXXXX for non-ASCII and HTML-sensitive characters (", ', +, <, &).
    project = secret_project()
    text = to_ustx(project).replace("\n", newline)
    raw = b"notification:updateUstx " + style.dumpb({"ustx": text})
    out = redactor().record(message(raw)).raw
    assert surviving(out, secrets_of(project)) == set()
    inverse = inverse_tokens(all_strings(load_yaml(text)))
    undone = _TOKEN.sub(lambda m: style.escape(inverse[m.group(0).decode()]).encode("utf-8"), out)
    assert undone == raw

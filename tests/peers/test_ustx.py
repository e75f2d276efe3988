"""The USTX writer matches OpenUtau's shape, is deterministic, and loads back."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from .helpers import real_lines
from utauproxy.peers.project import ProjectSpec, generate_project
from utauproxy.peers.ustx import UstxError, parse_ustx, to_ustx

TINY = ProjectSpec(notes=6, tracks=2, parts_per_track=1, curve_points=3)


def _real_ustx() -> str:
    line = real_lines("ou-to-plugin.bin")[1]
    return str(json.loads(line.split(b" ", 1)[1])["ustx"])


def _block(text: str, start: str, end: str) -> str:
    return text[text.index(start):text.index(end)]


def test_same_seed_same_text_and_different_seed_differs() -> None:
    assert to_ustx(generate_project(7, TINY)) == to_ustx(generate_project(7, TINY))
    assert to_ustx(generate_project(7, TINY)) != to_ustx(generate_project(8, TINY))


def test_default_project_is_big_multi_track_and_has_kana() -> None:
    project = generate_project(1)
    text = to_ustx(project)
    assert len(text.encode("utf-8")) >= 100_000
    assert len(project.tracks) >= 2 and len(project.voice_parts) >= 2
    assert sum(len(p.notes) for p in project.voice_parts) >= 200
    assert re.search(r"lyric: [\u3040-\u30ff]", text)  # Japanese kana, raw UTF-8
    assert "    vibrato: {length: " in text and "      - {x: " in text


def test_header_and_expression_table_match_real_openutau() -> None:
    real, ours = _real_ustx(), to_ustx(generate_project(3, TINY))
    assert ours.startswith("name: ")
    for line in ('comment: ""', "output_dir: Vocal", "cache_dir: UCache",
                 'ustx_version: "0.7"', "resolution: 480"):
        assert f"\n{line}\n" in ours and f"\n{line}\n" in real
    assert _block(ours, "expressions:", "exp_primary:") == _block(real, "expressions:", "exp_primary:")
    assert ours.endswith("\nwave_parts: []\n")


def test_note_lines_have_the_real_shape() -> None:
    real, ours = _real_ustx(), to_ustx(generate_project(3, TINY))

    def shapes(text: str) -> set[str]:
        block = text[text.index("voice_parts:"):]
        return {re.sub(r"-?[0-9]+", "N", re.sub(r": .*", ":", line))
                for line in block.splitlines() if line.startswith("    ")}

    assert shapes(ours) <= shapes(real)


def test_round_trip_through_the_loader() -> None:
    project = generate_project(5, ProjectSpec(notes=60, tracks=3, parts_per_track=2))
    text = to_ustx(project)
    assert parse_ustx(text) == project
    assert to_ustx(parse_ustx(text)) == text


@pytest.mark.parametrize("lyric", ["-", "true", "1.5", "a: b", "x #y", "on", "", "あ", "am[{ m]"])
def test_awkward_lyrics_survive_writing_and_loading(lyric: str) -> None:
    project = generate_project(2, TINY)
    part = project.voice_parts[0]
    notes = (replace(part.notes[0], lyric=lyric),) + part.notes[1:]
    edited = replace(project, voice_parts=(replace(part, notes=notes),) + project.voice_parts[1:])
    assert parse_ustx(to_ustx(edited)).voice_parts[0].notes[0].lyric == lyric


def test_loads_the_real_projects_including_a_bom() -> None:
    project = parse_ustx(_real_ustx())
    assert [t.track_name for t in project.tracks] == ["main", "hamo", "test", "Track5"]
    assert project.tempo == 150
    stored = json.loads(real_lines("plugin-to-ou.bin")[1].split(b" ", 1)[1])["data"]["ustx"]
    assert stored.startswith("\ufeff")
    assert parse_ustx(stored).tracks[0].volume == pytest.approx(6.2926829268292686)


@pytest.mark.parametrize("text", ["", "- just\n- a list\n", "name: x\ntracks: 5\n", "{{{"])
def test_garbage_is_a_ustx_error(text: str) -> None:
    with pytest.raises(UstxError):
        parse_ustx(text)

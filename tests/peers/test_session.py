"""Edits, rendered audio and generated sessions: deterministic, and sized as promised."""

from __future__ import annotations

import random

import pytest

from utauproxy.peers.edits import (
    AddNote,
    EditError,
    RemoveNote,
    SetDuration,
    SetLyric,
    SetTone,
    SetTrackPan,
    SetTrackVolume,
    apply_edit,
    rerendered_parts,
)
from utauproxy.peers.project import ProjectSpec, generate_project
from utauproxy.peers.render import AudioStyle, audio_bytes_for_seconds, float_count, render_part
from utauproxy.peers.session import StepKind, generate_session, realistic_session
from utauproxy.peers.ustx import to_ustx
from utauproxy.protocol.audio import encode_audio_payload

SMALL = ProjectSpec(notes=8, tracks=2, parts_per_track=1, part_seconds=0.05, curve_points=3)


def test_float_count_follows_openutau_formula() -> None:
    # PROTOCOL.md §3.4's toy example: 0.0..0.07 ms -> (int)3.087 * 2 = 6 floats.
    assert float_count(0.0, 0.07) == 6
    assert audio_bytes_for_seconds(180) == 63_504_000  # "a 3-min part is ~63.5 MB"


def test_rendered_audio_matches_the_part_span_and_depends_on_content() -> None:
    project = generate_project(4, SMALL)
    for index in range(len(project.voice_parts)):
        audio = render_part(project, index)
        assert len(audio) == float_count(*project.part_span_ms(index)) * 4
        assert any(audio)  # not silence
    lyric = "\u3093" if project.voice_parts[0].notes[0].lyric != "\u3093" else "\u3042"
    relyric = apply_edit(project, SetLyric(0, 0, lyric))
    assert render_part(relyric, 0) != render_part(project, 0)
    assert render_part(relyric, 1) == render_part(project, 1)
    assert render_part(project, 0) == render_part(generate_project(4, SMALL), 0)


def test_noisy_audio_compresses_like_real_renders_and_tones_do_not() -> None:
    spec = ProjectSpec(notes=8, tracks=1, parts_per_track=1, part_seconds=1.0)
    project = generate_project(4, spec)
    tone = render_part(project, 0, style=AudioStyle.TONE)
    noisy = render_part(project, 0, style=AudioStyle.NOISY, seed=1)
    assert len(tone) == len(noisy)
    assert len(encode_audio_payload(tone, "zstd")) < len(tone) // 10
    assert len(encode_audio_payload(noisy, "zstd")) > len(noisy) // 2


def test_each_edit_kind_changes_what_it_says() -> None:
    project = generate_project(9, SMALL)
    part = project.voice_parts[0]
    assert apply_edit(project, SetLyric(0, 1, "\u304b")).voice_parts[0].notes[1].lyric == "\u304b"
    assert apply_edit(project, SetTone(0, 1, 50)).voice_parts[0].notes[1].tone == 50
    assert apply_edit(project, SetDuration(0, 1, 7)).voice_parts[0].notes[1].duration == 7
    assert apply_edit(project, SetTrackVolume(1, -3.5)).tracks[1].volume == -3.5
    assert apply_edit(project, SetTrackPan(0, 25.0)).tracks[0].pan == 25.0
    added = apply_edit(project, AddNote(0, part.notes[-1].end, 10, 60, "\u3089"))
    assert len(added.voice_parts[0].notes) == len(part.notes) + 1
    assert added.voice_parts[0].duration >= part.notes[-1].end + 10
    assert len(apply_edit(project, RemoveNote(0, 0)).voice_parts[0].notes) == len(part.notes) - 1
    assert rerendered_parts(SetTrackVolume(0, 1.0)) == frozenset()
    assert rerendered_parts(SetLyric(1, 0, "a")) == frozenset({1})
    with pytest.raises(EditError):
        apply_edit(project, SetLyric(5, 0, "a"))
    assert project == generate_project(9, SMALL)  # edits never mutate


def test_same_seed_same_session_bytes() -> None:
    first = generate_session(11, edits=15, audio_seconds=0.05)
    second = generate_session(11, edits=15, audio_seconds=0.05)
    assert first == second
    assert first.final_ustx() == second.final_ustx()
    assert first.render(first.final_project, 0) == second.render(second.final_project, 0)
    assert generate_session(12, edits=15, audio_seconds=0.05).final_ustx() != first.final_ustx()


def test_session_timeline_is_ordered_and_renders_follow_their_edits() -> None:
    scenario = generate_session(3, edits=20)
    kinds = [s.kind for s in scenario.steps]
    assert kinds[0] is StepKind.CONNECT and kinds[-1] is StepKind.DISCONNECT
    assert [s.at for s in scenario.steps] == sorted(s.at for s in scenario.steps)
    assert len(scenario.edits) == 20
    edited_at: dict[int, float] = {}
    for step in scenario.steps:
        if step.kind is StepKind.EDIT and step.edit is not None:
            for part in rerendered_parts(step.edit):
                edited_at[part] = step.at
        elif step.kind is StepKind.RENDER_DONE and step.part is not None:
            assert edited_at[step.part] <= step.at
    # Quiet long enough before disconnecting for P2's 5 s debounce to fire.
    assert scenario.steps[-1].at - scenario.steps[-2].at > 5.0


def test_realistic_session_meets_the_benchmark_requirements() -> None:
    scenario = realistic_session(1, audio_seconds=0.05)
    sizes = [len(to_ustx(p).encode("utf-8")) for p in scenario.projects()]
    assert min(sizes) >= 100_000
    assert len(scenario.edits) >= 200
    # With a 1 s ustx debounce (P2.1+) every edit leads to at least one full resend.
    assert scenario.predicted_bursts(1.0) >= 200
    # The edits are small: consecutive projects differ by a tiny fraction of the text.
    assert max(abs(a - b) for a, b in zip(sizes, sizes[1:])) < 2_000


def test_random_edits_keep_projects_valid() -> None:
    rng = random.Random(5)
    scenario = generate_session(rng.randrange(100), edits=60, audio_seconds=0.05)
    for project in scenario.projects():
        for part in project.voice_parts:
            assert part.notes and all(n.duration >= 1 for n in part.notes)
            assert part.duration >= max(n.end for n in part.notes)

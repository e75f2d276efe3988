"""One change between two captures of the same session gives exactly one precise difference,
however many messages carry it; everything else (ids, timing, pings) stays noise."""

from __future__ import annotations

import struct
from dataclasses import replace
from pathlib import Path

import pytest

from utauproxy.diff import DiffOptions, DiffReport, diff_captures
from utauproxy.peers.edits import SetLyric, SetTrackPan, apply_edit
from utauproxy.peers.project import Project, ProjectSpec, generate_project

from .sessions import Render, default_render, synthetic_capture

SPEC = ProjectSpec(notes=12, tracks=2, parts_per_track=1, part_seconds=1.0, curve_points=4)


@pytest.fixture(scope="module")
def project() -> Project:
    return generate_project(11, SPEC)


def edited(project: Project) -> list[Project]:
    """Three syncs: the project, then two edits of part 1 (each resends the whole USTX)."""
    first = apply_edit(project, SetLyric(1, 0, "ら"))
    return [project, first, apply_edit(first, SetLyric(1, 1, "り"))]


def diff(tmp_path: Path, projects_a: list[Project], projects_b: list[Project],
         options: DiffOptions | None = None, *, render: Render = default_render,
         render_b: Render | None = None) -> DiffReport:
    a = synthetic_capture(tmp_path / "a.utpcap", projects_a, seed=1, render=render)
    b = synthetic_capture(tmp_path / "b.utpcap", projects_b, seed=2, render=render_b or render)
    return diff_captures(a, b, options)


def lyric_blind(project: Project, index: int) -> bytes:
    """The audio as if lyrics did not colour the tone (the simulated renderer's do)."""
    part = project.voice_parts[index]
    notes = tuple(replace(note, lyric="a") for note in part.notes)
    parts = list(project.voice_parts)
    parts[index] = replace(part, notes=notes)
    return default_render(replace(project, voice_parts=tuple(parts)), index)


def test_same_session_with_other_ids_and_timing_is_equivalent(tmp_path: Path, project: Project) -> None:
    report = diff(tmp_path, edited(project), edited(project))
    assert report.equivalent, report.render()
    assert report.changed == report.only_a == report.only_b == 0
    assert report.identical > 0 and report.noise["ids"] > 0  # the ids did differ


def test_one_changed_lyric_is_one_difference(tmp_path: Path, project: Project) -> None:
    note = project.voice_parts[1].notes[4]
    changed = apply_edit(project, SetLyric(1, 4, "ゔ"))
    # A renderer that ignores lyrics: the audio stays the same, only the lyric differs.
    report = diff(tmp_path, edited(project), edited(changed), render=lyric_blind)
    assert not report.equivalent
    assert len(report.differences) == 1, report.render()
    [difference] = report.differences
    assert difference.subject == f"ustx:voice_parts[1].notes[@{note.position}].lyric"
    assert (difference.a, difference.b) == (f'"{note.lyric}"', '"ゔ"')
    assert difference.labels == {"notification:updateUstx": 3}  # every resend, reported once
    assert report.changed == 3 and report.only_a == report.only_b == 0


def test_one_changed_track_pan_is_one_difference(tmp_path: Path, project: Project) -> None:
    pan = 40.0 if project.tracks[1].pan != 40.0 else -40.0
    report = diff(tmp_path, edited(project), edited(apply_edit(project, SetTrackPan(1, pan))))
    assert len(report.differences) == 1, report.render()
    [difference] = report.differences
    assert difference.subject == "track[1].pan"
    assert (difference.a, difference.b) == (_num(project.tracks[1].pan), _num(pan))
    # updateTracks and the USTX both carry it; it is one difference seen in both.
    assert difference.labels == {"notification:updateTracks": 3, "notification:updateUstx": 3}


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def test_one_rerendered_part_is_one_audio_difference(tmp_path: Path, project: Project) -> None:
    def quieter_part_0(p: Project, index: int) -> bytes:
        samples = default_render(p, index)
        if index != 0:
            return samples
        floats = struct.unpack(f"<{len(samples) // 4}f", samples)
        return struct.pack(f"<{len(floats)}f", *(x * 0.999 for x in floats))

    report = diff(tmp_path, edited(project), edited(project), render_b=quieter_part_0)
    audio = [d for d in report.differences if d.audio is not None]
    assert len(report.differences) == 1 and len(audio) == 1, report.render()
    [difference] = audio
    start, end = project.part_span_ms(0)
    assert difference.subject == f"audio of part on track 0, {start:g}–{end:g} ms"
    assert difference.audio is not None and difference.audio.text.startswith("same length, −")
    assert difference.audio.text.endswith("dB RMS difference")
    assert -80 < difference.audio.rms_db < -40
    # The layout, the plugin's missingAudios and the updateAudio all name that audio.
    assert set(difference.labels) == {"request:updatePartLayout", "response:updatePartLayout",
                                      "notification:updateAudio"}


def test_an_added_note_is_one_difference_not_a_shift(tmp_path: Path, project: Project) -> None:
    part = project.voice_parts[0]
    first = part.notes[0]
    shorter = replace(first, duration=first.duration // 2)
    added = replace(first, position=first.position + shorter.duration, duration=first.duration - shorter.duration,
                    lyric="ん")
    parts = list(project.voice_parts)
    parts[0] = replace(part, notes=(shorter, added, *part.notes[1:]))
    changed = replace(project, voice_parts=tuple(parts))
    report = diff(tmp_path, [project], [changed], render=lambda p, i: default_render(project, i))
    subjects = {d.subject: (d.a, d.b) for d in report.differences}
    assert subjects == {
        f"ustx:voice_parts[0].notes[@{first.position}].duration": (str(first.duration), str(shorter.duration)),
        f"ustx:voice_parts[0].notes[@{added.position}]": ("(absent)", f'"ん" tone {added.tone}, {added.duration} ticks'),
    }


def test_ignore_path_hides_exactly_that_path(tmp_path: Path, project: Project) -> None:
    pan = 40.0 if project.tracks[1].pan != 40.0 else -40.0
    changed = edited(apply_edit(project, SetTrackPan(1, pan)))
    assert diff(tmp_path, edited(project), changed, DiffOptions(ignore_paths=("track[1].pan",))).equivalent
    (tmp_path / "a.utpcap").unlink()
    (tmp_path / "b.utpcap").unlink()
    # A prefix of the name is not a path: `track[1].pa` must not hide `track[1].pan`.
    report = diff(tmp_path, edited(project), changed, DiffOptions(ignore_paths=("track[1].pa", "pan")))
    assert [d.subject for d in report.differences] == ["track[1].pan"]


def test_a_small_memory_budget_gives_the_same_report(tmp_path: Path, project: Project) -> None:
    changed = edited(apply_edit(project, SetLyric(1, 2, "ゑ")))
    roomy = diff(tmp_path, edited(project), changed)
    tight = diff_captures(tmp_path / "a.utpcap", tmp_path / "b.utpcap", DiffOptions(memory_budget=1))
    assert tight.as_dict() == roomy.as_dict()
    assert roomy.differences  # the details did need re-reading

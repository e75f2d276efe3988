"""Edits a user makes in OpenUtau, as data: apply one to a project, get the new project.

Each edit names what it touches by index, so a scenario is a plain list that replays the same
way every time. `rerendered_parts` says which voice parts must be rendered again: note edits
change a part's audio, volume and pan do not (the plugin applies them, PROTOCOL.md §3.2).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import TypeAlias

from utauproxy.peers.project import ENGLISH, KANA, Project, Track, VoicePart, random_note


@dataclass(frozen=True, slots=True)
class SetLyric:
    part: int
    note: int
    lyric: str


@dataclass(frozen=True, slots=True)
class SetTone:
    part: int
    note: int
    tone: int


@dataclass(frozen=True, slots=True)
class SetDuration:
    part: int
    note: int
    duration: int


@dataclass(frozen=True, slots=True)
class SetTrackVolume:
    track: int
    volume: float


@dataclass(frozen=True, slots=True)
class SetTrackPan:
    track: int
    pan: float


@dataclass(frozen=True, slots=True)
class AddNote:
    part: int
    position: int
    duration: int
    tone: int
    lyric: str


@dataclass(frozen=True, slots=True)
class RemoveNote:
    part: int
    note: int


Edit: TypeAlias = (
    SetLyric | SetTone | SetDuration | SetTrackVolume | SetTrackPan | AddNote | RemoveNote
)


class EditError(ValueError):
    """The edit does not fit the project (an index out of range)."""


def rerendered_parts(edit: Edit) -> frozenset[int]:
    """Voice parts whose audio the edit invalidates."""
    if isinstance(edit, SetTrackVolume | SetTrackPan):
        return frozenset()
    return frozenset({edit.part})


def apply_edit(project: Project, edit: Edit) -> Project:
    """The project after the edit. Raises EditError when an index does not exist."""
    try:
        if isinstance(edit, SetTrackVolume):
            track = replace(_track(project, edit.track), volume=float(edit.volume))
            return _with_track(project, edit.track, track)
        if isinstance(edit, SetTrackPan):
            track = replace(_track(project, edit.track), pan=float(edit.pan))
            return _with_track(project, edit.track, track)
        return _with_part(project, edit.part, _edit_part(project.voice_parts[edit.part], edit))
    except IndexError:
        raise EditError(f"{edit!r} does not fit the project") from None


def _track(project: Project, index: int) -> Track:
    if not 0 <= index < len(project.tracks):
        raise IndexError(index)
    return project.tracks[index]


def _with_track(project: Project, index: int, track: Track) -> Project:
    tracks = list(project.tracks)
    tracks[index] = track
    return replace(project, tracks=tuple(tracks))


def _with_part(project: Project, index: int, part: VoicePart) -> Project:
    if not 0 <= index < len(project.voice_parts):
        raise IndexError(index)
    parts = list(project.voice_parts)
    parts[index] = part
    return replace(project, voice_parts=tuple(parts))


def _edit_part(part: VoicePart, edit: Edit) -> VoicePart:
    notes = list(part.notes)
    if isinstance(edit, AddNote):
        note = random_note(random.Random(edit.position), edit.position, edit.duration,
                           edit.tone, 0)
        notes.append(replace(note, lyric=edit.lyric))
        notes.sort(key=lambda n: n.position)
        return replace(part, notes=tuple(notes), duration=max(part.duration, note.end))
    if isinstance(edit, SetLyric | SetTone | SetDuration | RemoveNote):
        if not 0 <= edit.note < len(notes):
            raise IndexError(edit.note)
    if isinstance(edit, RemoveNote):
        del notes[edit.note]
    elif isinstance(edit, SetLyric):
        notes[edit.note] = replace(notes[edit.note], lyric=edit.lyric)
    elif isinstance(edit, SetTone):
        notes[edit.note] = replace(notes[edit.note], tone=edit.tone)
    elif isinstance(edit, SetDuration):
        notes[edit.note] = replace(notes[edit.note], duration=edit.duration)
    end = max((n.end for n in notes), default=0)
    return replace(part, notes=tuple(notes), duration=max(part.duration, end))


def random_edit(project: Project, rng: random.Random) -> Edit:
    """A small edit of the kind users make all the time; mostly lyrics and tones."""
    roll = rng.random()
    if roll < 0.08 and project.tracks:
        track = rng.randrange(len(project.tracks))
        return SetTrackVolume(track, rng.choice((-12.0, -6.0, -3.5, 0.0, 1.5, 4.0)))
    if roll < 0.14 and project.tracks:
        pan = rng.choice((-50.0, -20.0, 0.0, 25.0))
        return SetTrackPan(rng.randrange(len(project.tracks)), pan)
    part_index = rng.randrange(len(project.voice_parts))
    part = project.voice_parts[part_index]
    if not part.notes or roll < 0.2:
        return _add_note(part_index, part, rng)
    note_index = rng.randrange(len(part.notes))
    note = part.notes[note_index]
    if roll < 0.25 and len(part.notes) > 1:
        return RemoveNote(part_index, note_index)
    if roll < 0.6:
        return SetLyric(part_index, note_index, rng.choice(KANA + ENGLISH[:4] + ("+",)))
    if roll < 0.85:
        tone = min(84, max(48, note.tone + rng.choice((-2, -1, 1, 2))))
        return SetTone(part_index, note_index, tone)
    following = part.notes[note_index + 1].position if note_index + 1 < len(part.notes) else None
    room = (following - note.position) if following is not None else note.duration * 2
    return SetDuration(part_index, note_index, max(1, min(room, rng.choice((120, 240, 480, 960)))))


def _add_note(index: int, part: VoicePart, rng: random.Random) -> AddNote:
    last = part.notes[-1] if part.notes else None
    position = last.end if last is not None else 0
    # As long as its neighbour, so projects squeezed to tiny parts stay tiny.
    duration = last.duration if last is not None else 240
    tone = last.tone if last is not None else 64
    return AddNote(index, position, duration, tone, rng.choice(KANA))

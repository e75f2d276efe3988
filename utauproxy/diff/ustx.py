"""Two USTX texts compared as projects, not as text (PROTOCOL.md §3.5). Pure.

The pairing follows the project model of `utauproxy.peers.project`: tracks by index, field by
field; voice parts by track and position (a part that moved pairs with its old self when it is
the only candidate on its track); notes by their position in the part, so an added note is one
difference, not a shift of every later note. Everything the model does not cover (expressions,
tempos, wave parts, curves, …) is still compared, structurally, so nothing is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from utauproxy.diff.findings import ABSENT, Finding, show
from utauproxy.diff.values import walk

# Fields of a track that updateTracks also carries, under its own names (PROTOCOL.md §3.2):
# a change shows once, under one subject, wherever it was seen.
_TRACK_FIELDS = {"track_name": "name", "mute": "muted", "renderer_settings.renderer": "engine"}
_TRACK_PATH = re.compile(r"tracks\[(\d+)\]\.(.+)\Z")


def track_subject(index: str, field: str) -> str:
    return f"track[{index}].{_TRACK_FIELDS.get(field, field)}"


def ustx_subject(path: str) -> str:
    """The subject of a USTX path, wherever the text was carried (`data.ustx:` in an init
    response, `ustx:` in updateUstx); track fields share updateTracks' subjects."""
    inner = path.split(":", 1)[1] if ":" in path else path
    match = _TRACK_PATH.match(inner)
    if match:
        return track_subject(match.group(1), match.group(2))
    return f"ustx:{inner}"


def compare_ustx(a: dict[str, Any], b: dict[str, Any], prefix: str) -> list[Finding]:
    """Differences between two USTX documents; paths start with `prefix` (e.g. `ustx:`)."""
    out: list[Finding] = []
    rest_a = {k: v for k, v in a.items() if k not in ("tracks", "voice_parts")}
    rest_b = {k: v for k, v in b.items() if k not in ("tracks", "voice_parts")}
    walk(rest_a, rest_b, prefix, ustx_subject, out)
    walk(_list(a.get("tracks")), _list(b.get("tracks")), prefix + "tracks", ustx_subject, out)
    _compare_parts(_list(a.get("voice_parts")), _list(b.get("voice_parts")), prefix, out)
    return out


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _compare_parts(a: list[Any], b: list[Any], prefix: str, out: list[Finding]) -> None:
    for index, left, right in _pair_parts(a, b):
        path = f"{prefix}voice_parts[{index}]"
        if left is None or right is None:
            shown_a = ABSENT if left is None else _part_text(left)
            shown_b = ABSENT if right is None else _part_text(right)
            out.append(Finding(ustx_subject(path), path, shown_a, shown_b))
            continue
        if not (isinstance(left, dict) and isinstance(right, dict)):
            walk(left, right, path, ustx_subject, out)
            continue
        walk({k: v for k, v in left.items() if k != "notes"},
             {k: v for k, v in right.items() if k != "notes"}, path, ustx_subject, out)
        _compare_notes(_list(left.get("notes")), _list(right.get("notes")), path + ".notes", out)


def _part_key(part: Any) -> tuple[Any, Any]:
    if isinstance(part, dict):
        return (part.get("track_no"), part.get("position"))
    return (None, None)


def _pair_parts(a: list[Any], b: list[Any]) -> Iterator[tuple[int, Any, Any]]:
    """(index in A, or in B for an added part; A's part or None; B's part or None)."""
    by_key: dict[tuple[Any, Any], list[int]] = {}
    for index, part in enumerate(b):
        by_key.setdefault(_part_key(part), []).append(index)
    used: set[int] = set()
    pending: list[int] = []
    pairs: dict[int, int] = {}
    for index, part in enumerate(a):
        candidates = by_key.get(_part_key(part))
        if candidates:
            pairs[index] = candidates.pop(0)
            used.add(pairs[index])
        else:
            pending.append(index)
    for index in pending:  # a part that moved: the first unpaired part on the same track
        track = _part_key(a[index])[0]
        match = next((j for j, part in enumerate(b) if j not in used and _part_key(part)[0] == track), None)
        if match is not None:
            pairs[index] = match
            used.add(match)
    for index, part in enumerate(a):
        yield index, part, (b[pairs[index]] if index in pairs else None)
    for index, part in enumerate(b):
        if index not in used:
            yield index, None, part


def _part_text(part: Any) -> str:
    if not isinstance(part, dict):
        return show(part)
    notes = len(_list(part.get("notes")))
    return (f"{show(part.get('name'))} on track {part.get('track_no')} at tick "
            f"{part.get('position')}, {notes} notes")


def _compare_notes(a: list[Any], b: list[Any], path: str, out: list[Finding]) -> None:
    left, right = _by_position(a), _by_position(b)
    for key, note in left.items():
        where = f"{path}[{_key_text(key)}]"
        if key not in right:
            out.append(Finding(ustx_subject(where), where, _note_text(note), ABSENT))
        else:
            walk(_fields(note), _fields(right[key]), where, ustx_subject, out)
    for key, note in right.items():
        if key not in left:
            where = f"{path}[{_key_text(key)}]"
            out.append(Finding(ustx_subject(where), where, ABSENT, _note_text(note)))


def _by_position(notes: list[Any]) -> dict[tuple[Any, int], Any]:
    """Notes keyed by position; a second note at the same tick gets the next occurrence."""
    keyed: dict[tuple[Any, int], Any] = {}
    for note in notes:
        position = note.get("position") if isinstance(note, dict) else None
        occurrence = 0
        while (position, occurrence) in keyed:
            occurrence += 1
        keyed[(position, occurrence)] = note
    return keyed


def _key_text(key: tuple[Any, int]) -> str:
    position, occurrence = key
    return f"@{position}" + (f"#{occurrence}" if occurrence else "")


def _fields(note: Any) -> Any:
    return {k: v for k, v in note.items() if k != "position"} if isinstance(note, dict) else note


def _note_text(note: Any) -> str:
    if not isinstance(note, dict):
        return show(note)
    return f"{show(note.get('lyric'))} tone {note.get('tone')}, {note.get('duration')} ticks"

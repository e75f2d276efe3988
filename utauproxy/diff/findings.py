"""What a diff finds: one difference at one place, and how values are shown. Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from utauproxy.diff.canon import canonical_number
from utauproxy.replay.compare import preview

ABSENT = "(absent)"


@dataclass(frozen=True, slots=True)
class Finding:
    """One difference between an aligned pair of messages (or two connections).

    `subject` names what differs without saying where it was seen, so the same difference in
    many messages (a changed lyric in every later USTX resend, a pan in updateTracks and in
    the USTX) is reported once: `track[1].pan`, `ustx:voice_parts[0].notes[@480].lyric`,
    `audio of part on track 0, 0–4000 ms`. `path` is where it is in this message's payload.
    `rule` is set when a noise rule switched off by the user made this a difference.
    `audio` links an audio difference to its sample comparison (a pair of normalised hashes).
    """

    subject: str
    path: str
    a: str
    b: str
    note: str = ""
    rule: str | None = None
    audio: tuple[int, int] | None = None


def show(value: Any) -> str:
    """A short rendering of a parsed value; numbers by value, so `30.0` and `30` agree."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return json.dumps(canonical_number(value))
    return preview(value)


def show_text(text: str) -> str:
    """A rendering from replay's compare, with JSON numbers canonicalised (`30.0` -> `30`)."""
    if text and (text[0].isdigit() or text[0] == "-") and len(text) < 40:
        try:
            value = json.loads(text)
        except ValueError:
            return text
        if isinstance(value, int | float) and not isinstance(value, bool):
            return show(value)
    return text

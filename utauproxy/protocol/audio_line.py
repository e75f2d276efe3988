"""Where the audio sits in an `updateAudio` line, and which part each audio belongs to.

Pure helpers for the capture writer, which stores audio decoded (DESIGN.md §4 "Small"):
`audio_texts` finds the base64 values of `{"audios":{"<hash>":"<base64>", ...}}` (PROTOCOL.md
§3.2) without parsing a multi-MB JSON document, and `layout_slots` reads the
`updatePartLayout` request that names, for each hash, the part it renders (§3.6 (b): the
layout always comes first). Neither judges the line: whatever they point at is checked by
the caller byte for byte, so an odd line only means less is found.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeAlias, TypeGuard

import pybase64

from utauproxy.protocol.audio import UPDATE_AUDIO_HEAD, strict_b64_pieces

# (trackNo, startMs): a part of the arrangement, whose renders follow one another.
Slot: TypeAlias = tuple[int, float]

# Newtonsoft writes `"<hash>":"<base64>"` with nothing between key and value (§3.3); a base64
# value contains neither quotes nor backslashes, so its end is the next quote.
_KEY_END_VALUE_START = b'":"'
_QUOTE = b'"'
_MAX_DIGITS = 20  # a hash is at most a uint64; longer "numbers" are not hashes
_PAD = ord("=")


@dataclass(frozen=True, slots=True)
class AudioText:
    """One value of the `audios` map: raw[start:end] is its text, `key` the hash it is
    filed under (None when the key is not a decimal integer)."""

    start: int
    end: int
    key: int | None


def audio_texts(raw: bytes, min_length: int = 1) -> list[AudioText]:
    """The string values of an updateAudio line at least `min_length` characters long, in
    line order; [] for any other line."""
    if not raw.startswith(UPDATE_AUDIO_HEAD):
        return []
    found: list[AudioText] = []
    pos = len(UPDATE_AUDIO_HEAD)
    while (key_end := raw.find(_KEY_END_VALUE_START, pos)) >= 0:
        start = key_end + len(_KEY_END_VALUE_START)
        end = raw.find(_QUOTE, start)
        if end < 0:
            break
        if end - start >= min_length:
            key_start = raw.rfind(_QUOTE, pos, key_end) + 1
            found.append(AudioText(start, end, _decimal(raw[key_start:key_end])))
        pos = end + 1
    return found


@dataclass(frozen=True, slots=True)
class Base64Text:
    """Text that is standard padded base64 (RFC 4648 §4) if `exact_pieces` says so: the
    bytes it decodes to, proven by encoding them back to the same text (DESIGN.md §4)."""

    text: memoryview

    @property
    def decoded_len(self) -> int:
        """What it decodes to, if it decodes: 3 bytes per 4 characters, less the padding."""
        text = self.text
        padding = (len(text) >= 1 and text[-1] == _PAD) + (len(text) >= 2 and text[-2] == _PAD)
        return len(text) // 4 * 3 - padding

    def exact(self) -> bytes | None:
        """All of the decoded bytes, or None when the text is not exactly their base64."""
        try:
            return b"".join(self.exact_pieces())
        except ValueError:
            return None

    def exact_pieces(self) -> Iterator[bytes]:
        """The decoded bytes, a few MiB at a time (a 64 MiB line is never held decoded).
        Raises ValueError at the first piece that does not encode back to its text."""
        for text, decoded in strict_b64_pieces(self.text):
            if pybase64.b64encode(decoded) != text.tobytes():  # memoryview == is 70x slower
                raise ValueError("base64 text that is not the canonical encoding of its bytes")
            yield decoded


def layout_slots(body: bytes) -> dict[int, Slot]:
    """hash -> the slot of the part it renders, from the JSON body of an updatePartLayout
    request; {} when the body is not a layout."""
    try:
        layout = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    parts = layout.get("parts") if isinstance(layout, dict) else None
    slots: dict[int, Slot] = {}
    for part in parts if isinstance(parts, list) else ():
        if not isinstance(part, dict):
            continue
        audio_hash, track, start = part.get("audioHash"), part.get("trackNo"), part.get("startMs")
        if _is_int(audio_hash) and _is_int(track) and isinstance(start, (int, float)):
            slots.setdefault(audio_hash, (track, float(start)))
    return slots


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _decimal(text: bytes) -> int | None:
    # P2/P3 keys are uint, P5+ signed int32 (PROTOCOL.md §4); both are plain decimals.
    digits = text[1:] if text.startswith(b"-") else text
    return int(text) if 0 < len(digits) <= _MAX_DIGITS and digits.isdigit() else None

"""Rendered audio of a voice part, cheap to make: float32 LE stereo, 44.1 kHz (PROTOCOL.md §3.4).

Each note is a sine at its pitch, one period computed and then tiled, so a 3-minute part
(~63.5 MB of floats) takes milliseconds. Pure tones compress to almost nothing; the NOISY
style randomises the low 16 mantissa bits of every float, which makes zstd/gzip behave the
way they do on real renders (most of the bytes survive compression), for benchmarks.

The audio is a pure function of the part's content and the seed: an edit changes it, undoing
the edit gives the same bytes (and so the same hash) back, as a deterministic renderer would.
"""

from __future__ import annotations

import math
import random
import sys
import zlib
from array import array
from enum import StrEnum
from functools import lru_cache

import xxhash

from utauproxy.peers.project import Note, Project

SAMPLE_RATE = 44100
CHANNELS = 2
BYTES_PER_FLOAT = 4


class AudioStyle(StrEnum):
    TONE = "tone"  # pure sines: tiny on the wire, fast
    NOISY = "noisy"  # sines with noisy low mantissa bits: realistic compressed sizes


def float_count(start_ms: float, end_ms: float) -> int:
    """Floats (interleaved L,R) OpenUtau sends for a part spanning start..end ms: C#'s
    `(int)((endMs-startMs)*44100/1000)*2`, truncation toward zero included (§3.4)."""
    return int((end_ms - start_ms) * SAMPLE_RATE / 1000) * CHANNELS


def audio_bytes_for_seconds(seconds: float) -> int:
    """Size of `seconds` of rendered stereo float32 audio (a 3-minute part is ~63.5 MB)."""
    return float_count(0.0, seconds * 1000) * BYTES_PER_FLOAT


@lru_cache(maxsize=512)
def _period(tone: int, amplitude_milli: int) -> bytes:
    """One period of a stereo sine at MIDI `tone`, float32 little-endian."""
    frequency = 440.0 * 2 ** ((tone - 69) / 12)
    frames = max(2, round(SAMPLE_RATE / frequency))
    amplitude = amplitude_milli / 1000
    samples = array("f")
    for n in range(frames):
        value = amplitude * math.sin(2 * math.pi * n / frames)
        samples.append(value)
        samples.append(value)
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def _amplitude_milli(note: Note) -> int:
    # The lyric colours the tone, so a lyric edit changes the audio like a real re-render.
    return 100 + zlib.crc32(note.lyric.encode("utf-8")) % 200


def _tile(pattern: bytes, size: int) -> bytes:
    return (pattern * (size // len(pattern) + 1))[:size]


def part_content_key(project: Project, index: int) -> int:
    """A stable 64-bit key of everything that shapes a part's audio."""
    part = project.voice_parts[index]
    text = repr((part.position, part.duration, part.notes, project.tempo, project.resolution))
    return xxhash.xxh64_intdigest(text.encode("utf-8"))


def render_part(project: Project, index: int, *, style: AudioStyle = AudioStyle.TONE,
                seed: int = 0) -> bytes:
    """The rendered samples of voice part `index`: exactly `float_count(startMs, endMs)`
    floats, so the layout's span and the audio always agree."""
    part = project.voice_parts[index]
    start_ms, end_ms = project.part_span_ms(index)
    total = float_count(start_ms, end_ms) * BYTES_PER_FLOAT
    audio = bytearray(total)
    frame_bytes = CHANNELS * BYTES_PER_FLOAT
    for note in part.notes:
        first = _frame_at(project, part.position + note.position, start_ms) * frame_bytes
        last = min(total, _frame_at(project, part.position + note.end, start_ms) * frame_bytes)
        if first < last:
            audio[first:last] = _tile(_period(note.tone, _amplitude_milli(note)), last - first)
    if style is AudioStyle.NOISY and total:
        rng = random.Random(seed ^ part_content_key(project, index))
        floats = total // BYTES_PER_FLOAT
        audio[0::4] = rng.randbytes(floats)
        audio[1::4] = rng.randbytes(floats)
    return bytes(audio)


def _frame_at(project: Project, tick: int, start_ms: float) -> int:
    return max(0, int((project.tick_to_ms(tick) - start_ms) * SAMPLE_RATE / 1000))

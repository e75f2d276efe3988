"""Two rendered audio buffers compared by their samples, with a short verdict. Pure.

Samples are float32 LE, interleaved stereo, 44.1 kHz (PROTOCOL.md §3.4). The verdict says what
a listener would want to know first: identical, longer or shorter by how much, and how loud
the difference is (RMS of the sample difference over the common length, in dB full scale).
"""

from __future__ import annotations

import math
import operator
import sys
from array import array
from dataclasses import dataclass

from utauproxy.protocol.audio import (
    BYTES_PER_FLOAT,
    CHANNELS,
    SAMPLE_RATE,
    unsigned_xxh32,
)

_CHUNK_FLOATS = 1 << 18  # bounds the temporary lists of the difference computation
_SILENT_DB = -200.0


@dataclass(frozen=True, slots=True)
class AudioVerdict:
    seconds_a: float
    seconds_b: float
    xxh32_a: int
    xxh32_b: int
    identical: bool
    max_difference: float  # largest absolute sample difference over the common length
    rms_db: float  # RMS of the difference over the common length, dBFS (-200: none)

    @property
    def text(self) -> str:
        """"identical", "same length, −62 dB RMS difference", "0.35 s longer", ..."""
        if self.identical:
            return "identical"
        delta = self.seconds_b - self.seconds_a
        if abs(delta) < 0.5 / SAMPLE_RATE:
            return f"same length, {_db(self.rms_db)} RMS difference"
        length = f"{abs(delta):.2f} s {'longer' if delta > 0 else 'shorter'}"
        if self.rms_db <= _SILENT_DB:
            return length
        return f"{length}, {_db(self.rms_db)} RMS difference over the common {min(self.seconds_a, self.seconds_b):.2f} s"

    def as_dict(self) -> dict[str, object]:
        return {"verdict": self.text, "seconds_a": self.seconds_a, "seconds_b": self.seconds_b,
                "xxh32_a": self.xxh32_a, "xxh32_b": self.xxh32_b,
                "max_difference": self.max_difference,
                "rms_db": None if self.rms_db <= _SILENT_DB else round(self.rms_db, 2)}


def _db(value: float) -> str:
    return f"{value:.0f} dB".replace("-", "−")


def seconds(nbytes: int) -> float:
    return nbytes / (BYTES_PER_FLOAT * CHANNELS * SAMPLE_RATE)


def _floats(data: bytes) -> array[float]:
    samples = array("f")
    samples.frombytes(data[: len(data) - len(data) % BYTES_PER_FLOAT])
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def compare_audio(a: bytes, b: bytes) -> AudioVerdict:
    """Length, hash, max and RMS difference of two sample buffers."""
    verdict = AudioVerdict(seconds(len(a)), seconds(len(b)), unsigned_xxh32(a), unsigned_xxh32(b),
                           a == b, 0.0, _SILENT_DB)
    if verdict.identical:
        return verdict
    left, right = _floats(a), _floats(b)
    common = min(len(left), len(right))
    squares, largest = 0.0, 0.0
    for start in range(0, common, _CHUNK_FLOATS):
        stop = min(common, start + _CHUNK_FLOATS)
        diff = list(map(operator.sub, left[start:stop], right[start:stop]))
        if diff:
            squares += math.fsum(map(operator.mul, diff, diff))
            largest = max(largest, max(diff), -min(diff))
    rms = math.sqrt(squares / common) if common else 0.0
    rms_db = 20 * math.log10(rms) if rms > 0 else _SILENT_DB
    return AudioVerdict(verdict.seconds_a, verdict.seconds_b, verdict.xxh32_a, verdict.xxh32_b,
                        False, largest, rms_db)

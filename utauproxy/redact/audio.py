"""Audio (rule "audio"): each payload becomes silence of the same decoded length, in the same
codec, plus a few statistics for the manifest.

Hash keys stay as they were (PROTOCOL.md §3.4): replay and diff match parts by hash, and the
plugin accepts any decodable buffer. Zeros compress to almost nothing, so a redacted capture
is small. Encodings are cached by (codec, length): a session resends the same part lengths.
"""

from __future__ import annotations

import base64
import math
import operator
from array import array
from typing import Any

from utauproxy.protocol.audio import decode_audio_payload, encode_audio_payload

MAX_DECODED = 1 << 30
_RMS_SAMPLE_LIMIT = 1 << 16  # above this many floats, RMS comes from an even subsample
_SILENCE_DBFS = -200.0


def _dbfs(value: float) -> float:
    return round(20 * math.log10(value), 2) if value > 0 else _SILENCE_DBFS


def sample_stats(samples: bytes) -> dict[str, Any]:
    """Decoded bytes, stereo frames, RMS and peak in dBFS of float32 LE samples. The peak is
    exact; for very long buffers the RMS is taken over an even subsample."""
    usable = len(samples) - len(samples) % 4
    floats = array("f")
    floats.frombytes(samples[:usable])
    if array("f", [1.0]).tobytes() != b"\x00\x00\x80\x3f":
        floats.byteswap()  # big-endian host: the wire is little-endian
    stats: dict[str, Any] = {"decoded_bytes": len(samples), "frames": len(floats) // 2}
    if not floats:
        return stats | {"rms_dbfs": _SILENCE_DBFS, "peak_dbfs": _SILENCE_DBFS}
    finite = [x for x in (max(floats), min(floats)) if math.isfinite(x)]
    peak = max((abs(x) for x in finite), default=0.0)
    step = max(1, len(floats) // _RMS_SAMPLE_LIMIT)
    subset = floats[::step]
    squares = math.fsum(map(operator.mul, subset, subset))
    rms = math.sqrt(squares / len(subset)) if math.isfinite(squares) else 0.0
    return stats | {"rms_dbfs": _dbfs(rms), "peak_dbfs": _dbfs(peak)}


class AudioSilencer:
    """Replaces audio payloads by silence and keeps bounded per-payload statistics."""

    def __init__(self, max_items: int = 200) -> None:
        self._encoded: dict[tuple[str, int], str] = {}
        self._max_items = max_items
        self.items: list[dict[str, Any]] = []
        self.count = 0
        self.invalid = 0
        self.total_decoded_bytes = 0

    def _note(self, key: str, stats: dict[str, Any]) -> None:
        # Only a decimal hash goes into the manifest: a key from a damaged line could be text.
        digits = key[1:] if key.startswith("-") else key
        key = key if digits.isascii() and digits.isdigit() and len(digits) <= 20 else "?"
        self.count += 1
        self.total_decoded_bytes += int(stats.get("decoded_bytes", 0))
        if len(self.items) < self._max_items:
            self.items.append({"hash": key} | stats)

    def silence_b64(self, key: str, b64: str) -> str:
        """An updateAudio value (base64 zstd/gzip/raw) replaced by silence of the same decoded
        length in the same codec. An undecodable value becomes `A`s of the same length: still
        a base64-looking string, carrying none of the original bytes."""
        try:
            decoded = decode_audio_payload(b64, max_output=MAX_DECODED)
        except ValueError:
            self.invalid += 1
            self._note(key, {"invalid": True, "encoded_chars": len(b64)})
            return "A" * len(b64)
        self._note(key, {"codec": decoded.codec} | sample_stats(decoded.samples))
        cache_key = (decoded.codec, len(decoded.samples))
        found = self._encoded.get(cache_key)
        if found is None:
            zeros = bytes(len(decoded.samples))
            if decoded.codec == "raw":
                found = base64.b64encode(zeros).decode("ascii")
            else:
                found = encode_audio_payload(zeros, decoded.codec)
            if len(self._encoded) > 256:
                self._encoded.clear()
            self._encoded[cache_key] = found
        return found

    def silence_frame(self, raw: bytes) -> bytes:
        """An API v1.2 `audio <hash> <length>\\n<payload>` frame (PROTOCOL.md §5.1) with its
        payload zeroed; header and length unchanged."""
        newline = raw.find(b"\n")
        if newline < 0:
            return raw
        head = raw[:newline]
        payload = raw[newline + 1 :]
        fields = head.split(b" ")
        key = fields[1].decode("ascii", "replace") if len(fields) > 1 else "?"
        self._note(key, {"codec": "frame"} | sample_stats(payload))
        return raw[: newline + 1] + bytes(len(payload))

    def summary(self) -> dict[str, Any]:
        """The manifest's "audio" section: counts and the first few payloads' statistics."""
        return {"payloads": self.count, "invalid": self.invalid,
                "decoded_bytes": self.total_decoded_bytes,
                "items": list(self.items), "items_omitted": self.count - len(self.items)}

"""One audio payload checked: decoded size, codec, hash (PROTOCOL.md §3.4, §5.1).

Shared by `show` (duration, codec, ✓/✗) and `check` (the same facts judged as findings).
"""

from __future__ import annotations

import base64
import binascii
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import xxhash
import zstandard

from utauproxy.protocol.audio import (
    BYTES_PER_FLOAT,
    CHANNELS,
    SAMPLE_RATE,
    AudioDigest,
    digest_audio_payload,
    xxh32_matches,
    xxh64,
)
from utauproxy.protocol.events import AudioFrame

_ZSTD_HEADER_B64 = 24  # base64 characters holding a zstd frame header's 18 bytes
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# Digests of payloads seen lately, by a hash of their text: OpenUtau resends the same audio
# (every part on each render request, DESIGN.md §4), and decoding 64 MiB of it costs ~0.2 s.
_DIGESTS_KEPT = 256
_digests: OrderedDict[tuple[int, int], AudioDigest | str] = OrderedDict()


@dataclass(frozen=True, slots=True)
class AudioCheck:
    """The facts about one audio payload. `error` is set when it could not be decoded;
    `content_size` is False for a zstd frame without a content size (PROTOCOL.md §3.4)."""

    hash: str
    codec: str | None = None
    samples_bytes: int = 0
    hash_ok: bool = False
    content_size: bool | None = None
    error: str | None = None
    actual_hash: int | None = None  # XXH32 (unsigned) or, for frames, XXH64 of the samples

    @property
    def floats(self) -> int:
        return self.samples_bytes // BYTES_PER_FLOAT

    @property
    def seconds(self) -> float:
        return self.floats / CHANNELS / SAMPLE_RATE

    def as_dict(self) -> dict[str, Any]:
        return {"hash": self.hash, "codec": self.codec, "bytes": self.samples_bytes,
                "seconds": round(self.seconds, 6), "hash_ok": self.hash_ok, "error": self.error}


def _zstd_content_size_declared(b64: str) -> bool | None:
    try:
        head = base64.b64decode(b64[:_ZSTD_HEADER_B64])
    except (binascii.Error, ValueError):
        return None
    if not head.startswith(_ZSTD_MAGIC):
        return None
    try:
        return bool(zstandard.frame_content_size(head) >= 0)
    except zstandard.ZstdError:
        return None


def check_audio_value(key: str, value: Any) -> AudioCheck:
    """An `updateAudio` entry: `key` the declared hash, `value` base64 of compressed samples."""
    if not isinstance(value, str):
        return AudioCheck(key, error=f"value is {type(value).__name__}, not a base64 string")
    digest = audio_digest(value)
    if isinstance(digest, str):
        return AudioCheck(key, error=digest)
    content_size = _zstd_content_size_declared(value) if digest.codec == "zstd" else None
    return AudioCheck(key, digest.codec, digest.samples_len, xxh32_matches(key, digest.xxh32),
                      content_size, actual_hash=digest.xxh32)


def audio_digest(value: str) -> AudioDigest | str:
    """The digest of an `updateAudio` value, or the reason it cannot be decoded (the
    ValueError's text). Each distinct payload is decoded once per process: the cache is
    small and keyed by a 128-bit hash of the text."""
    text = value.encode("utf-8", "surrogatepass")
    key = (xxhash.xxh3_128_intdigest(text), len(text))
    found = _digests.get(key)
    if found is not None:
        _digests.move_to_end(key)
        return found
    try:
        digest: AudioDigest | str = digest_audio_payload(value)
    except ValueError as exc:
        digest = str(exc)
    _digests[key] = digest
    if len(_digests) > _DIGESTS_KEPT:
        _digests.popitem(last=False)
    return digest


def check_frame(frame: AudioFrame) -> AudioCheck:
    """An API v1.2 data frame: the declared hash is XXH64 of the raw payload (§5.1)."""
    payload = frame.payload
    actual = xxh64(payload)
    return AudioCheck(str(frame.hash), "raw", len(payload), actual == frame.hash, actual_hash=actual)

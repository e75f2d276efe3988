"""One audio payload checked: decoded size, codec, hash (PROTOCOL.md §3.4, §5.1).

Shared by `show` (duration, codec, ✓/✗) and `check` (the same facts judged as findings).
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections import OrderedDict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pybase64
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
# (every part on each render request, DESIGN.md §4), and decoding 64 MiB of it costs ~0.1 s.
# An entry is ~200 bytes: this is every distinct payload of a long session.
_DIGESTS_KEPT = 4096
_digests: OrderedDict[tuple[int, int], AudioDigest | str] = OrderedDict()
_lock = threading.Lock()  # the cache is shared with DigestsAhead's threads
_STARTED_KEPT = 1024  # digests done ahead and not (yet) asked for
_ahead: DigestsAhead | None = None  # the one started, while it is


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
    prefix = b64[:_ZSTD_HEADER_B64]
    try:  # strictly valid base64 decodes the same either way; the rest as it always did
        head = pybase64.b64decode(prefix, validate=True)
    except ValueError:
        try:
            head = base64.b64decode(prefix)
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
    ValueError's text). Each distinct payload is decoded once per process (the cache is keyed
    by a 128-bit hash of the text), ahead of time when a DigestsAhead has started it."""
    text = value.encode("utf-8", "surrogatepass")
    key = _key(text)
    with _lock:
        found = _digests.get(key)
        if found is not None:
            _digests.move_to_end(key)
            return found
    started = _ahead.take(key) if _ahead is not None else None
    digest: AudioDigest | str | None = started.result() if started is not None else None
    if digest is None:  # not started, or it failed: its error is worded from the text as given
        try:
            digest = digest_audio_payload(value)
        except ValueError as exc:
            digest = str(exc)
    _keep(key, digest)
    return digest


def _key(text: bytes | memoryview) -> tuple[int, int]:
    return xxhash.xxh3_128_intdigest(text), len(text)


def _keep(key: tuple[int, int], digest: AudioDigest | str) -> None:
    with _lock:
        _digests[key] = digest
        if len(_digests) > _DIGESTS_KEPT:
            _digests.popitem(last=False)


class DigestsAhead:
    """Audio digests worked out on worker threads before `audio_digest` asks for them (base64,
    zstd and xxhash let go of the GIL, so they run beside the main thread). A context
    manager: while it is open, `audio_digest` takes what it started; on leaving, what has not
    started is dropped. Only a few digests are in flight at a time, so a reader that never
    asks for them (a filtered view) cannot pile them up."""

    def __init__(self, threads: int = 2, in_flight: int = 4) -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="audio-digest")
        self._in_flight = in_flight
        self._started: OrderedDict[tuple[int, int], Future[AudioDigest | None]] = OrderedDict()
        self._running: deque[Future[AudioDigest | None]] = deque()  # in start order

    def __enter__(self) -> DigestsAhead:
        global _ahead
        _ahead = self
        return self

    def __exit__(self, *exc: object) -> None:
        global _ahead
        _ahead = None
        with _lock:
            for future in self._started.values():
                future.cancel()
            self._started.clear()
            self._running.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def start(self, text: bytes | memoryview) -> None:
        """Start the digest of an updateAudio value given as the base64 bytes of the line
        (the key is the same as for the decoded string: the text is ASCII)."""
        key = _key(text)
        with _lock:
            if key in _digests or key in self._started:
                return
            running = self._running
            while running and running[0].done():
                running.popleft()
            if len(running) >= self._in_flight:
                return  # enough on the way; this one is decoded when asked for
            if len(self._started) >= _STARTED_KEPT:  # never asked for (a line left out)
                self._started.popitem(last=False)
            future = self._pool.submit(_digest_or_none, text)
            self._started[key] = future
            running.append(future)

    def take(self, key: tuple[int, int]) -> Future[AudioDigest | None] | None:
        """The digest started for `key`, if any (None too when it had not begun: the
        caller is better off decoding it at once than waiting in the queue)."""
        with _lock:
            future = self._started.pop(key, None)
        if future is None or future.cancel():
            return None
        return future


def _digest_or_none(text: bytes | memoryview) -> AudioDigest | None:
    try:
        return digest_audio_payload(text)
    except ValueError:
        return None


def check_frame(frame: AudioFrame) -> AudioCheck:
    """An API v1.2 data frame: the declared hash is XXH64 of the raw payload (§5.1)."""
    payload = frame.payload
    actual = xxh64(payload)
    return AudioCheck(str(frame.hash), "raw", len(payload), actual == frame.hash, actual_hash=actual)

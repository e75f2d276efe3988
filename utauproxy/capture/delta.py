"""Cross-message compression (DESIGN.md §4 "Small"; docs/capture-format.md "Deltas").

OpenUtau resends the whole project on every edit, so a message is stored either whole as a
KEY, which becomes the base of its stream, or as a DELTA: a zstd frame compressed with the
base as a raw-content dictionary. The writer's policy lives here (DeltaEncoder); the format
only fixes what a reader does (BaseCache).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from enum import Enum
from typing import TypeAlias

import zstandard

from utauproxy.capture.codec import CopyRecord, DeltaRecord, KeyRecord
from utauproxy.capture.layout import DELTA_MAX_BYTES
from utauproxy.capture.limits import ReadLimits
from utauproxy.errors import CaptureCorrupt, CaptureLimitExceeded
from utauproxy.records import MessageRecord

# (conn, direction, id-free label, piece index of a line split by the framer)
StreamKey: TypeAlias = tuple[int, int, str, int]

LEVEL = 3
SMALL_MESSAGE_BYTES = 1024  # smaller messages are left to the chunk's own compression
MISS_RATIO = 0.3  # a delta larger than this share of its message does not pay
MISSES_BEFORE_BACKOFF = 2
FIRST_BACKOFF, MAX_BACKOFF = 8, 256  # messages stored plainly before trying deltas again
MAX_DELTAS_PER_KEY = 1000  # bounds what is lost if a key and its copy are both damaged
WRITER_BASE_BYTES = 256 << 20  # at most half the default reader cache (ReadLimits)


@dataclass(slots=True)
class Ids:
    """Stream and base ids, shared by every encoder of one file: a stream id is never reused
    and base ids increase in file order (docs/capture-format.md §7)."""

    next_stream: int = 0
    next_base: int = 0

    def stream(self) -> int:
        self.next_stream += 1
        return self.next_stream - 1

    def base(self) -> int:
        self.next_base += 1
        return self.next_base - 1


@dataclass(slots=True)
class Backoff:
    """How a stream whose deltas keep missing stops trying for a while: after
    MISSES_BEFORE_BACKOFF misses in a row it is stored plainly for FIRST_BACKOFF messages,
    then twice as many after each further pair of misses, up to MAX_BACKOFF."""

    misses: int = 0
    plain_left: int = 0
    length: int = FIRST_BACKOFF

    def waiting(self) -> bool:
        """Whether this message is one of those stored plainly (counts it)."""
        if not self.plain_left:
            return False
        self.plain_left -= 1
        return True

    def missed(self) -> bool:
        """A delta missed; True when the stream now backs off (drop its base)."""
        self.misses += 1
        if self.misses < MISSES_BEFORE_BACKOFF:
            return False
        self.misses, self.plain_left = 0, self.length
        self.length = min(self.length * 2, MAX_BACKOFF)
        return True

    def hit(self) -> None:
        self.misses, self.length = 0, FIRST_BACKOFF


class Plan(Enum):
    PLAIN = "plain"
    KEY = "key"
    DELTA = "delta"


@dataclass(slots=True)
class StreamState:
    """The writer's view of one stream. `key_chunk` and `copied` are kept by the writer."""

    stream_id: int
    key: KeyRecord | None = None
    compressor: zstandard.ZstdCompressor | None = None
    key_chunk: int = -1
    copied: bool = False
    key_cost: int = 0  # what the key costs on disk (with its copy); measured on first use
    deltas: int = 0
    min_delta: int = 0
    excess: int = 0
    backoff: Backoff = field(default_factory=Backoff)


@dataclass(frozen=True, slots=True)
class MessagePlan:
    plan: Plan
    stream: StreamState | None = None
    frame: bytes = b""


_PLAIN = MessagePlan(Plan.PLAIN)


class DeltaEncoder:
    """Decides, message by message, between plain, key and delta, and makes the deltas.

    A new key is taken on a stream's first message, when a delta stops paying (larger than
    MISS_RATIO of the message), when the bytes deltas spend above the smallest delta since
    the key exceed what a fresh key would cost (for deltas that grow linearly with edits this
    is the optimal key interval), and after MAX_DELTAS_PER_KEY deltas. Streams whose deltas
    keep missing are stored plainly for a growing number of messages, which keeps the CPU
    cost of incompressible payloads (audio) near zero.
    """

    def __init__(self, ids: Ids | None = None, *, max_base_bytes: int = WRITER_BASE_BYTES) -> None:
        self._streams: OrderedDict[StreamKey, StreamState] = OrderedDict()
        self._max_base_bytes = max_base_bytes
        self._base_bytes = 0
        self._ids = ids or Ids()
        self._sizer = zstandard.ZstdCompressor(level=LEVEL)

    def plan(self, key: StreamKey, record: MessageRecord) -> MessagePlan:
        """How to store `record` (whose raw must be bytes) as a member of stream `key`."""
        size = len(record.raw)
        if size < SMALL_MESSAGE_BYTES or size > DELTA_MAX_BYTES:
            return _PLAIN
        state = self._stream(key)
        if state.backoff.waiting():
            return _PLAIN
        if state.key is None:
            return self._take_key(state, record)
        frame = self._compress(state, record.raw)
        if len(frame) > MISS_RATIO * size:
            return self._miss(state, record)
        state.backoff.hit()
        state.min_delta = min(state.min_delta or len(frame), len(frame))
        state.excess += len(frame) - state.min_delta
        if state.excess > self._key_cost(state) or state.deltas >= MAX_DELTAS_PER_KEY:
            return self._take_key(state, record)
        state.deltas += 1
        return MessagePlan(Plan.DELTA, state, frame)

    def drop_conn(self, conn: int) -> None:
        """Forget every stream of a closed connection (readers do the same)."""
        for key in [key for key in self._streams if key[0] == conn]:
            self._forget_base(self._streams.pop(key))

    def _stream(self, key: StreamKey) -> StreamState:
        state = self._streams.get(key)
        if state is None:
            state = self._streams[key] = StreamState(self._ids.stream())
        else:
            self._streams.move_to_end(key)
        return state

    def _miss(self, state: StreamState, record: MessageRecord) -> MessagePlan:
        if not state.backoff.missed():
            return self._take_key(state, record)
        self._forget_base(state)
        return _PLAIN

    def _take_key(self, state: StreamState, record: MessageRecord) -> MessagePlan:
        self._forget_base(state)
        state.key = KeyRecord(record, state.stream_id, self._ids.base())
        state.key_chunk, state.copied = -1, False
        state.key_cost = state.deltas = state.min_delta = state.excess = 0
        self._base_bytes += len(record.raw)
        self._evict(keep=state)
        return MessagePlan(Plan.KEY, state)

    def _forget_base(self, state: StreamState) -> None:
        if state.key is not None:
            self._base_bytes -= len(state.key.message.raw)
        state.key = None
        state.compressor = None

    def _evict(self, keep: StreamState) -> None:
        for state in self._streams.values():
            if self._base_bytes <= self._max_base_bytes:
                return
            if state is not keep:
                self._forget_base(state)

    def _key_cost(self, state: StreamState) -> int:
        # A key is stored twice (itself and its base copy), compressed as part of a chunk;
        # compressing it once more is cheap next to the deltas that follow it.
        if not state.key_cost and state.key is not None:
            state.key_cost = 2 * len(self._sizer.compress(state.key.message.raw))
        return state.key_cost

    @staticmethod
    def _compress(state: StreamState, raw: bytes) -> bytes:
        if state.compressor is None:
            assert state.key is not None
            state.compressor = delta_compressor(state.key.message.raw)
        return state.compressor.compress(raw)


def delta_compressor(base: bytes) -> zstandard.ZstdCompressor:
    # Level 3's own tables are sized for a 2 MiB window and forget most of a multi-MB base:
    # size the window for base + message and the hash table for the base (measured: a 3 MB
    # USTX with a 3-byte edit gives a 325-byte delta instead of 225 KB).
    window_log = min(max((2 * len(base)).bit_length(), 10), 26)
    params = zstandard.ZstdCompressionParameters.from_level(
        LEVEL,
        source_size=len(base),
        dict_size=len(base),
        window_log=window_log,
        hash_log=max(window_log - 4, 6),
    )
    dictionary = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    return zstandard.ZstdCompressor(dict_data=dictionary, compression_params=params)


class BaseUnavailable(CaptureCorrupt):
    """A delta's base was in a lost chunk (and so was its copy), or was evicted."""


@dataclass(slots=True)
class _Base:
    conn: int
    base_id: int
    raw: bytes
    decompressor: zstandard.ZstdDecompressor | None = None


class BaseCache:
    """The reader's current base per stream, bounded by limits.max_base_cache_bytes."""

    def __init__(self, limits: ReadLimits) -> None:
        self._limits = limits
        self._bases: OrderedDict[int, _Base] = OrderedDict()
        self._bytes = 0

    def put_key(self, key: KeyRecord) -> None:
        """A key always replaces its stream's base."""
        self._store(key.stream, _Base(key.message.conn, key.base_id, key.message.raw))

    def put_copy(self, copy: CopyRecord) -> None:
        """A copy only restores a base this reader missed (its key's chunk was lost)."""
        current = self._bases.get(copy.stream)
        if current is None or current.base_id < copy.base_id:
            self._store(copy.stream, _Base(copy.conn, copy.base_id, copy.raw))

    def drop_conn(self, conn: int) -> None:
        """Forget the bases of a connection that closed (writers never reference them again)."""
        for stream in [s for s, base in self._bases.items() if base.conn == conn]:
            self._bytes -= len(self._bases.pop(stream).raw)

    def put_payload(self, stream: int, base_id: int, conn: int, payload: bytes) -> None:
        """An audio payload that becomes its stream's base (AUDIO records, format 1.1)."""
        self._store(stream, _Base(conn, base_id, payload))

    def expand(self, delta: DeltaRecord) -> bytes:
        """The message bytes a delta stands for. Raises BaseUnavailable, CaptureCorrupt or
        CaptureLimitExceeded."""
        return self.expand_frame(delta.stream, delta.base_id, delta.frame, delta.raw_len)

    def expand_frame(self, stream: int, base_id: int, frame: bytes, size: int) -> bytes:
        """The `size` bytes `frame` decodes to against the current base of `stream`, which
        must be `base_id`."""
        base = self._bases.get(stream)
        if base is None or base.base_id != base_id:
            raise BaseUnavailable(f"base {base_id} of stream {stream} is unavailable")
        self._bases.move_to_end(stream)
        _check_frame(frame, size, self._limits.max_window_bytes)
        if base.decompressor is None:
            dictionary = zstandard.ZstdCompressionDict(base.raw, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
            base.decompressor = zstandard.ZstdDecompressor(dict_data=dictionary)
        return decompress_exact(base.decompressor, frame, size)

    def _store(self, stream: int, base: _Base) -> None:
        old = self._bases.pop(stream, None)
        if old is not None:
            self._bytes -= len(old.raw)
        if len(base.raw) > self._limits.max_base_cache_bytes:
            return
        while self._bytes + len(base.raw) > self._limits.max_base_cache_bytes:
            self._bytes -= len(self._bases.popitem(last=False)[1].raw)
        self._bases[stream] = base
        self._bytes += len(base.raw)


def _check_frame(frame: bytes, size: int, max_window: int) -> None:
    try:
        params = zstandard.get_frame_parameters(frame)
    except zstandard.ZstdError as exc:
        raise CaptureCorrupt(f"bad zstd frame: {exc}") from None
    if params.content_size != size:
        raise CaptureCorrupt(f"zstd frame holds {params.content_size} bytes, expected {size}")
    if params.window_size > max_window:
        raise CaptureLimitExceeded(f"zstd window of {params.window_size} bytes exceeds {max_window}")


def decompress_exact(decompressor: zstandard.ZstdDecompressor, frame: bytes, size: int) -> bytes:
    """Decompress one frame whose header was checked to declare exactly `size` bytes (so the
    output buffer is bounded by the caller's limit, not by the frame)."""
    try:
        data = decompressor.decompress(frame, allow_extra_data=False)
    except zstandard.ZstdError as exc:
        raise CaptureCorrupt(f"zstd frame does not decode: {exc}") from None
    if len(data) != size:
        raise CaptureCorrupt(f"zstd frame decoded to {len(data)} bytes, expected {size}")
    return data


def check_and_decompress(
    decompressor: zstandard.ZstdDecompressor, frame: bytes, size: int, max_window: int
) -> bytes:
    """Check a frame's declared size and window, then decompress it exactly."""
    _check_frame(frame, size, max_window)
    return decompress_exact(decompressor, frame, size)

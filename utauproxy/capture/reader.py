"""CaptureReader: a streaming, damage-tolerant reader of .utpcap files.

Memory stays around two chunks (the one whose records are being read, and the next big one,
decompressed ahead on a worker thread) plus the delta bases. A damaged chunk is skipped and
reported in `damage`; the reader resynchronises at the next chunk tag. Nothing but CaptureError (and
its subclasses) ever leaves this module, whatever the file holds.
"""

from __future__ import annotations

import io
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType
from typing import Any, BinaryIO, cast

import cbor2
import zstandard

from utauproxy.capture.audio import rebuild_line
from utauproxy.capture.chunk import ChunkExtent, ChunkMeta, chunk_extent, decode_chunk
from utauproxy.capture.codec import AudioRecord, CopyRecord, DeltaRecord, KeyRecord, RecordInvalid, decode_record
from utauproxy.capture.delta import BaseCache
from utauproxy.capture.footer import Footer, decode_footer, parse_trailer
from utauproxy.capture.layout import (
    CHUNK_HEAD,
    FOOTER_HEAD,
    ITEM_TAG_PREFIX,
    TAG_FAMILY,
    TAG_FAMILY_MASK,
    TRAILER_HEAD,
    TRAILER_SIZE,
)
from utauproxy.capture.limits import DEFAULT_LIMITS, ReadLimits
from utauproxy.capture.migrate import MIGRATIONS, MigrationChain, upgrade_record
from utauproxy.capture.preamble import read_preamble
from utauproxy.capture.safecbor import Truncated, decode_checked, scan_item
from utauproxy.capture.source import FileSource
from utauproxy.errors import CaptureCorrupt, CaptureError
from utauproxy.records import CaptureHeader, ConnectionRecord, ConnEvent, Record

_PEEK = 4096 + 64  # a chunk's head and metadata
# Chunks from this size are decompressed ahead on a worker thread; smaller ones are not worth
# the thread switch (the recorder's 200 ms chunks of small messages are a few KB).
_AHEAD_MIN = 1 << 18
# Small chunks read ahead while looking for the next big one: at most this many, and bytes.
_AHEAD_ITEMS = 64
_AHEAD_BYTES = 4 << 20
_RESYNC_HEADS = frozenset({CHUNK_HEAD, FOOTER_HEAD, TRAILER_HEAD})


@dataclass(frozen=True, slots=True)
class Damage:
    """Bytes the reader could not use.

    offset, length: the unreadable region (from a bad item to the next chunk that could be
    read, or to the end of the file). For a single bad record inside an intact chunk they are
    the chunk's offset and length, and `reason` names the record.
    """

    offset: int
    length: int
    reason: str


class _ItemIncomplete(CaptureCorrupt):
    """The file ends inside an item: it was cut short, or it is still being written."""


class CaptureReader:
    """Reads one capture: `header` and `footer` at once, records on demand."""

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, limits: ReadLimits = DEFAULT_LIMITS) -> CaptureReader:
        """Open `path` and read its label and header."""
        try:
            file = open(path, "rb")  # noqa: SIM115 - the reader owns it
        except OSError as exc:
            raise CaptureError(f"cannot open {os.fspath(path)!r}: {exc}") from exc
        try:
            return cls(file, limits=limits)
        except BaseException:
            file.close()
            raise

    def __init__(
        self,
        file: BinaryIO,
        *,
        limits: ReadLimits = DEFAULT_LIMITS,
        migrations: MigrationChain = MIGRATIONS,
    ) -> None:
        """Take ownership of `file` (seekable) and read label, header and footer."""
        self._source = FileSource(file)
        self._limits = limits
        preamble = read_preamble(self._source.read_at, limits, migrations)
        self.header: CaptureHeader = preamble.header
        self._start = preamble.end
        self._steps = preamble.steps
        self.damage: list[Damage] = []
        self.skipped_unknown = 0  # records of types (or event kinds) newer than this reader
        # Where the item the file ends inside starts (a capture cut short), once records()
        # has found one; its bytes are also the end of the last region in `damage`.
        self.incomplete_tail: int | None = None
        self.footer: Footer | None = self._read_footer()

    def records(self) -> Iterator[Record]:
        """Every readable record, in file order. Restarts from the first chunk (and clears
        `damage` and `incomplete_tail`) on every call."""
        self.damage = []
        self.skipped_unknown = 0
        self.incomplete_tail = None
        walk = _Walk(self._source.size(), BaseCache(self._limits), zstandard.ZstdDecompressor())
        with ThreadPoolExecutor(1, thread_name_prefix="capture-read-ahead") as pool:
            for batch in self._chunk_batches(walk, pool):
                batch.reverse()
                while batch:
                    yield batch.pop()  # held by the caller alone from here

    def _chunk_batches(self, walk: _Walk, pool: ThreadPoolExecutor) -> Iterator[list[Record]]:
        """The records of every readable chunk in file order, a chunk at a time, damage
        recorded on the way. A chunk's bytes are let go before its records are handed on (for
        a chunk of one 64 MiB line, that is as much memory again).

        While the caller works through one chunk's records, the next big chunk is verified
        (CRC) and decompressed on `pool`'s thread (zlib and zstd let go of the GIL). That
        work is speculative: a chunk that fails is resynchronised from exactly as before, and
        what was read ahead of it is dropped, so records and damage come out as a plain
        sequential walk gives them."""
        pos = self._start
        ahead: deque[_Pending] = deque()
        while pos < walk.size:
            try:
                if ahead and ahead[0].offset == pos:
                    current = ahead.popleft()
                else:
                    ahead.clear()
                    current = self._pending_item(pos, walk, pool)
                if current.is_chunk:
                    self._fill_ahead(ahead, current.end, walk, pool)
                end, chunk = current.end, current.result()
            except CaptureCorrupt as exc:
                ahead.clear()
                end = self._resync(pos, walk.size, str(exc))
                if isinstance(exc, _ItemIncomplete) and end == walk.size:
                    self.incomplete_tail = pos
                pos = end
                continue
            pos = end
            del current
            if chunk is not None:
                batch = list(self._chunk_records(chunk, walk))
                del chunk
                yield batch

    def _fill_ahead(self, ahead: deque[_Pending], pos: int, walk: _Walk, pool: ThreadPoolExecutor) -> None:
        """Read the chunks after `pos` into `ahead` until a big one is on its way to the
        worker (small chunks, typically of control lines, often come between audio-carrying
        ones), within a bound on how many chunks and bytes are held."""
        if any(item.started for item in ahead):
            return
        held = 0
        for queued in ahead:
            held += queued.end - queued.offset
            pos = queued.end
        while len(ahead) < _AHEAD_ITEMS and held < _AHEAD_BYTES:
            item = self._read_ahead(pos, walk, pool)
            if item is None:
                return
            ahead.append(item)
            if item.started:
                return
            held += item.end - item.offset
            pos = item.end

    def _pending_item(self, pos: int, walk: _Walk, pool: ThreadPoolExecutor, head: bytes | None = None) -> _Pending:
        """The item at `pos`, located and read; a big chunk's verification and decompression
        are handed to `pool` at once, a small one's wait for `result()`."""
        if head is None:
            head = self._source.read_at(pos, _PEEK)
        if not head.startswith(CHUNK_HEAD):
            end, _ = self._item_at(pos, walk, head)
            return _Pending(pos, end, None)
        item, extent = self._chunk_item(pos, head)
        if extent.end < _AHEAD_MIN:
            return _Pending(pos, pos + extent.end, partial(self._decoded, pos, item, extent, walk.decompressor))
        # The worker has a decompressor of its own: zstd contexts are not to be shared
        # between threads, and a small chunk may be decompressed here meanwhile.
        work = pool.submit(self._decoded, pos, item, extent, walk.ahead_decompressor)
        return _Pending(pos, pos + extent.end, work)

    def _read_ahead(self, pos: int, walk: _Walk, pool: ThreadPoolExecutor) -> _Pending | None:
        """The chunk at `pos` read and, if big, started early; or None when there is none to
        read ahead: the end of the file, another kind of item, or anything wrong (the walk
        meets it again when it gets there, and reports it in order)."""
        if pos >= walk.size:
            return None
        try:
            head = self._source.read_at(pos, _PEEK)
            if not head.startswith(CHUNK_HEAD):
                return None
            return self._pending_item(pos, walk, pool, head)
        except CaptureError:
            return None

    def follow(self, *, poll_s: float = 0.5, sleep: Callable[[float], None] = time.sleep) -> Iterator[Record]:
        """Every record of a capture that is still being written, as it appears, until the
        writer's footer arrives (`show --follow`). One pass with its delta bases kept across
        waits, so following costs what reading costs. An item the file ends inside is waited
        for (the writer appends whole chunks; the rest is on its way); real damage is skipped
        and recorded as in `records()`. Never returns if the writer dies: stop iterating."""
        self.damage = []
        walk = _Walk(self._source.size(), BaseCache(self._limits), zstandard.ZstdDecompressor())
        pos = self._start
        while True:
            walk.size = self._source.size()
            head = self._source.read_at(pos, len(FOOTER_HEAD)) if pos < walk.size else b""
            if head == FOOTER_HEAD:
                return
            if walk.size - pos < len(CHUNK_HEAD):  # not even an item's tag yet
                sleep(poll_s)
                continue
            try:
                pos, chunk = self._item_at(pos, walk)
            except _ItemIncomplete:
                sleep(poll_s)
                continue
            except CaptureCorrupt as exc:
                pos = self._resync(pos, walk.size, str(exc))
                continue
            if chunk is not None:
                yield from self._chunk_records(chunk, walk)

    def close(self) -> None:
        self._source.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- items -----------------------------------------------------------------------------

    def _item_at(self, pos: int, walk: _Walk, head: bytes | None = None) -> tuple[int, _Chunk | None]:
        """The end of the item at `pos` and, for a chunk, its verified content."""
        if head is None:
            head = self._source.read_at(pos, _PEEK)
        if head.startswith(CHUNK_HEAD):
            item, extent = self._chunk_item(pos, head)
            return pos + extent.end, self._decoded(pos, item, extent, walk.decompressor)
        if len(head) >= 5 and head[0] == 0xDA:
            tag = int.from_bytes(head[1:5], "big")
            if tag & TAG_FAMILY_MASK == TAG_FAMILY:
                # The footer, the trailer, or an item kind from a later minor: not records.
                return pos + self._tagged_length(pos, head), None
        if len(head) < len(CHUNK_HEAD) and any(tag.startswith(head) for tag in _RESYNC_HEADS):
            raise _ItemIncomplete("the file ends inside an item")
        raise CaptureCorrupt("no capture item here")

    def _chunk_item(self, pos: int, head: bytes) -> tuple[bytes, ChunkExtent]:
        """The bytes of the chunk item at `pos` (`head`: its first bytes) and its layout."""
        data = head
        while True:
            try:
                extent = chunk_extent(data, self._limits)
                break
            except Truncated as need:
                data = self._read_more(pos, data, need.needed)
        item = data[: extent.end] if len(data) >= extent.end else self._read_exactly(pos, extent.end)
        return item, extent

    def _decoded(self, pos: int, item: bytes, extent: ChunkExtent,
                 decompressor: zstandard.ZstdDecompressor) -> _Chunk:
        """A chunk item verified and decompressed (touches neither the file nor the reader's
        state, so it may run on another thread)."""
        # decode_chunk only slices the item and hands the slices to zlib, cbor2 and zstd, which
        # take any buffer: given a memoryview, the compressed payload is not copied out of it
        # (~50 MB less to allocate and copy for a chunk holding a 64 MiB line).
        view = cast(bytes, memoryview(item))
        meta, records = decode_chunk(view, extent, self._limits, decompressor)
        if not isinstance(records, bytes):  # a stored chunk: its records are a slice of `view`
            records = bytes(records)
        return _Chunk(pos, extent.end, meta, records)

    def _tagged_length(self, pos: int, head: bytes) -> int:
        data = head
        while True:
            try:
                return scan_item(data, 5, max_bytes=self._limits.max_item_bytes, max_depth=self._limits.max_depth)
            except Truncated as need:
                data = self._read_more(pos, data, need.needed, grow=True)

    def _read_exactly(self, pos: int, size: int) -> bytes:
        data = self._source.read_at(pos, size)
        if len(data) < size:
            raise _ItemIncomplete("the file ends inside an item")
        return data

    def _read_more(self, pos: int, data: bytes, needed: int, *, grow: bool = False) -> bytes:
        """At least `needed` bytes from `pos` (doubling when `grow`, so that scanning a large
        item stays linear)."""
        if needed <= len(data):
            raise CaptureCorrupt("item scan made no progress")  # defensive: never loop
        more = self._source.read_at(pos, max(needed, 2 * len(data)) if grow else needed)
        if len(more) < needed:
            raise _ItemIncomplete("the file ends inside an item")
        return more

    def _resync(self, pos: int, size: int, reason: str) -> int:
        """Skip to the next chunk, footer or trailer tag after `pos`, recording the skipped
        bytes as damage. (Not to other tags of the family: after damage an unknown tag is
        more likely garbage than an item of a later minor.)"""
        start = pos + 1
        while True:
            found = self._source.find(ITEM_TAG_PREFIX, start, size)
            if found is None or found + len(CHUNK_HEAD) > size:  # none, or a head cut short
                break
            if self._source.read_at(found, len(CHUNK_HEAD)) in _RESYNC_HEADS:
                break
            start = found + 1
        end = size if found is None else found
        self._add_damage(Damage(pos, end - pos, reason))
        return end

    def _add_damage(self, damage: Damage) -> None:
        last = self.damage[-1] if self.damage else None
        if last is not None and last.offset + last.length == damage.offset:
            self.damage[-1] = Damage(last.offset, last.length + damage.length, last.reason)
        else:
            self.damage.append(damage)

    # --- records ---------------------------------------------------------------------------

    def _chunk_records(self, chunk: _Chunk, walk: _Walk) -> Iterator[Record]:
        data, pos, index = chunk.records, 0, 0
        stream = io.BytesIO(data)  # shares `data` (read only): see _load_item
        budget = self._limits.max_chunk_bytes - len(data)  # what deltas may still expand to
        while pos < len(data):
            try:
                value, pos = self._load_item(data, stream, pos)
            except CaptureCorrupt as exc:
                self._record_damage(chunk, index, f"{exc}; the rest of the chunk is lost")
                return
            try:
                record, budget = self._resolve(value, walk.bases, budget)
            except CaptureCorrupt as exc:
                self._record_damage(chunk, index, str(exc))
                record = None
            index += 1
            if record is not None:
                yield record

    def _load_item(self, data: bytes, stream: io.BytesIO, pos: int) -> tuple[Any, int]:
        """`safecbor.load_item(data, pos)`, without its copy of the item: cbor2 reads the
        item where it lies in the chunk, through `stream` (a BytesIO over `data`), so a 64 MiB
        message is copied once (into the record) instead of twice. The item is checked by
        `scan_item` first, as load_item does; should cbor2 fail or end anywhere but where the
        scan says the item ends, the item is decoded again by load_item's own means, so the
        value or the error is always load_item's."""
        depth = self._limits.max_depth
        end = scan_item(data, pos, max_bytes=len(data) - pos, max_depth=depth)
        stream.seek(pos)
        try:
            decoder = cbor2.CBORDecoder(stream, max_depth=depth + 1, allow_indefinite=False,
                                        strict_hashable_types=True)
            value = decoder.decode()
            if stream.tell() == end:
                return value, end
        except Exception:  # noqa: BLE001, S110 - decided below, by load_item's means
            pass
        return decode_checked(data, pos, end, max_depth=depth), end

    def _resolve(self, value: Any, bases: BaseCache, budget: int) -> tuple[Record | None, int]:
        """The record an array stands for (None for internal and unknown ones), updating the
        bases; and the remaining expansion budget."""
        if self._steps:
            try:
                value = upgrade_record(self._steps, value)
            except Exception as exc:  # noqa: BLE001 - a migration failing on odd input is damage
                raise RecordInvalid(f"cannot migrate: {exc}") from None
            if value is None:
                return None, budget
        decoded = decode_record(value)
        if decoded is None:
            self.skipped_unknown += 1
            return None, budget
        if isinstance(decoded, KeyRecord):
            bases.put_key(decoded)
            return decoded.message, budget
        if isinstance(decoded, CopyRecord):
            bases.put_copy(decoded)
            return None, budget
        if isinstance(decoded, DeltaRecord):
            if decoded.raw_len > budget:
                raise CaptureCorrupt(f"deltas expand beyond {self._limits.max_chunk_bytes} bytes")
            return decoded.message(bases.expand(decoded)), budget - decoded.raw_len
        if isinstance(decoded, AudioRecord):
            if decoded.raw_len > budget:
                raise CaptureCorrupt(f"audio lines expand beyond {self._limits.max_chunk_bytes} bytes")
            return decoded.message(rebuild_line(decoded, bases)), budget - decoded.raw_len
        if isinstance(decoded, ConnectionRecord) and decoded.event is ConnEvent.CLOSED:
            bases.drop_conn(decoded.conn)
        return decoded, budget

    def _record_damage(self, chunk: _Chunk, index: int, reason: str) -> None:
        self.damage.append(Damage(chunk.offset, chunk.length, f"chunk {chunk.meta.seq}, record {index}: {reason}"))

    # --- footer ----------------------------------------------------------------------------

    def _read_footer(self) -> Footer | None:
        """The footer the trailer points at, or None (no trailer, or anything invalid)."""
        size = self._source.size()
        end = size - TRAILER_SIZE
        if end <= self._start:
            return None
        try:
            offset = parse_trailer(self._source.read_at(end, TRAILER_SIZE))
            if not self._start <= offset < end or end - offset > self._limits.max_item_bytes:
                return None
            return decode_footer(self._source.read_at(offset, end - offset), self._limits)
        except CaptureCorrupt:
            return None


@dataclass(slots=True)
class _Walk:
    """State of one pass over the records."""

    size: int
    bases: BaseCache
    decompressor: zstandard.ZstdDecompressor
    ahead_decompressor: zstandard.ZstdDecompressor = field(default_factory=zstandard.ZstdDecompressor)


@dataclass(frozen=True, slots=True)
class _Chunk:
    offset: int
    length: int
    meta: ChunkMeta
    records: bytes


class _Pending:
    """An item located and read: `end` is where the next one starts; `result()` gives the
    chunk (None for other items) or raises what verifying it raised."""

    __slots__ = ("_work", "end", "offset")

    def __init__(self, offset: int, end: int, work: Future[_Chunk] | Callable[[], _Chunk] | None) -> None:
        self.offset = offset
        self.end = end
        self._work = work

    @property
    def is_chunk(self) -> bool:
        return self._work is not None

    @property
    def started(self) -> bool:
        """Handed to the worker thread (rather than left to `result()`)."""
        return isinstance(self._work, Future)

    def result(self) -> _Chunk | None:
        work = self._work
        if work is None:
            return None
        return work.result() if isinstance(work, Future) else work()


def read_records(path: str | os.PathLike[str], *, limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[Record]:
    """Every readable record of the capture at `path` (damage is silently skipped; use
    CaptureReader to see it)."""
    with CaptureReader.open(path, limits=limits) as reader:
        yield from reader.records()

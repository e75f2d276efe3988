"""CaptureReader: a streaming, damage-tolerant reader of .utpcap files.

Memory stays around one chunk plus the delta bases. A damaged chunk is skipped and reported
in `damage`; the reader resynchronises at the next chunk tag. Nothing but CaptureError (and
its subclasses) ever leaves this module, whatever the file holds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, BinaryIO

import zstandard

from utauproxy.capture.chunk import ChunkMeta, chunk_extent, decode_chunk
from utauproxy.capture.codec import CopyRecord, DeltaRecord, KeyRecord, RecordInvalid, decode_record
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
from utauproxy.capture.safecbor import Truncated, load_item, scan_item
from utauproxy.capture.source import FileSource
from utauproxy.errors import CaptureCorrupt, CaptureError
from utauproxy.records import CaptureHeader, ConnectionRecord, ConnEvent, Record

_PEEK = 4096 + 64  # a chunk's head and metadata
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
        pos = self._start
        while pos < walk.size:
            try:
                pos, chunk = self._item_at(pos, walk)
            except CaptureCorrupt as exc:
                end = self._resync(pos, walk.size, str(exc))
                if isinstance(exc, _ItemIncomplete) and end == walk.size:
                    self.incomplete_tail = pos
                pos = end
                continue
            if chunk is not None:
                yield from self._chunk_records(chunk, walk)

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

    def _item_at(self, pos: int, walk: _Walk) -> tuple[int, _Chunk | None]:
        """The end of the item at `pos` and, for a chunk, its verified content."""
        head = self._source.read_at(pos, _PEEK)
        if head.startswith(CHUNK_HEAD):
            return self._chunk_at(pos, head, walk)
        if len(head) >= 5 and head[0] == 0xDA:
            tag = int.from_bytes(head[1:5], "big")
            if tag & TAG_FAMILY_MASK == TAG_FAMILY:
                # The footer, the trailer, or an item kind from a later minor: not records.
                return pos + self._tagged_length(pos, head), None
        if len(head) < len(CHUNK_HEAD) and any(tag.startswith(head) for tag in _RESYNC_HEADS):
            raise _ItemIncomplete("the file ends inside an item")
        raise CaptureCorrupt("no capture item here")

    def _chunk_at(self, pos: int, head: bytes, walk: _Walk) -> tuple[int, _Chunk]:
        data = head
        while True:
            try:
                extent = chunk_extent(data, self._limits)
                break
            except Truncated as need:
                data = self._read_more(pos, data, need.needed)
        item = data[: extent.end] if len(data) >= extent.end else self._read_exactly(pos, extent.end)
        meta, records = decode_chunk(item, extent, self._limits, walk.decompressor)
        return pos + extent.end, _Chunk(pos, extent.end, meta, records)

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
        budget = self._limits.max_chunk_bytes - len(data)  # what deltas may still expand to
        while pos < len(data):
            try:
                value, pos = load_item(data, pos, max_bytes=len(data) - pos, max_depth=self._limits.max_depth)
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


@dataclass(frozen=True, slots=True)
class _Chunk:
    offset: int
    length: int
    meta: ChunkMeta
    records: bytes


def read_records(path: str | os.PathLike[str], *, limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[Record]:
    """Every readable record of the capture at `path` (damage is silently skipped; use
    CaptureReader to see it)."""
    with CaptureReader.open(path, limits=limits) as reader:
        yield from reader.records()

"""Chunks: checksummed, independently decodable groups of records.

Layout (docs/capture-format.md "Chunks"):
    da 55 54 50 43                tag 0x55545043
    83                            array(3)
    1a cc cc cc cc                CRC-32 of every other byte of the item
    [seq, first_ts, last_ts, count, codec, raw_len, ...]
    bstr                          the records, compressed as `codec` says
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import cbor2
import zstandard

from utauproxy.capture.delta import check_and_decompress
from utauproxy.capture.layout import (
    CHUNK_ARRAY_HEAD,
    CHUNK_HEAD,
    CRC_END,
    CRC_OFFSET,
    UINT32_HEAD,
    Codec,
)
from utauproxy.capture.limits import ReadLimits
from utauproxy.capture.safecbor import Truncated, bytes_head, decode_checked, read_head, scan_item
from utauproxy.errors import CaptureCorrupt, CaptureLimitExceeded

META_MAX_BYTES = 4096  # the metadata array; later minors may append small fields to it
_PREFIX = CHUNK_HEAD + bytes([CHUNK_ARRAY_HEAD, UINT32_HEAD])


@dataclass(frozen=True, slots=True)
class ChunkMeta:
    """What a chunk says about itself. `count` excludes base copies; first/last are the
    earliest and latest ts_ns of those records."""

    seq: int
    first_ts_ns: int
    last_ts_ns: int
    count: int
    codec: int
    raw_len: int


def encode_chunk(
    meta: ChunkMeta, records: bytes, compressor: zstandard.ZstdCompressor
) -> tuple[bytes, ChunkMeta]:
    """The chunk item for `records` (a CBOR sequence); meta.codec is chosen here: zstd
    unless compression does not shrink the records."""
    payload = compressor.compress(records)
    codec = Codec.ZSTD
    if len(payload) >= len(records):
        payload, codec = records, Codec.STORED
    fields = [meta.seq, meta.first_ts_ns, meta.last_ts_ns, meta.count, codec, len(records)]
    tail = cbor2.dumps(fields) + bytes_head(len(payload))
    crc = zlib.crc32(payload, zlib.crc32(tail, zlib.crc32(_PREFIX)))
    item = b"".join((_PREFIX, crc.to_bytes(4, "big"), tail, payload))
    return item, ChunkMeta(meta.seq, meta.first_ts_ns, meta.last_ts_ns, meta.count, codec, len(records))


def encode_chunk_parts(
    meta: ChunkMeta, parts: list[bytes], compressor: zstandard.ZstdCompressor
) -> tuple[list[bytes], ChunkMeta]:
    """encode_chunk for records given as parts (their concatenation), returned as pieces to
    write one after the other. Neither the records nor the compressed data are joined into
    one buffer: for a chunk holding a tens-of-MB message that is two full-size copies less.
    The zstd frame is made in streaming mode, so its bytes may differ from encode_chunk's,
    but it is the same kind of frame (content size declared), read the same way."""
    raw_len = sum(len(part) for part in parts)
    stream = compressor.compressobj(size=raw_len)
    pieces = [piece for piece in (stream.compress(part) for part in parts) if piece]
    pieces.append(stream.flush())
    codec = Codec.ZSTD
    if sum(len(piece) for piece in pieces) >= raw_len:
        pieces, codec = list(parts), Codec.STORED
    fields = [meta.seq, meta.first_ts_ns, meta.last_ts_ns, meta.count, codec, raw_len]
    tail = cbor2.dumps(fields) + bytes_head(sum(len(piece) for piece in pieces))
    crc = zlib.crc32(tail, zlib.crc32(_PREFIX))
    for piece in pieces:
        crc = zlib.crc32(piece, crc)
    head = b"".join((_PREFIX, crc.to_bytes(4, "big"), tail))
    return [head, *pieces], ChunkMeta(meta.seq, meta.first_ts_ns, meta.last_ts_ns, meta.count, codec, raw_len)


def stored_chunk_head(meta: ChunkMeta, data: Iterable[bytes]) -> tuple[bytes, ChunkMeta]:
    """The head of a STORED chunk of meta.raw_len bytes of records, which `data` yields: the
    head holds their CRC, so they are read here once and then written by the caller from
    the same source, never held whole. Raises ValueError when `data` is not raw_len long
    (and whatever `data` raises)."""
    fields = [meta.seq, meta.first_ts_ns, meta.last_ts_ns, meta.count, Codec.STORED, meta.raw_len]
    tail = cbor2.dumps(fields) + bytes_head(meta.raw_len)
    crc, length = zlib.crc32(tail, zlib.crc32(_PREFIX)), 0
    for piece in data:
        crc, length = zlib.crc32(piece, crc), length + len(piece)
    if length != meta.raw_len:
        raise ValueError(f"{length} bytes of records, declared {meta.raw_len}")
    head = b"".join((_PREFIX, crc.to_bytes(4, "big"), tail))
    return head, ChunkMeta(meta.seq, meta.first_ts_ns, meta.last_ts_ns, meta.count, Codec.STORED, meta.raw_len)


@dataclass(frozen=True, slots=True)
class ChunkExtent:
    """Where the parts of a chunk item lie, relative to its first byte."""

    meta_end: int
    data_start: int
    end: int


def chunk_extent(prefix: bytes, limits: ReadLimits) -> ChunkExtent:
    """Locate the parts of the chunk item that `prefix` starts. Raises Truncated when more
    bytes are needed, CaptureCorrupt/CaptureLimitExceeded when it is not a usable chunk."""
    if len(prefix) < CRC_END:
        raise Truncated(CRC_END)
    if prefix[: len(_PREFIX)] != _PREFIX:
        raise CaptureCorrupt("chunk head is malformed")
    meta_end = scan_item(prefix, CRC_END, max_bytes=META_MAX_BYTES, max_depth=limits.max_depth)
    major, _, length, data_start = read_head(prefix, meta_end)
    if major != 2:
        raise CaptureCorrupt("chunk data is not a byte string")
    end = data_start + length
    if end > limits.max_item_bytes:
        raise CaptureLimitExceeded(f"chunk of {end} bytes exceeds {limits.max_item_bytes}")
    return ChunkExtent(meta_end, data_start, end)


def decode_chunk(
    item: bytes, extent: ChunkExtent, limits: ReadLimits, decompressor: zstandard.ZstdDecompressor
) -> tuple[ChunkMeta, bytes]:
    """Verify a whole chunk item and return its metadata and decompressed records."""
    stored_crc = int.from_bytes(item[CRC_OFFSET:CRC_END], "big")
    if zlib.crc32(memoryview(item)[CRC_END:], zlib.crc32(item[:CRC_OFFSET])) != stored_crc:
        raise CaptureCorrupt("chunk CRC mismatch")
    meta = _meta(decode_checked(item, CRC_END, extent.meta_end, max_depth=limits.max_depth))
    if meta.raw_len > limits.max_chunk_bytes:
        raise CaptureLimitExceeded(f"chunk of {meta.raw_len} bytes exceeds {limits.max_chunk_bytes}")
    payload = item[extent.data_start : extent.end]
    if meta.codec == Codec.STORED:
        if len(payload) != meta.raw_len:
            raise CaptureCorrupt("stored chunk length does not match its metadata")
        return meta, payload
    if meta.codec == Codec.ZSTD:
        return meta, check_and_decompress(decompressor, payload, meta.raw_len, limits.max_window_bytes)
    raise CaptureCorrupt(f"unknown chunk codec {meta.codec}")


def _meta(value: Any) -> ChunkMeta:
    if not isinstance(value, list) or len(value) < 6:
        raise CaptureCorrupt("chunk metadata must be an array of at least 6 elements")
    fields = value[:6]
    if any(isinstance(v, bool) or not isinstance(v, int) for v in fields):
        raise CaptureCorrupt("chunk metadata fields must be integers")
    if fields[3] < 0 or fields[5] < 0:
        raise CaptureCorrupt("chunk metadata has a negative count or length")
    return ChunkMeta(*fields)

"""CaptureWriter: records in, a crash-safe .utpcap file out (docs/capture-format.md).

Records are collected into an open chunk that is sealed (compressed, checksummed, written
with one write and a flush) when it grows past chunk_max_bytes or gets older than
chunk_max_age_ns, so a kill -9 loses at most the open chunk. Not thread-safe: one owner.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, BinaryIO, cast

import zstandard

from utauproxy.capture import codec
from utauproxy.capture.audio import AUDIO_LABEL, LAYOUT_LABEL, AudioEncoder
from utauproxy.capture.chunk import ChunkMeta, encode_chunk, encode_chunk_parts, stored_chunk_head
from utauproxy.capture.codec import AudioRecord
from utauproxy.capture.delta import LEVEL, DeltaEncoder, Ids, Plan, StreamState
from utauproxy.capture.footer import FooterBuilder, encode_trailer
from utauproxy.capture.layout import MAX_CHUNK_BYTES_OPTION, Codec
from utauproxy.capture.preamble import encode_preamble
from utauproxy.capture.values import plain_map
from utauproxy.errors import CaptureError
from utauproxy.protocol.audio_line import Base64Text
from utauproxy.protocol.header import message_label
from utauproxy.records import CaptureHeader, ConnectionRecord, ConnEvent, MessageFlags, MessageRecord, Record

_CREATE_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


@dataclass(slots=True)
class _OpenChunk:
    parts: list[bytes] = field(default_factory=list)
    size: int = 0  # encoded records plus the expanded size of deltas (what a reader decodes)
    count: int = 0
    first_ts: int = 0
    last_ts: int = 0

    def add(self, parts: list[bytes], expanded: int, ts: int) -> None:
        if not self.count:
            self.first_ts = self.last_ts = ts
        self.parts.extend(parts)
        self.size += expanded
        self.count += 1
        self.first_ts, self.last_ts = min(self.first_ts, ts), max(self.last_ts, ts)


class CaptureWriter:
    """Writes one capture. See the module docstring; every method but close() may seal."""

    @classmethod
    def create(cls, path: str | os.PathLike[str], header: CaptureHeader, **opts: Any) -> CaptureWriter:
        """Create `path` (mode 0600) and write the label and header. Never overwrites an
        existing file and never follows a symlink: both are CaptureError."""
        encode_preamble(header)  # fail on a bad header or options before a file exists
        _check_options(**opts)
        try:
            fd = os.open(path, _CREATE_FLAGS, 0o600)
        except FileExistsError:
            raise CaptureError(f"refusing to overwrite {os.fspath(path)!r}: it exists") from None
        except OSError as exc:
            raise CaptureError(f"cannot create {os.fspath(path)!r}: {exc}") from exc
        file = os.fdopen(fd, "wb")
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)  # the umask cannot widen it, but a strict one could narrow it
            return cls(file, header, **opts)
        except BaseException:
            file.close()
            os.unlink(path)  # ours: created exclusively a moment ago, and holds nothing yet
            raise

    def __init__(
        self,
        file: BinaryIO,
        header: CaptureHeader,
        *,
        chunk_max_bytes: int = 4 << 20,
        chunk_max_age_ns: int = 200_000_000,
    ) -> None:
        """Take ownership of `file` and write label and header at once."""
        _check_options(chunk_max_bytes=chunk_max_bytes, chunk_max_age_ns=chunk_max_age_ns)
        self._file = file
        self._max_bytes = chunk_max_bytes
        self._max_age = chunk_max_age_ns
        self._compressor = zstandard.ZstdCompressor(level=LEVEL)
        ids = Ids()
        self._deltas = DeltaEncoder(ids)
        self._audio = AudioEncoder(ids)
        self._stats = FooterBuilder()
        self._chunk = _OpenChunk()
        self._seq = 0
        self._lines: dict[tuple[int, int], tuple[str, int]] = {}  # lines split by the framer
        self._offset = _position(file)
        self._bytes_written = 0
        self._failure: CaptureError | None = None
        self._closed = False
        self._emit(encode_preamble(header))

    @property
    def bytes_written(self) -> int:
        """Bytes handed to the file and flushed so far."""
        return self._bytes_written

    @property
    def records_written(self) -> int:
        return self._stats.records

    @property
    def wire_bytes(self) -> int:
        """Bytes of the messages written, as they were on the wire."""
        return self._stats.wire_bytes

    def write(self, record: Record) -> None:
        """Add one record. Raises TypeError/ValueError (nothing written) for a record the
        format cannot hold, CaptureError when the file fails."""
        self._check_usable()
        if isinstance(record, MessageRecord):
            self._write_message(record)
            return
        encoded = codec.encode_other(record)
        self._append([encoded], len(encoded), record.ts_ns)
        self._stats.add(record)
        # Compared as readers will see it (an event given as plain text counts too).
        if isinstance(record, ConnectionRecord) and ConnEvent(record.event) is ConnEvent.CLOSED:
            self._forget_conn(record.conn)
        self._seal_if_full()

    def maybe_flush(self, now_ns: int) -> None:
        """Seal the open chunk if its oldest record is chunk_max_age_ns older than now_ns
        (same clock as ts_ns). Call this periodically while recording."""
        self._check_usable()
        if self._chunk.count and now_ns - self._chunk.first_ts >= self._max_age:
            self._seal()

    def flush(self) -> None:
        """Seal the open chunk now."""
        self._check_usable()
        self._seal()

    def close(self, extra: Mapping[str, Any] | None = None) -> None:
        """Seal, write footer and trailer, fsync and close the file. `extra` goes into the
        footer. A second call does nothing."""
        if self._closed:
            return
        footer_extra = plain_map(extra or {})  # a bad `extra` raises before anything changes
        self._closed = True
        try:
            if self._failure is not None:
                raise CaptureError(f"the capture writer failed earlier: {self._failure}")
            self._seal()
            footer_offset = self._offset
            self._emit(self._stats.encode(footer_extra))
            self._emit(encode_trailer(footer_offset))
            self._sync()
        finally:
            self._close_file()

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
            return
        try:
            self.close()
        except CaptureError:
            pass  # the exception already on its way out says more

    # --- messages --------------------------------------------------------------------------

    def _write_message(self, record: MessageRecord) -> None:
        codec.check_message(record)
        if type(record.raw) is not bytes:
            record = replace(record, raw=bytes(record.raw))
        label, piece = self._line_of(record)
        if label == AUDIO_LABEL and self._write_audio(record):
            self._stats.add(record, label)
            self._seal_if_full()
            return
        if label == LAYOUT_LABEL:
            self._audio.note_layout(record)
        decision = self._deltas.plan((record.conn, int(record.direction), label, piece), record)
        stream = decision.stream
        if decision.plan is Plan.DELTA:
            assert stream is not None and stream.key is not None
            encoded = codec.encode_delta(record, stream.stream_id, stream.key.base_id, decision.frame)
            self._append_delta(encoded, record, stream)
        elif decision.plan is Plan.KEY:
            assert stream is not None and stream.key is not None
            encoded = codec.encode_key(record, stream.stream_id, stream.key.base_id)
            self._append([encoded], len(encoded), record.ts_ns)
            stream.key_chunk = self._seq
        else:
            parts = codec.encode_plain_message_parts(record)
            self._append(parts, sum(len(part) for part in parts), record.ts_ns)
        self._stats.add(record, label)
        self._seal_if_full()

    def _write_audio(self, record: MessageRecord) -> bool:
        """Store an updateAudio line as an AUDIO record if it can be (capture/audio.py)."""
        audio = self._audio.encode(record)
        if audio is None:
            return False
        parts = codec.encode_audio_parts(audio)
        if any(isinstance(part, Base64Text) for part in parts):
            return self._write_streamed(audio, parts)
        encoded = b"".join(cast(list[bytes], parts))
        self._append([encoded], len(encoded) + len(record.raw), record.ts_ns)
        return True

    def _write_streamed(self, audio: AudioRecord, parts: list[bytes | Base64Text]) -> bool:
        """A long audio line, never held decoded (capture/audio.py): a STORED chunk of its own,
        its payloads decoded twice piece by piece (for the chunk's CRC and the proof, then into
        the file). False, with nothing written, when a text turns out not to be exactly base64."""
        self._seal()
        size = sum(len(part) if isinstance(part, bytes) else part.decoded_len for part in parts)
        meta = ChunkMeta(self._seq, audio.ts_ns, audio.ts_ns, 1, Codec.STORED, size)
        try:
            head, meta = stored_chunk_head(meta, _decoded(parts))
        except ValueError:
            return False
        offset = self._offset
        self._emit(head)
        for piece in _decoded(parts):
            self._emit(piece)
        self._stats.add_chunk(offset, meta)
        self._seq += 1
        return True

    def _append_delta(self, encoded: bytes, record: MessageRecord, stream: StreamState) -> None:
        # A delta in a later chunk than its key brings a copy of the key along (once per
        # key), so losing the key's chunk costs only that chunk.
        assert stream.key is not None
        copy = codec.encode_base_copy(stream.key) if not stream.copied else b""
        expanded = len(encoded) + len(record.raw)
        self._seal_before(record.ts_ns, expanded + len(copy))
        parts = [encoded]
        if stream.key_chunk != self._seq and not stream.copied:
            parts.insert(0, copy)
            stream.copied = True
            expanded += len(copy)
        self._chunk.add(parts, expanded, record.ts_ns)

    def _line_of(self, record: MessageRecord) -> tuple[str, int]:
        """Label and piece index of the line `record` belongs to: pieces after the first of a
        CONTINUED line carry the first piece's label (their own bytes have no header)."""
        side = (record.conn, int(record.direction))
        label, piece = self._lines.pop(side, (None, 0))
        if label is None:
            label = message_label(record.raw)
        if record.flags and record.flags & MessageFlags.CONTINUED:  # `and`: no enum op when NONE
            self._lines[side] = (label, piece + 1)
        return label, piece

    def _forget_conn(self, conn: int) -> None:
        self._deltas.drop_conn(conn)
        self._audio.drop_conn(conn)
        for side in [side for side in self._lines if side[0] == conn]:
            del self._lines[side]

    # --- chunks and the file ---------------------------------------------------------------

    def _append(self, parts: list[bytes], expanded: int, ts: int) -> None:
        self._seal_before(ts, expanded)
        self._chunk.add(parts, expanded, ts)

    def _seal_before(self, ts: int, size: int) -> None:
        """Seal first if the new record would make the open chunk too big or it is too old;
        a record bigger than the limit thus gets a chunk of its own."""
        chunk = self._chunk
        if chunk.count and (ts - chunk.first_ts >= self._max_age or chunk.size + size > self._max_bytes):
            self._seal()

    def _seal_if_full(self) -> None:
        if self._chunk.size >= self._max_bytes:
            self._seal()

    def _seal(self) -> None:
        chunk = self._chunk
        if not chunk.count:
            return
        meta = ChunkMeta(self._seq, chunk.first_ts, chunk.last_ts, chunk.count, 0, 0)
        offset = self._offset
        if any(len(part) >= codec.SPLIT_RAW_BYTES for part in chunk.parts):
            # A big message: compressed and written in pieces (peak memory, issue 8).
            pieces, meta = encode_chunk_parts(meta, chunk.parts, self._compressor)
            self._emit(*pieces)
        else:
            records = b"".join(chunk.parts)
            item, meta = encode_chunk(replace(meta, raw_len=len(records)), records, self._compressor)
            self._emit(item)
        self._stats.add_chunk(offset, meta)
        self._seq += 1
        self._chunk = _OpenChunk()

    def _emit(self, *pieces: bytes) -> None:
        try:
            for data in pieces:
                self._file.write(data)
            self._file.flush()
        except OSError as exc:
            self._failure = CaptureError(f"cannot write the capture: {exc}")
            raise self._failure from exc
        size = sum(len(data) for data in pieces)
        self._offset += size
        self._bytes_written += size

    def _check_usable(self) -> None:
        if self._failure is not None:
            raise CaptureError(f"the capture writer failed earlier: {self._failure}")
        if self._closed:
            raise CaptureError("the capture writer is closed")

    def _sync(self) -> None:
        try:
            fd = self._file.fileno()
        except (OSError, ValueError):
            return  # not a real file (BytesIO): nothing to sync
        try:
            os.fsync(fd)
        except OSError as exc:
            self._failure = CaptureError(f"cannot sync the capture: {exc}")
            raise self._failure from exc

    def _close_file(self) -> None:
        try:
            self._file.close()
        except OSError as exc:
            if self._failure is None:
                raise CaptureError(f"cannot close the capture: {exc}") from exc


def _decoded(parts: list[bytes | Base64Text]) -> Iterator[bytes]:
    for part in parts:
        if isinstance(part, bytes):
            yield part
        else:
            yield from part.exact_pieces()


def _check_options(*, chunk_max_bytes: int = 4 << 20, chunk_max_age_ns: int = 0) -> None:
    if not 0 < chunk_max_bytes <= MAX_CHUNK_BYTES_OPTION:
        raise ValueError(f"chunk_max_bytes must be in 1..{MAX_CHUNK_BYTES_OPTION}")
    if chunk_max_age_ns < 0:
        raise ValueError("chunk_max_age_ns must not be negative")


def _position(file: BinaryIO) -> int:
    try:
        return file.tell()
    except (OSError, ValueError):
        return 0

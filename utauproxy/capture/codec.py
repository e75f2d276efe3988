"""Records <-> the compact arrays stored inside chunks (docs/capture-format.md "Records").

Every record is `[type_code, ts_ns, ...fields]`. Readers ignore elements past the ones they
know (a later minor may append an optional map there) and skip unknown type codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias, cast

import cbor2

from utauproxy.capture.layout import MAX_MESSAGE_BYTES, BlobForm, RecordType
from utauproxy.capture.safecbor import array_head, bytes_head
from utauproxy.capture.values import INT64_MAX, INT64_MIN, UINT64_MAX, checked_int, plain_map, plain_text
from utauproxy.errors import CaptureCorrupt
from utauproxy.protocol.audio_line import Base64Text
from utauproxy.records import (
    ConnectionRecord,
    ConnEvent,
    Direction,
    DiscoveryEvent,
    DiscoveryRecord,
    GapRecord,
    MarkRecord,
    MessageFlags,
    MessageRecord,
    NoticeRecord,
    Record,
)


class RecordInvalid(CaptureCorrupt):
    """A record array inside an intact chunk does not have the shape its type requires."""


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A message stored whole that becomes the base of its delta stream."""

    message: MessageRecord
    stream: int
    base_id: int


@dataclass(frozen=True, slots=True)
class DeltaRecord:
    """A message stored as a zstd frame against the current base of its stream."""

    ts_ns: int
    conn: int
    direction: Direction
    flags: MessageFlags
    stream: int
    base_id: int
    raw_len: int
    frame: bytes

    def message(self, raw: bytes) -> MessageRecord:
        return MessageRecord(self.ts_ns, self.conn, self.direction, raw, self.flags)


@dataclass(frozen=True, slots=True)
class CopyRecord:
    """A second copy of a key, so that deltas survive the loss of the key's chunk."""

    ts_ns: int
    conn: int
    stream: int
    base_id: int
    raw: bytes


@dataclass(frozen=True, slots=True)
class AudioBlob:
    """One decoded audio payload of an AUDIO record, whose base64 text goes at `at` in the
    skeleton. `data` is the payload (PLAIN, KEY) or a zstd frame against the stream's
    current base `base_id` (DELTA). A KEY's payload becomes the base of `stream` with id
    `base_id`; a DELTA's, with id `new_base_id`; `size` is a DELTA's payload length."""

    at: int
    form: BlobForm
    data: bytes
    stream: int = 0
    base_id: int = 0
    new_base_id: int = 0
    size: int = 0
    # Writer only: a PLAIN payload still as its text, decoded piece by piece while it is
    # written (`data` is then empty and `size` the decoded length), so that a 64 MiB line is
    # never held decoded as well.
    text: Base64Text | None = None

    @property
    def payload_len(self) -> int:
        return self.size if self.form is BlobForm.DELTA or self.text is not None else len(self.data)


@dataclass(frozen=True, slots=True)
class AudioRecord:
    """An updateAudio line stored with its base64 values decoded (format 1.1): the line is
    `skeleton` with the standard base64 (padded) of each blob's payload put back at its
    `at`, in order. Written only when that gives back the exact line."""

    ts_ns: int
    conn: int
    direction: Direction
    flags: MessageFlags
    skeleton: bytes
    blobs: tuple[AudioBlob, ...]

    def message(self, raw: bytes) -> MessageRecord:
        return MessageRecord(self.ts_ns, self.conn, self.direction, raw, self.flags)

    @property
    def raw_len(self) -> int:
        """The length of the line it stands for."""
        return len(self.skeleton) + sum(4 * ((blob.payload_len + 2) // 3) for blob in self.blobs)


Decoded: TypeAlias = Record | KeyRecord | DeltaRecord | CopyRecord | AudioRecord


# --- writing ---------------------------------------------------------------------------------


def check_message(record: MessageRecord) -> None:
    """Raise TypeError/ValueError unless every reader can store and read back `record`."""
    if (  # the recorder's own records, checked without the general path's enum calls
        type(record.ts_ns) is int and INT64_MIN <= record.ts_ns <= INT64_MAX
        and type(record.conn) is int and 0 <= record.conn <= UINT64_MAX
        and type(record.direction) is Direction
        and type(record.flags) is MessageFlags and 0 <= record.flags <= UINT64_MAX
        and type(record.raw) is bytes and len(record.raw) <= MAX_MESSAGE_BYTES
    ):
        return
    checked_int(record.ts_ns, "ts_ns")
    checked_int(record.conn, "conn", 0, UINT64_MAX)
    Direction(record.direction)
    checked_int(int(record.flags), "flags", 0, UINT64_MAX)
    if not isinstance(record.raw, (bytes, bytearray, memoryview)):
        raise TypeError(f"raw must be bytes, not {type(record.raw).__name__}")
    if len(record.raw) > MAX_MESSAGE_BYTES:
        raise ValueError(f"message of {len(record.raw)} bytes exceeds {MAX_MESSAGE_BYTES}")


def _message_head(code: RecordType, record: MessageRecord) -> list[Any]:
    return [code, record.ts_ns, record.conn, int(record.direction), int(record.flags)]


def encode_plain_message(record: MessageRecord) -> bytes:
    return cbor2.dumps([*_message_head(RecordType.MESSAGE, record), bytes(record.raw)])


def encode_plain_message_parts(record: MessageRecord) -> list[bytes]:
    """encode_plain_message's bytes as a list whose concatenation is that encoding; a big
    `raw` (bytes) is its own part, so a tens-of-MB message is not copied to be encoded."""
    raw = record.raw
    if type(raw) is not bytes or len(raw) < SPLIT_RAW_BYTES:
        return [encode_plain_message(record)]
    return [_up_to_bytes([*_message_head(RecordType.MESSAGE, record)], len(raw)), raw]


SPLIT_RAW_BYTES = 1 << 20


def _up_to_bytes(fields: list[Any], length: int) -> bytes:
    """The encoding of the array `fields` + [a byte string of `length` bytes] up to those
    bytes, which the caller writes after it (so a big one is never copied to be encoded)."""
    # An empty byte string encodes as one byte (0x40); the head for `length` replaces it.
    return cbor2.dumps([*fields, b""])[:-1] + bytes_head(length)


def encode_key(record: MessageRecord, stream: int, base_id: int) -> bytes:
    fields = [*_message_head(RecordType.MESSAGE_KEY, record), bytes(record.raw), stream, base_id]
    return cbor2.dumps(fields)


def encode_delta(record: MessageRecord, stream: int, base_id: int, frame: bytes) -> bytes:
    fields = [*_message_head(RecordType.MESSAGE_DELTA, record), stream, base_id]
    return cbor2.dumps([*fields, len(record.raw), frame])


def encode_base_copy(key: KeyRecord) -> bytes:
    message = key.message
    fields = [RecordType.BASE_COPY, message.ts_ns, message.conn, key.stream, key.base_id]
    return cbor2.dumps([*fields, bytes(message.raw)])


def encode_audio(record: AudioRecord) -> bytes:
    """The record array of an AUDIO record whose payloads are all decoded."""
    parts = encode_audio_parts(record)
    if any(isinstance(part, Base64Text) for part in parts):
        raise ValueError("a payload still as text: use encode_audio_parts")
    return b"".join(cast(list[bytes], parts))


def encode_audio_parts(record: AudioRecord) -> list[bytes | Base64Text]:
    """The record array as parts whose concatenation is its encoding, a payload given as text
    standing for the bytes it decodes to (see AudioBlob.text)."""
    fields = [RecordType.MESSAGE_AUDIO, record.ts_ns, record.conn, int(record.direction), int(record.flags),
              record.skeleton]
    head = array_head(len(fields) + 1) + cbor2.dumps(fields)[1:]  # one more element: the blobs
    parts: list[bytes | Base64Text] = [head + array_head(len(record.blobs))]
    for blob in record.blobs:
        if blob.text is None:
            parts.append(cbor2.dumps(_blob_fields(blob)))
        else:
            parts += [_up_to_bytes([blob.at, BlobForm.PLAIN], blob.size), blob.text]
    return parts


def _blob_fields(blob: AudioBlob) -> list[Any]:
    if blob.form is BlobForm.PLAIN:
        return [blob.at, BlobForm.PLAIN, blob.data]
    if blob.form is BlobForm.KEY:
        return [blob.at, BlobForm.KEY, blob.data, blob.stream, blob.base_id]
    return [blob.at, BlobForm.DELTA, blob.data, blob.stream, blob.base_id, blob.new_base_id, blob.size]


def encode_other(record: Record) -> bytes:
    """Encode any record but a message. Raises TypeError/ValueError for bad field values."""
    if not isinstance(record, (ConnectionRecord, DiscoveryRecord, MarkRecord, GapRecord, NoticeRecord)):
        raise TypeError(f"not a record: {type(record).__name__}")
    ts = checked_int(record.ts_ns, "ts_ns")
    if isinstance(record, ConnectionRecord):
        direction = None if record.direction is None else int(Direction(record.direction))
        conn = checked_int(record.conn, "conn", 0, UINT64_MAX)
        event = ConnEvent(record.event).value
        return cbor2.dumps([RecordType.CONNECTION, ts, conn, event, direction, plain_map(record.detail)])
    if isinstance(record, DiscoveryRecord):
        event = DiscoveryEvent(record.event).value
        return cbor2.dumps([RecordType.DISCOVERY, ts, event, plain_map(record.entry)])
    if isinstance(record, MarkRecord):
        return cbor2.dumps([RecordType.MARK, ts, _text(record.text, "text")])
    if isinstance(record, GapRecord):
        fields = [
            checked_int(record.conn, "conn", 0, UINT64_MAX),
            int(Direction(record.direction)),
            checked_int(record.lost_bytes, "lost_bytes", 0, UINT64_MAX),
            checked_int(record.lost_messages, "lost_messages", 0, UINT64_MAX),
            _text(record.reason, "reason"),
        ]
        return cbor2.dumps([RecordType.GAP, ts, *fields])
    level, text = _text(record.level, "level"), _text(record.text, "text")
    return cbor2.dumps([RecordType.NOTICE, ts, level, text])


def _text(value: str, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be str, not {type(value).__name__}")
    return plain_text(value)


# --- reading ---------------------------------------------------------------------------------


class _Fields:
    """Typed access to the elements of one record array; a wrong shape is RecordInvalid."""

    def __init__(self, array: list[Any], need: int) -> None:
        if len(array) < need:
            raise RecordInvalid(f"record type {array[0]} needs {need} elements, has {len(array)}")
        self._array = array

    def integer(self, index: int, low: int = -(1 << 64), high: int = UINT64_MAX) -> int:
        value = self._array[index]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise RecordInvalid(f"element {index} must be an int in [{low}, {high}]")
        return value

    def string(self, index: int) -> str:
        value = self._array[index]
        if not isinstance(value, str):
            raise RecordInvalid(f"element {index} must be text")
        return value

    def blob(self, index: int) -> bytes:
        value = self._array[index]
        if not isinstance(value, bytes):
            raise RecordInvalid(f"element {index} must be bytes")
        return value

    def array(self, index: int) -> list[Any]:
        value = self._array[index]
        if not isinstance(value, list):
            raise RecordInvalid(f"element {index} must be an array")
        return value

    def mapping(self, index: int) -> dict[str, Any]:
        value = self._array[index]
        if not isinstance(value, dict):
            raise RecordInvalid(f"element {index} must be a map")
        return value

    def direction(self, index: int) -> Direction:
        return Direction(self.integer(index, 0, 1))

    def optional_direction(self, index: int) -> Direction | None:
        return None if self._array[index] is None else self.direction(index)

    def flags(self, index: int) -> MessageFlags:
        return MessageFlags(self.integer(index, 0))


def _message(f: _Fields, raw_index: int) -> MessageRecord:
    return MessageRecord(f.integer(1), f.integer(2, 0), f.direction(3), f.blob(raw_index), f.flags(4))


def _decode_connection(f: _Fields) -> ConnectionRecord | None:
    try:
        event = ConnEvent(f.string(3))
    except ValueError:
        return None  # an event kind from a later minor
    return ConnectionRecord(f.integer(1), f.integer(2, 0), event, f.optional_direction(4), f.mapping(5))


def _decode_discovery(f: _Fields) -> DiscoveryRecord | None:
    try:
        event = DiscoveryEvent(f.string(2))
    except ValueError:
        return None
    return DiscoveryRecord(f.integer(1), event, f.mapping(3))


def _decode_gap(f: _Fields) -> GapRecord:
    fields = (f.integer(2, 0), f.direction(3), f.integer(4, 0), f.integer(5, 0), f.string(6))
    return GapRecord(f.integer(1), *fields)


def _decode_delta(f: _Fields) -> DeltaRecord:
    head = (f.integer(1), f.integer(2, 0), f.direction(3), f.flags(4))
    return DeltaRecord(*head, f.integer(5, 0), f.integer(6, 0), f.integer(7, 0), f.blob(8))


_BLOB_LENGTH = {BlobForm.PLAIN: 3, BlobForm.KEY: 5, BlobForm.DELTA: 7}


def _decode_audio(f: _Fields) -> AudioRecord:
    head = (f.integer(1), f.integer(2, 0), f.direction(3), f.flags(4))
    skeleton, blobs, pos = f.blob(5), f.array(6), 0
    decoded = []
    for value in blobs:
        blob = _decode_blob(value)
        if not pos <= blob.at <= len(skeleton):
            raise RecordInvalid(f"audio blob at {blob.at} is outside {pos}..{len(skeleton)}")
        pos = blob.at
        decoded.append(blob)
    return AudioRecord(*head, skeleton, tuple(decoded))


def _decode_blob(value: Any) -> AudioBlob:
    if not isinstance(value, list) or len(value) < 3:
        raise RecordInvalid("an audio blob must be an array of at least 3 elements")
    f = _Fields(value, 3)
    try:
        form = BlobForm(f.integer(1, 0))
    except (RecordInvalid, ValueError):
        raise RecordInvalid(f"unknown audio blob form {value[1]!r}") from None
    need = _BLOB_LENGTH[form]
    if len(value) < need:
        raise RecordInvalid(f"an audio blob of form {form.name} needs {need} elements, has {len(value)}")
    stream, base_id, new_base_id, size = (f.integer(index, 0) if index < need else 0 for index in range(3, 7))
    return AudioBlob(f.integer(0, 0), form, f.blob(2), stream, base_id, new_base_id, size)


_MIN_LENGTH = {
    RecordType.MESSAGE: 6,
    RecordType.CONNECTION: 6,
    RecordType.DISCOVERY: 4,
    RecordType.MARK: 3,
    RecordType.GAP: 7,
    RecordType.NOTICE: 4,
    RecordType.MESSAGE_KEY: 8,
    RecordType.MESSAGE_DELTA: 9,
    RecordType.BASE_COPY: 6,
    RecordType.MESSAGE_AUDIO: 7,
}


def decode_record(array: Any) -> Decoded | None:
    """Turn one record array into a record; None for a type (or event kind) this reader does
    not know. Raises RecordInvalid when a known type has the wrong shape."""
    if not isinstance(array, list) or not array:
        raise RecordInvalid("a record must be a non-empty array")
    code = array[0]
    if isinstance(code, bool) or not isinstance(code, int):
        raise RecordInvalid("a record's type code must be an int")
    if code not in _MIN_LENGTH:
        return None
    kind = RecordType(code)
    f = _Fields(array, _MIN_LENGTH[kind])
    if kind is RecordType.MESSAGE:
        return _message(f, 5)
    if kind is RecordType.CONNECTION:
        return _decode_connection(f)
    if kind is RecordType.DISCOVERY:
        return _decode_discovery(f)
    if kind is RecordType.MARK:
        return MarkRecord(f.integer(1), f.string(2))
    if kind is RecordType.GAP:
        return _decode_gap(f)
    if kind is RecordType.NOTICE:
        return NoticeRecord(f.integer(1), f.string(2), f.string(3))
    if kind is RecordType.MESSAGE_KEY:
        return KeyRecord(_message(f, 5), f.integer(6, 0), f.integer(7, 0))
    if kind is RecordType.MESSAGE_DELTA:
        return _decode_delta(f)
    if kind is RecordType.MESSAGE_AUDIO:
        return _decode_audio(f)
    return CopyRecord(f.integer(1), f.integer(2, 0), f.integer(3, 0), f.integer(4, 0), f.blob(5))

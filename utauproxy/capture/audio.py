"""Audio stored decoded, each render as a delta to the part's previous one (format 1.1, AUDIO).

An `updateAudio` line is base64 of zstd-compressed samples (PROTOCOL.md §3.4). Compressed
again as text it barely shrinks, and base64 shifts every byte after a change, so a delta
between two renders of the same part finds little in common as text. Decoded, the render
after an edit shares most of its bytes with the one before: the benchmark's realistic session
stores its audio in 0.37 MB instead of 3.4 MB (docs/benchmarks.md). DESIGN.md §4 allows the
decoded form as long as reading gives back the exact text, so the writer stores it only when
re-encoding gives back every byte.

Which render came before is told by the part: the `updatePartLayout` request that precedes
the audio names the (track, start) slot of every hash (§3.6). Each slot is a stream whose
base rolls forward: every payload becomes the base of the next. A chain has no base copies
(a copy costs as much as the key, which is most of the saving); instead a new key is taken
once the deltas since the last one add up to what it cost, so damage to one chunk loses at
most one key's worth of a part's renders.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import pybase64

from utauproxy.capture.codec import AudioBlob, AudioRecord
from utauproxy.capture.delta import MISS_RATIO, Backoff, BaseCache, Ids, delta_compressor
from utauproxy.capture.layout import AUDIO_LINE_MAX_BYTES, BlobForm
from utauproxy.protocol.audio_line import AudioText, Base64Text, Slot, audio_texts, layout_slots
from utauproxy.records import MessageFlags, MessageRecord

LAYOUT_LABEL = "request:updatePartLayout"
AUDIO_LABEL = "notification:updateAudio"
MIN_TEXT = 1024  # shorter values are left to the chunk's compression
DECODED_LINE_MAX_BYTES = 8 << 20  # longer lines are streamed (see AudioEncoder.encode)
MAX_CHAIN = 64  # deltas per key, whatever they cost
# Bases held for the next render's delta, beside the messages' 256 MiB (within a reader's
# 512 MiB). Small, because the recorder's memory target is 2 x the largest message + 100 MB.
WRITER_AUDIO_BASE_BYTES = 32 << 20
_NO_LF = int(MessageFlags.NO_LF)  # the only flag an AUDIO line may carry: a whole line


@dataclass(slots=True)
class _Part:
    """The writer's view of one part's renders."""

    stream: int
    base: bytes = b""
    base_id: int = -1
    key_cost: int = 0
    chain_bytes: int = 0
    chain: int = 0
    backoff: Backoff = field(default_factory=Backoff)


class AudioEncoder:
    """Turns updateAudio lines into AudioRecords (see the module docstring). Not thread-safe."""

    def __init__(self, ids: Ids, *, max_base_bytes: int = WRITER_AUDIO_BASE_BYTES) -> None:
        self._ids = ids
        self._max_base_bytes = max_base_bytes
        self._base_bytes = 0
        self._slots: dict[int, dict[int, Slot]] = {}
        self._parts: OrderedDict[tuple[int, int, Slot], _Part] = OrderedDict()

    def note_layout(self, record: MessageRecord) -> None:
        """Learn which hash renders which part from an updatePartLayout request."""
        self._slots[record.conn] = layout_slots(record.raw.partition(b" ")[2])

    def encode(self, record: MessageRecord) -> AudioRecord | None:
        """The AUDIO record for an updateAudio line, or None when the line is better stored
        as it is (nothing decodes back to the exact text, or the line is too long)."""
        if int(record.flags) & ~_NO_LF or len(record.raw) > AUDIO_LINE_MAX_BYTES:
            return None
        raw = record.raw
        view = memoryview(raw)
        skeleton: list[bytes] = []
        blobs: list[AudioBlob] = []
        # A long line is decoded only while it is written, never held decoded (nor its
        # deltas' bases): the recorder's memory target is 2 x the largest message + 100 MB.
        # It is proven only then, and stored as text should that fail, so none of its
        # payloads may move a stream's base.
        streamed = len(raw) > DECODED_LINE_MAX_BYTES
        pos = kept = 0  # raw[:pos] is done; `kept` bytes of it are in the skeleton
        for text in audio_texts(raw, MIN_TEXT):
            at = kept + text.start - pos
            base64 = Base64Text(view[text.start:text.end])
            blob = (AudioBlob(at, BlobForm.PLAIN, b"", size=base64.decoded_len, text=base64) if streamed
                    else self._blob(record, text, base64, at))
            if blob is None:
                continue
            skeleton.append(raw[pos:text.start])
            kept, pos = at, text.end
            blobs.append(blob)
        if not blobs:
            return None
        skeleton.append(raw[pos:])
        return AudioRecord(record.ts_ns, record.conn, record.direction, record.flags,
                           b"".join(skeleton), tuple(blobs))

    def drop_conn(self, conn: int) -> None:
        """Forget a closed connection's layout and parts (readers drop its bases too)."""
        self._slots.pop(conn, None)
        for key in [key for key in self._parts if key[0] == conn]:
            self._base_bytes -= len(self._parts.pop(key).base)

    def _blob(self, record: MessageRecord, text: AudioText, base64: Base64Text, at: int) -> AudioBlob | None:
        payload = base64.exact()
        if payload is None:
            return None
        slot = self._slots.get(record.conn, {}).get(text.key) if text.key is not None else None
        if slot is None:  # with no layout, nothing tells which render came before
            return AudioBlob(at, BlobForm.PLAIN, payload)
        return self._render(self._part((record.conn, int(record.direction), slot)), payload, at)

    def _render(self, part: _Part, payload: bytes, at: int) -> AudioBlob:
        """A KEY or DELTA that moves the part's base, or PLAIN while the part backs off."""
        if part.backoff.waiting():
            return AudioBlob(at, BlobForm.PLAIN, payload)
        frame, missed = self._delta(part, payload)
        if missed and part.backoff.missed():  # renders that share nothing: stop trying
            self._set_base(part, b"", -1)
            return AudioBlob(at, BlobForm.PLAIN, payload)
        if frame is not None:
            part.backoff.hit()
        base_id = part.base_id
        self._set_base(part, payload, self._ids.base())
        if frame is None:
            part.key_cost, part.chain_bytes, part.chain = len(payload), 0, 0
            return AudioBlob(at, BlobForm.KEY, payload, part.stream, part.base_id)
        part.chain_bytes += len(frame)
        part.chain += 1
        return AudioBlob(at, BlobForm.DELTA, frame, part.stream, base_id, part.base_id, len(payload))

    def _delta(self, part: _Part, payload: bytes) -> tuple[bytes | None, bool]:
        """The delta to the part's previous render, or None when a key is due instead; and
        whether the delta missed (larger than MISS_RATIO of the payload)."""
        if not part.base or part.chain >= MAX_CHAIN:
            return None, False
        frame = delta_compressor(part.base).compress(payload)
        if len(frame) > MISS_RATIO * len(payload):
            return None, True
        return (None if part.chain_bytes + len(frame) > part.key_cost else frame), False

    def _part(self, key: tuple[int, int, Slot]) -> _Part:
        part = self._parts.get(key)
        if part is None:
            part = self._parts[key] = _Part(self._ids.stream())
        else:
            self._parts.move_to_end(key)
        return part

    def _set_base(self, part: _Part, payload: bytes, base_id: int) -> None:
        self._base_bytes += len(payload) - len(part.base)
        part.base, part.base_id = payload, base_id
        for other in self._parts.values():  # least recently used first
            if self._base_bytes <= self._max_base_bytes:
                break
            if other is not part and other.base:
                self._base_bytes -= len(other.base)
                other.base, other.base_id = b"", -1


def rebuild_line(record: AudioRecord, bases: BaseCache) -> bytes:
    """The exact line an AUDIO record stands for; updates `bases` as the writer did. Raises
    BaseUnavailable (a delta whose base was lost), CaptureCorrupt or CaptureLimitExceeded."""
    skeleton, pieces, pos = record.skeleton, [], 0
    for blob in record.blobs:
        pieces.append(skeleton[pos:blob.at])
        pos = blob.at
        pieces.append(pybase64.b64encode(_payload(blob, record.conn, bases)))
    pieces.append(skeleton[pos:])
    return b"".join(pieces)


def _payload(blob: AudioBlob, conn: int, bases: BaseCache) -> bytes:
    if blob.form is BlobForm.PLAIN:
        return blob.data
    if blob.form is BlobForm.KEY:
        bases.put_payload(blob.stream, blob.base_id, conn, blob.data)
        return blob.data
    payload = bases.expand_frame(blob.stream, blob.base_id, blob.data, blob.size)
    bases.put_payload(blob.stream, blob.new_base_id, conn, payload)
    return payload

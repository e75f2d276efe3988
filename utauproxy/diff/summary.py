"""Pass 1 of a diff: one streaming read of a capture into small per-message summaries. Pure.

Nothing here keeps a payload. Each message becomes a `MessageSummary` (label, request pairing,
fingerprint, hash references: about two hundred bytes however large the line was); pings
become timestamps; each audio payload is decoded once, on the fly, into an `AudioInfo` (a
digest of its samples) filed under its hash. Payloads that turn out to differ are read again
later (detail.py), so memory follows the number of messages, not the size of the file.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import xxhash

from utauproxy.diff.canon import HashRef, normalize_hash
from utauproxy.diff.facts import FactsCache, FactsKey, PayloadFacts, Slot, payload_facts
from utauproxy.diff.profile import ProtocolProfile
from utauproxy.inspect.decode import (
    Decoded,
    DecodedMessage,
    LongLine,
    OtherRecord,
    decode_records,
    revalidate,
)
from utauproxy.protocol.events import AudioFrame, Dialect, Malformed, Message
from utauproxy.protocol.header import MAX_HEADER_LEN, HeaderType
from utauproxy.protocol.version import VersionDetector, VersionGuess
from utauproxy.records import (
    CaptureHeader,
    ConnectionRecord,
    ConnEvent,
    Direction,
    DiscoveryRecord,
    Record,
)
from utauproxy.replay.script import Role

# Lines above this are parsed only when their payload is new (see `Summarizer._settled`):
# ~145 KB USTX resends and tens-of-MB audio lines.
LAZY_ABOVE = 1 << 16
# Audio payloads the version detector decodes to check their hashes (each line has one or more).
_DETECTOR_AUDIO_CHECKS = 4


@dataclass(slots=True)
class MessageSummary:
    """One message, without its payload. `index` is its record's position in the capture
    (how detail.py finds it again); `position` its place among its connection's messages."""

    index: int
    position: int
    direction: Direction
    ts_ns: int  # since the connection's first record
    label: str  # id-free: `request:init`, `response:init`, `notification:updateUstx`, `audio`
    role: Role
    size: int
    fingerprint: int
    request_id: str | None = None
    answers: int | None = None  # responses (and v1.2 frames): position of their request
    refs: tuple[HashRef, ...] = ()
    format_digest: int = 0  # json-format strictness; 0 when not computed
    encoded_digest: int = 0  # updateAudio: digest of the compressed text
    parsed: bool = True  # False: the payload is not JSON (compared as bytes)
    components: bytes = b""  # canon.components: for pairing changed messages
    audio_only: bool = False  # `{"audios": {...}}` and nothing else: pass 2 settles it


@dataclass(slots=True)
class ConnectionSummary:
    conn: int
    start_ns: int
    messages: list[MessageSummary] = field(default_factory=list)  # pings excluded
    pings: dict[Direction, array[int]] = field(default_factory=dict)  # their times
    detail: dict[str, Any] = field(default_factory=dict)  # the OPEN record's

    def ping_times(self, direction: Direction) -> array[int]:
        return self.pings.get(direction, array("q"))


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """One audio payload: where it is (record index and key, or None for a v1.2 frame),
    what it holds (a digest of the decoded samples and their size) and how it was wrapped."""

    index: int
    key: str | None
    digest: int
    nbytes: int
    codec: str


@dataclass(slots=True)
class CaptureSummary:
    name: str
    header: CaptureHeader | None = None
    connections: list[ConnectionSummary] = field(default_factory=list)
    audio: dict[int, AudioInfo] = field(default_factory=dict)  # normalised hash -> first payload
    slots: dict[int, Slot] = field(default_factory=dict)  # normalised hash -> layout slot
    profile: ProtocolProfile = field(default_factory=ProtocolProfile)
    version: VersionGuess | None = None
    messages: int = 0
    undecodable_audio: int = 0


@dataclass(slots=True)
class _Conn:
    summary: ConnectionSummary
    open_requests: dict[str, int] = field(default_factory=dict)  # id -> position
    kinds: dict[int, str] = field(default_factory=dict)  # request position -> kind
    pending_pull: int | None = None  # v1.2: a getAudio waiting for its frame


class Summarizer:
    """Feed `decode_records` items with `add`; read `summary` at the end."""

    def __init__(self, name: str, header: CaptureHeader | None = None, facts: FactsCache | None = None) -> None:
        """`facts`: payload facts to share with another Summarizer (the other capture of a
        diff); by default this summarizer's own."""
        self.summary = CaptureSummary(name, header)
        self._conns: dict[int, _Conn] = {}
        self._detector = VersionDetector(max_audio_checks=_DETECTOR_AUDIO_CHECKS)
        self._facts = facts if facts is not None else FactsCache()
        self._audio_lines = 0  # updateAudio lines seen
        self._last_key: tuple[bytes, Direction, FactsKey] | None = None

    def add_all(self, records: Iterable[Record], dialect: Dialect = Dialect.AUTO) -> CaptureSummary:
        """Summarise every record at once: `add` each item of `decoded(records)`, then `finish`."""
        for item in decoded(records, dialect):
            self.add(item, dialect)
        return self.finish()

    def add(self, item: Decoded, dialect: Dialect = Dialect.AUTO, key: FactsKey | None = None) -> None:
        """Take the next item of `decoded(...)` (in capture order). `key`: its line's
        `facts_key`, if the caller has it already (a big line's hash reads all of its bytes)."""
        if isinstance(item, OtherRecord):
            self._other(item.record)
            return
        if key is not None and isinstance(item.event, Message):
            self._last_key = (item.event.raw, item.direction, key)
        self._message(self._settled(item, dialect))

    def finish(self) -> CaptureSummary:
        """The summary of every item added."""
        self.summary.version = self._detector.result()
        return self.summary

    def _settled(self, item: DecodedMessage, dialect: Dialect) -> DecodedMessage:
        """`item` validated, unless its payload's facts are known: then the payload was valid
        JSON before and is again (the same bytes), and only the header checks the framer
        makes can still fail, so a line the framer accepts is not parsed for nothing."""
        event = item.event
        if item.validated or not isinstance(event, Message):
            return item
        if event.header.kind == "updateAudio":
            # The version detector parses the first audio lines to check their hashes: give
            # it those validated (a big line's JSON comes cheaper from the validation).
            self._audio_lines += 1
            if self._audio_lines <= _DETECTOR_AUDIO_CHECKS:
                return revalidate(item, dialect)
        if _header_valid(event) and self._facts.get(self._facts_key(event, item.direction)) is not None:
            return item
        return revalidate(item, dialect)

    def _facts_key(self, event: Message, direction: Direction) -> FactsKey:
        """`facts_key`, remembered for the line at hand (asked for twice, and a big line's
        hash reads all of its bytes)."""
        last = self._last_key
        if last is not None and last[0] is event.raw and last[1] is direction:
            return last[2]
        key = facts_key(event, direction)
        self._last_key = (event.raw, direction, key)
        return key

    # -- records ----------------------------------------------------------------------------

    def _conn(self, conn: int, ts_ns: int) -> _Conn:
        state = self._conns.get(conn)
        if state is None:
            state = self._conns[conn] = _Conn(ConnectionSummary(conn, ts_ns))
            self.summary.connections.append(state.summary)
        return state

    def _other(self, record: Record) -> None:
        if isinstance(record, ConnectionRecord) and record.event is ConnEvent.OPEN:
            self._conn(record.conn, record.ts_ns).summary.detail = dict(record.detail)
        elif isinstance(record, DiscoveryRecord):
            version = record.entry.get("api_version") or record.entry.get("apiVersion")
            if version:
                self._detector.observe_discovery({"apiVersion": version})

    def _message(self, item: DecodedMessage) -> None:
        state = self._conn(item.conn, item.ts_ns)
        event = item.event
        if isinstance(event, Message | AudioFrame):
            self._detector.observe(item.direction, event)
        self.summary.messages += 1
        ts = item.ts_ns - state.summary.start_ns
        message: MessageSummary | None
        if isinstance(event, AudioFrame):
            message = self._frame(state, item, event, ts)
        elif isinstance(event, Message):
            message = self._line(state, item, event, ts)
        else:
            message = _opaque(state, item, event, ts)
        if message is not None:
            state.summary.messages.append(message)

    def _frame(self, state: _Conn, item: DecodedMessage, event: AudioFrame, ts: int) -> MessageSummary:
        answers, state.pending_pull = state.pending_pull, None
        payload = event.payload
        value = normalize_hash(event.hash)
        if value is not None:
            self._file_audio(value, item.index, None, payload, "raw frames")
            self.summary.profile.observe_audio(str(event.hash), payload, "raw frames")
        ref = HashRef("frame", value, str(event.hash))
        return MessageSummary(item.index, len(state.summary.messages), item.direction, ts, "audio",
                              Role.FRAME, len(event.raw), fingerprint=1, answers=answers, refs=(ref,))

    def _line(self, state: _Conn, item: DecodedMessage, event: Message, ts: int) -> MessageSummary | None:
        header = event.header
        profile = self.summary.profile
        profile.observe_label(header.label)
        if header.type is HeaderType.NOTIFICATION and header.kind == "ping" or (
                header.type is HeaderType.OTHER and header.text == "ping"):
            state.summary.pings.setdefault(item.direction, array("q")).append(ts)
            return None
        position = len(state.summary.messages)
        role, label, answers = _classify(state, event, position)
        message = MessageSummary(item.index, position, item.direction, ts, label, role,
                                 len(event.raw), fingerprint=0, request_id=header.id, answers=answers)
        key = self._facts_key(event, item.direction)
        facts = self._facts.get(key)
        if facts is None:
            payload = _payload(event.raw)
            try:
                value = event.json() if payload else None
            except ValueError:
                message.parsed = False
                message.fingerprint = xxhash.xxh3_64_intdigest(payload)
                return message
            facts = payload_facts(value, payload, label, role, item.direction)
            self._facts.put(key, facts)
        self._apply(message, facts)
        return message

    def _apply(self, message: MessageSummary, facts: PayloadFacts) -> None:
        message.fingerprint = facts.fingerprint
        message.components = facts.components
        message.refs = facts.refs
        message.audio_only = facts.audio_only
        message.encoded_digest = facts.encoded_digest
        message.format_digest = facts.format_digest
        summary = self.summary
        for entry in facts.audio:
            digest = entry.digest
            if digest is None:
                summary.undecodable_audio += 1
            elif entry.value not in summary.audio:
                summary.audio[entry.value] = AudioInfo(message.index, entry.key, digest.xxh3_64,
                                                       digest.samples_len, digest.codec)
        for value, slot in facts.slots:
            summary.slots.setdefault(value, slot)
        for feature, form in facts.notes:
            summary.profile.note(feature, form)

    def _file_audio(self, value: int, index: int, key: str | None, samples: bytes, codec: str) -> None:
        if value not in self.summary.audio:
            digest = xxhash.xxh3_64_intdigest(samples)
            self.summary.audio[value] = AudioInfo(index, key, digest, len(samples), codec)


def decoded(records: Iterable[Record], dialect: Dialect = Dialect.AUTO) -> Iterator[Decoded]:
    """The items a Summarizer takes, from a capture's records: big lines are decoded lazily
    (parsed only if their payload is new, see `Summarizer._settled`)."""
    return decode_records(records, dialect, lazy_above=LAZY_ABOVE)


def facts_key(event: Message, direction: Direction) -> FactsKey:
    """The FactsCache key of a line's payload."""
    return FactsCache.key(_payload(event.raw), event.header.type, event.header.kind, direction)


def _payload(raw: bytes) -> memoryview:
    """`Message.payload` (the bytes after the header's space), without copying them: it is a
    slice, a copy of tens of MB for an audio line."""
    sep = raw.find(b" ", 0, MAX_HEADER_LEN + 1)
    return memoryview(raw)[sep + 1 :] if sep >= 0 else memoryview(b"")


def _header_valid(event: Message) -> bool:
    """The framer's checks of a header whose payload is known to be valid (framer.py
    `_validated`): a request names its kind, and the header is UTF-8."""
    header = event.header
    if header.type is HeaderType.REQUEST and header.kind is None:
        return False
    sep = event.raw.find(b" ", 0, MAX_HEADER_LEN + 1)
    try:
        event.raw[:sep].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _classify(state: _Conn, event: Message, position: int) -> tuple[Role, str, int | None]:
    header = event.header
    if header.type is HeaderType.CLOSE:
        return Role.CLOSE, "close", None
    if header.type is HeaderType.REQUEST and header.id is not None:
        kind = header.kind or ""
        state.open_requests[header.id] = position
        state.kinds[position] = kind
        if kind == "getAudio":
            state.pending_pull = position
        return Role.REQUEST, f"request:{kind}", None
    if header.type is HeaderType.RESPONSE:
        answers = state.open_requests.pop(header.id or "", None)
        answered = state.kinds.get(answers) if answers is not None else None
        if answers is not None and answers == state.pending_pull:
            state.pending_pull = None  # a failure envelope answered the pull (§5.1)
        return Role.RESPONSE, f"response:{answered or '?'}", answers
    if header.type is HeaderType.NOTIFICATION:
        return Role.NOTIFICATION, header.label, None
    return Role.OTHER, header.label, None


def _opaque(state: _Conn, item: DecodedMessage, event: Malformed | LongLine, ts: int) -> MessageSummary:
    """A line the framer rejects, or one longer than the recorder's limit: compared as bytes."""
    digest = xxhash.xxh3_64()
    for record in item.records:
        digest.update(record.raw)
    header = event.header
    label = f"malformed:{header.label}" if isinstance(event, Malformed) and header else (
        "malformed" if isinstance(event, Malformed) else f"long line:{header.label if header else '?'}")
    return MessageSummary(item.index, len(state.summary.messages), item.direction, ts, label,
                          Role.OTHER, item.wire_len, digest.intdigest(), parsed=False)

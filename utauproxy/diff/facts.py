"""What one payload contributes to a diff summary, worked out once per distinct payload. Pure.

Everything summary.py derives from a message's payload (its fingerprint, pieces, hash
references, formatting digest, audio digests, layout slots, protocol observations) depends on
the payload bytes and on what kind of message carries them, nothing else. The same bytes come
again and again: in the other capture (a diff of a recording with its replay, or with
itself), and within one capture (OpenUtau resends the same layout, tracks and audio). So the
facts are kept by a 128-bit hash of the bytes, and a payload seen before is neither parsed
for them nor canonicalised nor decoded again: its facts are applied to the new message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import xxhash

from utauproxy.diff.canon import Canonicalizer, HashRef, components, format_digest, normalize_hash
from utauproxy.diff.profile import ProtocolProfile
from utauproxy.inspect.audio import audio_digest
from utauproxy.protocol.audio import AudioDigest, decode_audio_payload
from utauproxy.protocol.header import HeaderType
from utauproxy.records import Direction
from utauproxy.replay.script import Role

# Distinct payloads remembered (a few hundred bytes each): more than the messages of a long
# editing session, so a second capture of the same session finds all of them.
_FACTS_KEPT = 16384

# The payload's 128-bit hash and length, and its carrier: header type, kind and direction.
FactsKey = tuple[int, int, HeaderType, str | None, Direction]


@dataclass(frozen=True, slots=True)
class Slot:
    """Where the layout puts the audio of a hash: the part's track and time span."""

    track: Any
    start_ms: Any
    end_ms: Any

    def render(self) -> str:
        return f"part on track {self.track}, {_ms(self.start_ms)}–{_ms(self.end_ms)} ms"


def _ms(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


@dataclass(frozen=True, slots=True)
class AudioEntry:
    """One entry of an updateAudio payload: its key, the key as a hash, and the digest of
    its samples (None when it does not decode)."""

    key: str
    value: int
    digest: AudioDigest | None


@dataclass(frozen=True, slots=True)
class PayloadFacts:
    """The MessageSummary fields a payload sets, and what it adds to the capture's summary:
    its audio entries, layout slots and protocol profile notes (feature, form)."""

    fingerprint: int
    components: bytes
    refs: tuple[HashRef, ...]
    audio_only: bool
    encoded_digest: int
    format_digest: int
    audio: tuple[AudioEntry, ...]
    slots: tuple[tuple[int, Slot], ...]
    notes: tuple[tuple[str, str], ...]


def payload_facts(value: Any, payload: bytes | memoryview, label: str, role: Role,
                  direction: Direction) -> PayloadFacts:
    """The facts of a payload (`value`: its JSON, None for an empty payload) carried by a
    message of `label`, `role` and `direction`."""
    profile = ProtocolProfile()  # a scratch profile: what it notes are the facts' notes
    canon = Canonicalizer()
    fingerprint = canon.digest(value)
    for ref in canon.refs:
        if ref.path != "audios":
            profile.observe_hash_text(ref.path, ref.text)
    encoded = fmt = 0
    audio: list[AudioEntry] = []
    if canon.audio_keys:
        # Order-free: OpenUtau sends the entries in whatever order its dictionary holds.
        encoded_texts = sorted(xxhash.xxh3_64_intdigest(b64.encode("ascii", "replace"))
                               for _, b64 in canon.audio_keys)
        encoded = xxhash.xxh3_64_intdigest(repr(encoded_texts).encode()) or 1
        audio = [entry for key, b64 in canon.audio_keys if (entry := _audio_entry(key, b64, profile))]
    else:
        fmt = format_digest(payload)
    slots = _slots(value.get("parts")) if label == "request:updatePartLayout" and isinstance(value, dict) else ()
    if role is Role.RESPONSE:
        profile.observe_response(value)
    elif label == "request:init" and direction is Direction.OU_TO_PLUGIN:
        profile.observe_init(value)
    elif label == "notification:updateTracks":
        profile.observe_tracks(value)
    notes = tuple((feature, form) for feature, forms in profile.seen.items() for form in sorted(forms))
    return PayloadFacts(fingerprint, components(value), tuple(canon.refs),
                        isinstance(value, dict) and list(value) == ["audios"], encoded, fmt,
                        tuple(audio), slots, notes)


def _audio_entry(key: str, b64: str, profile: ProtocolProfile) -> AudioEntry | None:
    value = normalize_hash(key)
    if value is None:
        return None
    # A digest, decoded once per distinct payload and streamed (never 64 MiB of samples).
    digest = audio_digest(b64)
    if isinstance(digest, str):
        return AudioEntry(key, value, None)
    profile.observe_audio_digest(key, digest, lambda: decode_audio_payload(b64).samples)
    return AudioEntry(key, value, digest)


def _slots(parts: Any) -> tuple[tuple[int, Slot], ...]:
    found = []
    for part in parts if isinstance(parts, list) else ():
        if isinstance(part, dict) and (value := normalize_hash(part.get("audioHash"))) is not None:
            found.append((value, Slot(part.get("trackNo"), part.get("startMs"), part.get("endMs"))))
    return tuple(found)


class FactsCache:
    """Facts by payload hash and carrier; the oldest are forgotten past a bound."""

    def __init__(self, size: int = _FACTS_KEPT) -> None:
        self._size = size
        self._facts: dict[FactsKey, PayloadFacts] = {}

    @staticmethod
    def key(payload: bytes | memoryview, header_type: HeaderType, kind: str | None,
            direction: Direction) -> FactsKey:
        """The key of a payload carried by a message of this header type, kind and direction
        (all that `payload_facts` looks at besides the payload: a response's label, say,
        names its request's kind, but only its being a response matters)."""
        return (xxhash.xxh3_128_intdigest(payload), len(payload), header_type, kind, direction)

    def get(self, key: FactsKey) -> PayloadFacts | None:
        return self._facts.get(key)

    def put(self, key: FactsKey, facts: PayloadFacts) -> None:
        if len(self._facts) >= self._size:
            del self._facts[next(iter(self._facts))]
        self._facts[key] = facts

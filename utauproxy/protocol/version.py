"""Which protocol version a capture speaks, from what crossed the wire (PROTOCOL.md §4, §5.1).

A sans-IO accumulator: feed it framer events (and discovery entries), ask for a guess. Each
fact narrows the set of versions it is consistent with; the guess is the intersection. Only
the few message kinds that carry evidence are looked into, and only a bounded number of audio
payloads are decoded, so observing a whole capture stays cheap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from utauproxy.protocol.audio import decode_audio_payload, hash_matches
from utauproxy.protocol.events import AudioFrame, Event, Message
from utauproxy.protocol.header import MAX_HEADER_LEN, HeaderType, split_line
from utauproxy.protocol.versions import ProtocolVersion as V
from utauproxy.records import Direction

ALL_VERSIONS = frozenset(v for v in V if v is not V.UNKNOWN)
_AT_LEAST_P2_2 = frozenset({V.P2_2, V.P3, V.P4, V.P5, V.P6, V.R, V.V1_2})
_GZIP_ERA = frozenset({V.P2, V.P2_2, V.R})
_ZSTD_ERA = frozenset({V.P3, V.P4, V.P5, V.P6})
_UINT_XXH32 = frozenset({V.P2, V.P2_2, V.P3, V.R})
_SIGNED = frozenset({V.P5, V.P6})
_STRING_MISSING = frozenset({V.P2, V.P2_2, V.P3, V.P4, V.R, V.V1_2})
_V1_2 = frozenset({V.V1_2})
# When the evidence leaves several candidates, the most widely run one is the guess.
_PREFERENCE = (V.P6, V.P3, V.P2_2, V.R, V.V1_2, V.P2, V.P5, V.P4)
_V1_2_ONLY_KINDS = frozenset({"playhead", "bpm", "updateProjectInfo", "getAudio"})
_ENVELOPE_ERROR_NULL = re.compile(rb'"error"\s*:\s*null\s*}\s*$')
_FIRST_AUDIO_ENTRY = re.compile(rb'\s*\{\s*"audios"\s*:\s*\{\s*"([^"]{0,24})"\s*:\s*"([A-Za-z0-9+/]{4})')
_MAX_PARSED_RESPONSE = 1 << 16
_UINT32 = 1 << 32


@dataclass(frozen=True, slots=True)
class VersionGuess:
    """The best guess, every version still consistent with the evidence, and the evidence."""

    version: V
    candidates: frozenset[V]
    evidence: tuple[str, ...]


class VersionDetector:
    """Accumulates version evidence from framer events; `result()` may be called any time."""

    def __init__(self, *, max_audio_checks: int = 4) -> None:
        self._facts: dict[str, frozenset[V]] = {}
        self._audio_checks_left = max_audio_checks

    def observe(self, direction: Direction, event: Event) -> None:
        """Look at one framer event of `direction` for version evidence."""
        if isinstance(event, AudioFrame):
            self._note("binary audio data frame (`audio <hash> <length>`)", _V1_2)
        elif isinstance(event, Message):
            self._observe_message(direction, event)

    def observe_discovery(self, entry: dict[str, Any]) -> None:
        """Look at one discovery-file entry; only API v1.2 entries carry `apiVersion`."""
        if "apiVersion" in entry:
            self._note(f"discovery entry declares apiVersion {entry['apiVersion']!r}", _V1_2)

    def result(self) -> VersionGuess:
        """The guess so far. Without evidence: UNKNOWN with every version a candidate."""
        candidates, conflict = self._candidates()
        evidence = tuple(self._facts)
        if conflict:
            evidence += ("the evidence conflicts; candidates fit the most facts",)
        return VersionGuess(_pick(candidates, bool(self._facts)), candidates, evidence)

    # -- bookkeeping ----------------------------------------------------------------------------

    def _note(self, fact: str, versions: frozenset[V]) -> None:
        self._facts.setdefault(fact, versions)

    def _candidates(self) -> tuple[frozenset[V], bool]:
        together = ALL_VERSIONS
        for versions in self._facts.values():
            together &= versions
        if together or not self._facts:
            return together, False
        votes = {v: sum(v in versions for versions in self._facts.values()) for v in ALL_VERSIONS}
        best = max(votes.values())
        return frozenset(v for v, n in votes.items() if n == best), True

    # -- messages -------------------------------------------------------------------------------

    def _observe_message(self, direction: Direction, message: Message) -> None:
        header = message.header
        if header.type is HeaderType.OTHER and header.text == "ping":
            self._note("bare `ping {}` from the plugin (pre-P2.2)", frozenset({V.P2}))
        elif header.type is HeaderType.NOTIFICATION:
            self._observe_notification(message, header.kind or "")
        elif header.type is HeaderType.REQUEST:
            self._observe_request(direction, message, header.kind or "")
        elif header.type is HeaderType.RESPONSE:
            self._observe_response(message)

    def _observe_notification(self, message: Message, kind: str) -> None:
        if kind == "ping":
            self._note("`notification:ping` (P2.2 or later)", _AT_LEAST_P2_2)
        elif kind == "playbackStarted":
            self._note("`notification:playbackStarted` (R fork or v1.2)", frozenset({V.R, V.V1_2}))
        elif kind in _V1_2_ONLY_KINDS:
            self._note(f"`notification:{kind}` exists only in API v1.2", _V1_2)
        elif kind == "updateAudio":
            self._observe_update_audio(message)

    def _observe_request(self, direction: Direction, message: Message, kind: str) -> None:
        if kind in _V1_2_ONLY_KINDS:
            self._note(f"`request:{kind}` exists only in API v1.2", _V1_2)
        elif kind == "init" and direction is Direction.OU_TO_PLUGIN:
            # In v1.2 OpenUtau sends the project with init; S sends `{}` (§3.2, §5.1).
            if b'"ustx"' in _payload_head(message, 32):
                self._note("`init` request carries the project (OpenUtau pushes ustx)", _V1_2)
        elif kind == "updatePartLayout":
            for part in _list_field(_json_object(message), "parts"):
                if isinstance(part, dict) and "audioHash" in part:
                    self._observe_layout_hash(part["audioHash"])

    def _observe_layout_hash(self, value: Any) -> None:
        if isinstance(value, str):
            self._note("updatePartLayout audioHash is a JSON string", _V1_2)
        elif isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                self._note("negative audio hashes (signed int32)", _SIGNED)
            elif value >= _UINT32:
                self._note("64-bit audioHash in updatePartLayout", frozenset({V.P4}))

    def _observe_response(self, message: Message) -> None:
        if len(message.raw) > _MAX_PARSED_RESPONSE:
            # Big responses are init with a whole project: look only at the envelope's tail.
            if _ENVELOPE_ERROR_NULL.search(message.raw[-64:]):
                self._note('response envelope has `"error":null` (v1.2 envelope)', _V1_2)
            return
        envelope = _json_object(message)
        if "error" in envelope and envelope["error"] is None:
            self._note('response envelope has `"error":null` (v1.2 envelope)', _V1_2)
        data = envelope.get("data")
        if not isinstance(data, dict):
            return
        if "apiVersion" in data:
            self._note(f"init response declares apiVersion {data['apiVersion']!r}", _V1_2)
        self._observe_missing_audios(_list_field(data, "missingAudios"))

    def _observe_missing_audios(self, missing: Iterable[Any]) -> None:
        for value in missing:
            if isinstance(value, str):
                self._note("missingAudios holds strings", _STRING_MISSING)
            elif isinstance(value, int) and not isinstance(value, bool):
                self._note("missingAudios holds JSON numbers", _SIGNED)
                if value < 0:
                    self._note("negative audio hashes (signed int32)", _SIGNED)

    # -- audio ----------------------------------------------------------------------------------

    def _observe_update_audio(self, message: Message) -> None:
        # Payloads are tens of MB: the first entry's key and codec are read from the head of
        # the bytes; only the first few messages are parsed whole to check hashes.
        head = _FIRST_AUDIO_ENTRY.match(_payload_head(message, 256))
        if head is not None:
            key, b64_head = (part.decode("utf-8", "replace") for part in head.groups())
            self._observe_audio_key_and_codec(key, b64_head)
        if self._audio_checks_left <= 0:
            return
        audios = _json_object(message).get("audios")
        if not isinstance(audios, dict):
            return
        for key, value in audios.items():
            if not isinstance(value, str):
                continue
            self._observe_audio_key_and_codec(key, value[:4])
            if self._audio_checks_left > 0:
                self._audio_checks_left -= 1
                self._observe_audio_hash(key, value)

    def _observe_audio_key_and_codec(self, key: str, b64_head: str) -> None:
        if key.startswith("-"):
            self._note("negative audio hashes (signed int32)", _SIGNED)
        self._observe_codec(b64_head)

    def _observe_codec(self, b64: str) -> None:
        if b64.startswith("KLUv"):
            self._note("updateAudio payload is zstd (KLUv)", _ZSTD_ERA)
        elif b64.startswith("H4sI"):
            self._note("updateAudio payload is gzip (H4sI)", _GZIP_ERA)

    def _observe_audio_hash(self, key: str, b64: str) -> None:
        try:
            decoded = decode_audio_payload(b64)
        except ValueError:
            return
        if decoded.codec == "raw":
            return  # not a payload any version sends: its hash says nothing
        samples = decoded.samples
        if not hash_matches(key, samples):
            self._note("audio hash is not XXH32 of the decoded audio", frozenset({V.P4, V.P5}))
        elif key.startswith("-"):
            self._note("audio hash == signed XXH32 of the decoded audio", frozenset({V.P6}))
        elif int(key) >= 1 << 31:
            self._note("audio hash == unsigned XXH32 of the decoded audio", _UINT_XXH32)
        else:
            self._note("audio hash == XXH32 of the decoded audio", _UINT_XXH32 | {V.P6})


def _payload_head(message: Message, size: int) -> bytes:
    """The first `size` payload bytes, without copying a payload of tens of MB."""
    start = len(split_line(message.raw[: MAX_HEADER_LEN + 1])[0]) + 1
    return message.raw[start : start + size]


def _json_object(message: Message) -> dict[str, Any]:
    try:
        value = message.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _list_field(obj: dict[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    return value if isinstance(value, list) else []


def _pick(candidates: frozenset[V], has_evidence: bool) -> V:
    if not has_evidence or not candidates:
        return V.UNKNOWN
    if len(candidates) == 1:
        return next(iter(candidates))
    return next(v for v in _PREFERENCE if v in candidates)


def detect_version(events: Iterable[tuple[Direction, Event]]) -> VersionGuess:
    """Convenience: run a detector over (direction, event) pairs."""
    detector = VersionDetector()
    for direction, event in events:
        detector.observe(direction, event)
    return detector.result()

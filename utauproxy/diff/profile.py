"""How a capture speaks the protocol, and what changed between two captures. Pure.

A profile holds, per feature, every form the capture was seen to use (the ping header, the
audio codec, how audio hashes are computed and written, the envelope style, what `init`
carries). Two captures of different protocol versions differ in exactly these forms, so the
diff reports them once, as protocol changes ("P3 → P6: missingAudios strings → numbers"),
instead of in every message that shows them (PROTOCOL.md §4, §5.1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from utauproxy.protocol.audio import AudioDigest, hash_matches, xxh32_matches, xxh64
from utauproxy.protocol.version import VersionGuess
from utauproxy.protocol.versions import ProtocolVersion

# Feature names, in report order, with how each is shown.
FEATURES: dict[str, str] = {
    "ping": "ping header",
    "codec": "updateAudio codec",
    "hash-algorithm": "audio hashes",
    "hash-sign": "audio hash range",
    "layout-hash-type": "updatePartLayout audioHash",
    "missing-type": "missingAudios",
    "envelope": "response envelope",
    "init": "init request",
    "track-fields": "updateTracks fields",
}
_INT31 = 1 << 31
_UINT32 = 1 << 32


@dataclass(frozen=True, slots=True)
class ProtocolChange:
    feature: str
    before: str  # the forms seen in A, joined
    after: str

    def render(self) -> str:
        return f"{FEATURES.get(self.feature, self.feature)}: {self.before} → {self.after}"

    def as_dict(self) -> dict[str, str]:
        return {"feature": self.feature, "a": self.before, "b": self.after}


@dataclass(slots=True)
class ProtocolProfile:
    """The forms seen, per feature (see FEATURES)."""

    seen: dict[str, set[str]] = field(default_factory=dict)

    def note(self, feature: str, form: str) -> None:
        self.seen.setdefault(feature, set()).add(form)

    def forms(self, feature: str) -> frozenset[str]:
        return frozenset(self.seen.get(feature, ()))

    # -- observations ---------------------------------------------------------------------

    def observe_label(self, label: str) -> None:
        if label == "notification:ping":
            self.note("ping", "notification:ping")
        elif label == "other:ping":
            self.note("ping", "bare ping")

    def observe_hash_text(self, path: str, text: str) -> None:
        """One hash as written in a payload (`text` is its JSON)."""
        is_string = text.startswith('"')
        if path.endswith("audioHash"):
            self.note("layout-hash-type", "strings" if is_string else "numbers")
        elif ".missingAudios[" in f".{path}":
            self.note("missing-type", "strings" if is_string else "numbers")
        number = _int(text.strip('"'))
        if number is None:
            return
        if number < 0:
            self.note("hash-sign", "signed int32")
        elif number >= _UINT32:
            self.note("hash-sign", "64-bit")
        elif number >= _INT31:
            self.note("hash-sign", "unsigned uint32")

    def observe_audio(self, key: str, samples: bytes, codec: str) -> None:
        """One audio payload with the hash that names it (a key or a frame header)."""
        self.note("codec", codec)
        number = _int(key)
        if number is None:
            return
        # The sign of a 32-bit hash is the `hash-sign` feature; this one is the algorithm.
        if hash_matches(key, samples):
            self.note("hash-algorithm", "XXH32 of the samples")
        elif number == xxh64(samples):
            self.note("hash-algorithm", "XXH64 of the samples")
        else:
            self.note("hash-algorithm", "not a hash of the samples")

    def observe_audio_digest(self, key: str, digest: AudioDigest, samples: Callable[[], bytes]) -> None:
        """`observe_audio` from a digest; `samples` decodes them, needed only when the key is
        not their XXH32 (to try XXH64)."""
        self.note("codec", digest.codec)
        number = _int(key)
        if number is None:
            return
        if xxh32_matches(key, digest.xxh32):
            self.note("hash-algorithm", "XXH32 of the samples")
        elif number == xxh64(samples()):
            self.note("hash-algorithm", "XXH64 of the samples")
        else:
            self.note("hash-algorithm", "not a hash of the samples")

    def observe_response(self, envelope: Any) -> None:
        if isinstance(envelope, dict) and "success" in envelope:
            self.note("envelope", "error: null always present" if "error" in envelope and
                      envelope["error"] is None else "S envelope (no null members)")

    def observe_init(self, payload: Any) -> None:
        carries = isinstance(payload, dict) and "ustx" in payload
        self.note("init", "carries the project" if carries else "empty {}")

    def observe_tracks(self, payload: Any) -> None:
        tracks = payload.get("tracks") if isinstance(payload, dict) else None
        for track in tracks if isinstance(tracks, list) else ():
            if isinstance(track, dict):
                self.note("track-fields", ", ".join(sorted(track)))


def _int(text: str) -> int | None:
    digits = text.removeprefix("-")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 20:
        return None
    return int(text)


def _shown(forms: Iterable[str]) -> str:
    return " + ".join(sorted(forms))


def compare_profiles(a: ProtocolProfile, b: ProtocolProfile) -> list[ProtocolChange]:
    """Features both captures show, in different forms. A feature only one side shows says
    nothing about the protocol (the other side may simply not have needed it)."""
    changes = []
    for feature in FEATURES:
        before, after = a.forms(feature), b.forms(feature)
        if before and after and before != after:
            changes.append(ProtocolChange(feature, _shown(before), _shown(after)))
    return changes


_ENVELOPE_PATHS = frozenset({"error"})
_INIT_PATHS = frozenset({"ustx", "data.ustx", "data.apiVersion"})


def explained(changes: list[ProtocolChange], label: str, path: str, one_sided: bool) -> bool:
    """Whether a difference of one message is what a protocol change already says: a member
    one side's version has and the other's lacks (v1.2's `"error": null`, `init` carrying the
    project and `apiVersion`, the track fields API 1.2 added, PROTOCOL.md §5.1)."""
    if not one_sided:
        return False
    features = {change.feature: change for change in changes}
    if "envelope" in features and label.startswith("response:") and path in _ENVELOPE_PATHS:
        return True
    if "init" in features and label in ("request:init", "response:init") and path in _INIT_PATHS:
        return True
    fields = features.get("track-fields")
    if fields is not None and label == "notification:updateTracks" and path.startswith("tracks["):
        field = path.rsplit(".", 1)[-1]
        return field in _fields(fields.before) ^ _fields(fields.after)
    return False


def _fields(forms: str) -> set[str]:
    return {name.strip() for form in forms.split(" + ") for name in form.split(",")}


def version_text(guess: VersionGuess) -> str:
    return "unknown" if guess.version is ProtocolVersion.UNKNOWN else guess.version.value

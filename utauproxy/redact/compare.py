"""Comparing a redacted capture with live or unredacted traffic (replay, diff).

A redacted capture holds tokens where the other side has real values. With the key that made
the capture (it is on this machine when the same user made it), redacting the other side with
the same rules gives the same tokens, and the comparison is exact. Without the key, a token
can only be compared by category: `tokens_match_unknown` treats a token as matching any string
of its category (documented as the fallback in docs/redaction.md).
"""

from __future__ import annotations

from pathlib import Path

from utauproxy.records import CaptureHeader
from utauproxy.redact.keystore import load_key_for
from utauproxy.redact.manifest import RULES, manifest_of
from utauproxy.redact.redactor import RedactionOptions, Redactor
from utauproxy.redact.tokens import is_token, token_category


def comparison_redactor(header: CaptureHeader, key_path: Path | None = None) -> Redactor | None:
    """For a redacted capture, a Redactor that redacts the other side of a comparison the same
    way (same rules; the same key if it is the one at `key_path`). None for a capture that is
    not redacted, or whose key is not here (then use tokens_match_unknown)."""
    manifest = manifest_of(header)
    if manifest is None:
        return None
    key = load_key_for(str(manifest.get("key_id", "")), key_path)
    if key is None:
        return None
    rules = manifest.get("rules", {})
    keep = frozenset(rule for rule in RULES
                     if isinstance(rules.get(rule), dict) and not rules[rule].get("applied", True))
    return Redactor(RedactionOptions(key=key, keep=keep))


def tokens_match_unknown(expected: str, actual: str) -> bool:
    """Whether a recorded value matches a live one when the key is not available: equal
    strings match; a token matches any non-empty string of its category (for a live value
    that is itself a token, the categories must agree). A lyric symbol that redaction keeps
    (`+`, `R` …) is never a token, so it must match exactly."""
    if expected == actual:
        return True
    category = token_category(expected)
    if category is None:
        return False
    if is_token(actual):
        return token_category(actual) == category
    return actual != ""


# Check rules a capture breaks by construction once its audio is silenced (hash keys stay, the
# samples are zeros): PROTOCOL.md §3.4 and §5.1 hashes no longer match the payloads.
AUDIO_HASH_RULES = frozenset({"audio-hash-mismatch", "frame-hash-mismatch"})


def audio_silenced(header: CaptureHeader) -> bool:
    """Whether redaction replaced this capture's audio by silence (its rule "audio" ran)."""
    manifest = manifest_of(header)
    if manifest is None:
        return False
    audio = manifest.get("rules", {}).get("audio", {})
    return isinstance(audio, dict) and bool(audio.get("applied"))


def check_rules_to_skip(header: CaptureHeader) -> frozenset[str]:
    """`utauproxy check` rules that are meaningless for this capture because redaction broke
    them on purpose (silenced audio under unchanged hashes); empty for other captures."""
    return AUDIO_HASH_RULES if audio_silenced(header) else frozenset()

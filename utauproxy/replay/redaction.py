"""Replaying a redacted capture (docs/redaction.md "Comparing"): the live side is put into the
recording's form before it is compared, so a pseudonym is compared with a pseudonym. Pure.

With the key that redacted the capture (on the machine of the user who made the bundle), each
live message is redacted with the same rules and key, and the comparison stays exact. Without
it, a pseudonym matches any string of its category, and silenced audio is not compared.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from utauproxy.records import CaptureHeader
from utauproxy.redact import Redactor, manifest_of
from utauproxy.redact.compare import audio_silenced, comparison_redactor
from utauproxy.replay.options import ReplayOptions
from utauproxy.replay.rules import RuleSet


@dataclass(frozen=True, slots=True)
class ReplayRedaction:
    rules: RuleSet
    redactor: Redactor | None
    note: str | None


def redaction_for(header: CaptureHeader | None, rules: RuleSet, key_path: Path | None = None) -> ReplayRedaction:
    """How a replay of a capture with `header` compares; unchanged for a capture that is not
    redacted."""
    manifest = manifest_of(header) if header is not None else None
    if header is None or manifest is None:
        return ReplayRedaction(rules, None, None)
    redactor = comparison_redactor(header, key_path)
    if redactor is not None:
        return ReplayRedaction(rules, redactor, "the recording is redacted; live messages were redacted "
                                                "with the same rules and key before comparing")
    silenced = audio_silenced(header)
    names = rules.names | {"audio"} if silenced else rules.names
    note = (f"the recording is redacted with key {manifest.get('key_id', '?')}, which is not on this "
            "machine: a pseudonym matches any value of its kind"
            + ("; audio was silenced, so it is not compared" if silenced else ""))
    return ReplayRedaction(replace(rules, names=frozenset(names), redacted_tokens=True), None, note)


def with_redaction(options: ReplayOptions, header: CaptureHeader | None) -> tuple[ReplayOptions, str | None]:
    """`options` for replaying a capture with `header`, and a note for the report saying how a
    redacted recording is compared (None for one that is not redacted)."""
    redaction = redaction_for(header, options.rules)
    return replace(options, rules=redaction.rules, redactor=redaction.redactor), redaction.note

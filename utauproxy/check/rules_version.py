"""One protocol version per capture (PROTOCOL.md §4, §5.1): the evidence each message gives
(ping form, codec, hash representation, envelope style, v1.2-only kinds) must agree, and
agree with `--protocol` when it is given."""

from __future__ import annotations

from utauproxy.check.context import CheckContext
from utauproxy.check.findings import Finding
from utauproxy.inspect.decode import Decoded
from utauproxy.protocol.versions import ProtocolVersion

FAMILY = "version"
RULES = ("version-conflict", "version-mismatch")
CONFLICT_NOTE = "the evidence conflicts"


class VersionRules:
    name = FAMILY

    def __init__(self) -> None:
        self._conflict_reported = False
        self._mismatch_reported = False
        self._facts: list[str] = []

    def observe(self, item: Decoded, ctx: CheckContext) -> list[Finding]:
        if not ctx.new_evidence:
            return []
        findings = []
        guess = ctx.detector.result()
        pinned = ctx.options.version
        new = "; ".join(e for e in ctx.new_evidence if CONFLICT_NOTE not in e)
        if pinned is not None and pinned is not ProtocolVersion.UNKNOWN and not self._mismatch_reported:
            if pinned not in guess.candidates:
                self._mismatch_reported = True
                text = f"{new}: not {pinned.value} behaviour (--protocol {pinned.value})"
                findings.append(ctx.finding("version-mismatch", FAMILY, "§4", text, item))
        conflict = any(CONFLICT_NOTE in fact for fact in guess.evidence)
        if conflict and not self._conflict_reported:
            self._conflict_reported = True
            earlier = "; ".join(self._facts[-4:]) or "earlier messages"
            text = f"mixed protocol versions: {new}, but earlier: {earlier}"
            findings.append(ctx.finding("version-conflict", FAMILY, "§4", text, item))
        self._facts.extend(e for e in ctx.new_evidence if CONFLICT_NOTE not in e)
        return findings

    def finish(self, ctx: CheckContext) -> list[Finding]:
        return []

"""Audio hashes of two captures compared as references to the audio they name. Pure.

A hash names one rendered part. Two hashes at the same place of aligned messages are the same
reference when they are the same number (after normalisation, so P3's unsigned and P6's signed
spelling of one XXH32 agree) or when the audio they name has the same samples (P5 hashes are
random per OpenUtau process, PROTOCOL.md §4). When the audio differs, the difference is one
finding per pair of hashes, wherever the pair shows up (layout, missingAudios, updateAudio),
and its samples are compared once (see `audio_jobs`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from utauproxy.diff.canon import HashRef
from utauproxy.diff.findings import ABSENT, Finding
from utauproxy.diff.rules import DiffOptions
from utauproxy.diff.summary import AudioInfo, CaptureSummary


class HashContext:
    def __init__(self, a: CaptureSummary, b: CaptureSummary, options: DiffOptions) -> None:
        self.a, self.b = a, b
        self.options = options
        self.noise: Counter[str] = Counter()
        # (hash in A, hash in B) -> the two payloads whose samples must be compared
        self.audio_jobs: dict[tuple[int, int], tuple[AudioInfo, AudioInfo]] = {}

    def slot_text(self, value_a: int | None, value_b: int | None) -> str:
        slot = (self.a.slots.get(value_a) if value_a is not None else None) or (
            self.b.slots.get(value_b) if value_b is not None else None)
        if slot is not None:
            return slot.render()
        shown = value_a if value_a is not None else value_b
        return f"hash {shown}"

    def compare(self, ref_a: HashRef, ref_b: HashRef) -> Finding | None:
        """The difference between two references at the same place, if any."""
        value_a, value_b = ref_a.value, ref_b.value
        info_a = self.a.audio.get(value_a) if value_a is not None else None
        info_b = self.b.audio.get(value_b) if value_b is not None else None
        subject = f"audio of {self.slot_text(value_a, value_b)}"
        if info_a is not None and info_b is not None:
            if info_a.digest == info_b.digest and info_a.nbytes == info_b.nbytes:
                return self._same_audio(ref_a, ref_b, subject)
            assert value_a is not None and value_b is not None
            self.audio_jobs.setdefault((value_a, value_b), (info_a, info_b))
            return Finding(subject, ref_a.path, ref_a.text, ref_b.text, audio=(value_a, value_b))
        if value_a == value_b and value_a is not None:
            return None
        missing = [side for side, info in (("A", info_a), ("B", info_b)) if info is None]
        note = f"hash differs; the audio is not in capture {' or '.join(missing)}"
        return Finding(f"audio hash of {self.slot_text(value_a, value_b)}", ref_a.path, ref_a.text,
                       ref_b.text, note=note)

    def _same_audio(self, ref_a: HashRef, ref_b: HashRef, subject: str) -> Finding | None:
        if ref_a.value == ref_b.value:
            return None
        if self.options.ignores("hash-values"):
            self.noise["hash-values"] += 1
            return None
        return Finding(subject, ref_a.path, ref_a.text, ref_b.text,
                       note="same samples under another hash", rule="hash-values")

    def compare_sets(self, refs_a: Sequence[HashRef], refs_b: Sequence[HashRef],
                     what: str = "audio sent") -> list[Finding]:
        """References whose order carries no meaning (the keys of one updateAudio, the entries
        of missingAudios): paired by value, then by samples, then by layout slot, then in
        order. `what` says what a one-sided reference means."""
        left, right = list(refs_a), list(refs_b)
        pairs: list[tuple[HashRef, HashRef]] = []
        for same in (self._same_value, self._same_samples, self._same_slot, _any):
            for ref in list(left):
                match = next((other for other in right if same(ref, other)), None)
                if match is not None:
                    pairs.append((ref, match))
                    left.remove(ref)
                    right.remove(match)
        findings = [f for ref_a, ref_b in pairs if (f := self.compare(ref_a, ref_b)) is not None]
        for ref in left:
            findings.append(Finding(f"audio of {self.slot_text(ref.value, None)}", ref.path, ref.text,
                                    ABSENT, note=f"{what} only in A"))
        for ref in right:
            findings.append(Finding(f"audio of {self.slot_text(None, ref.value)}", ref.path, ABSENT,
                                    ref.text, note=f"{what} only in B"))
        return findings

    def _same_value(self, ref_a: HashRef, ref_b: HashRef) -> bool:
        return ref_a.value is not None and ref_a.value == ref_b.value

    def _same_samples(self, ref_a: HashRef, ref_b: HashRef) -> bool:
        info_a = self.a.audio.get(ref_a.value) if ref_a.value is not None else None
        info_b = self.b.audio.get(ref_b.value) if ref_b.value is not None else None
        return info_a is not None and info_b is not None and info_a.digest == info_b.digest

    def _same_slot(self, ref_a: HashRef, ref_b: HashRef) -> bool:
        slot_a = self.a.slots.get(ref_a.value) if ref_a.value is not None else None
        slot_b = self.b.slots.get(ref_b.value) if ref_b.value is not None else None
        return slot_a is not None and slot_a == slot_b


def _any(ref_a: HashRef, ref_b: HashRef) -> bool:
    return True

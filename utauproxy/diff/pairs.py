"""Pass 2, second half: an aligned pair judged from its summaries alone. Pure.

Most pairs are settled here without touching a payload: equal fingerprints mean equal content
up to the noise rules, and the hash references say whether the audio they name is the same.
A pair whose fingerprints differ is marked `needs_detail`; payload.py looks at its bytes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from statistics import median

from utauproxy.diff.align import Aligned, ConnectionPair
from utauproxy.diff.canon import HashRef
from utauproxy.diff.findings import Finding
from utauproxy.diff.hashes import HashContext
from utauproxy.diff.rules import DiffOptions
from utauproxy.diff.summary import CaptureSummary, ConnectionSummary, MessageSummary
from utauproxy.records import Direction
from utauproxy.replay.script import Role

_SET_PATHS = frozenset({"audios"})  # references whose order means nothing


@dataclass(slots=True)
class PairResult:
    item: Aligned
    findings: list[Finding] = field(default_factory=list)
    needs_detail: bool = False


class PairComparer:
    def __init__(self, a: CaptureSummary, b: CaptureSummary, options: DiffOptions) -> None:
        self.options = options
        self.hashes = HashContext(a, b, options)

    @property
    def noise(self) -> Counter[str]:
        return self.hashes.noise

    def compare(self, item: Aligned) -> PairResult:
        a, b = item.a, item.b
        assert a is not None and b is not None
        result = PairResult(item)
        sets_a = [r for r in a.refs if r.path in _SET_PATHS or r.path == "frame"]
        sets_b = [r for r in b.refs if r.path in _SET_PATHS or r.path == "frame"]
        result.findings.extend(self.hashes.compare_sets(sets_a, sets_b))
        if a.audio_only and b.audio_only:
            pass  # the entries were compared above; the payloads hold nothing else
        elif a.fingerprint != b.fingerprint or a.parsed != b.parsed:
            result.needs_detail = True
        else:
            result.findings.extend(self.compare_refs(
                [r for r in a.refs if r not in sets_a], [r for r in b.refs if r not in sets_b]))
        self._encoding(a, b, result)
        self._ids(a, b, result)
        self._timing(a, b, result)
        return result

    def compare_refs(self, refs_a: list[HashRef], refs_b: list[HashRef]) -> list[Finding]:
        """References at the same paths, compared pairwise; one-sided ones are differences.
        The entries of a missingAudios list are compared as a set: the plugin lists what it
        lacks in whatever order its cache iterates."""
        listed_a = [ref for ref in refs_a if _in_missing_list(ref)]
        listed_b = [ref for ref in refs_b if _in_missing_list(ref)]
        findings = self.hashes.compare_sets(listed_a, listed_b, "listed as missing") if listed_a or listed_b else []
        by_path = {ref.path: ref for ref in refs_b if not _in_missing_list(ref)}
        for ref in refs_a:
            if _in_missing_list(ref):
                continue
            other = by_path.pop(ref.path, None)
            if other is None:
                findings.append(Finding(f"audio hash of {self.hashes.slot_text(ref.value, None)}",
                                        ref.path, ref.text, "(absent)"))
            elif (finding := self.hashes.compare(ref, other)) is not None:
                findings.append(finding)
        for ref in by_path.values():
            findings.append(Finding(f"audio hash of {self.hashes.slot_text(None, ref.value)}",
                                    ref.path, "(absent)", ref.text))
        return findings

    def format_only(self, result: PairResult) -> None:
        """Called once a pair has no other difference: is it written differently?"""
        a, b = result.item.a, result.item.b
        assert a is not None and b is not None
        if not a.format_digest or a.format_digest == b.format_digest:
            return
        if [ref.text for ref in a.refs] != [ref.text for ref in b.refs]:
            return  # hashes spelled differently: a protocol change (profile.py), not formatting
        if self.options.ignores("json-format"):
            self.noise["json-format"] += 1
        else:
            result.findings.append(Finding(f"{a.label} formatting", "(payload)", "", "",
                                           note="the same JSON value, written differently",
                                           rule="json-format"))

    def _encoding(self, a: MessageSummary, b: MessageSummary, result: PairResult) -> None:
        if not a.encoded_digest or a.encoded_digest == b.encoded_digest or result.findings:
            return
        if self.options.ignores("audio-encoding"):
            self.noise["audio-encoding"] += 1
        else:
            result.findings.append(Finding(f"{a.label} audio encoding", "audios", "", "",
                                           note="the same samples, compressed to other bytes",
                                           rule="audio-encoding"))

    def _ids(self, a: MessageSummary, b: MessageSummary, result: PairResult) -> None:
        if a.role not in (Role.REQUEST, Role.RESPONSE) or a.request_id == b.request_id:
            return
        if self.options.ignores("ids"):
            self.noise["ids"] += 1
        else:
            result.findings.append(Finding(f"{a.label} request id", "(header)", a.request_id or "",
                                           b.request_id or "", rule="ids"))

    def _timing(self, a: MessageSummary, b: MessageSummary, result: PairResult) -> None:
        if self.options.ignores("timing"):
            return
        gap = abs(a.ts_ns - b.ts_ns) / 1e9
        if gap > self.options.time_tolerance_s:
            result.findings.append(Finding(f"{a.label} time", "(time)", f"{a.ts_ns / 1e9:.3f} s",
                                           f"{b.ts_ns / 1e9:.3f} s", rule="timing"))


def _in_missing_list(ref: HashRef) -> bool:
    return ".missingAudios[" in f".{ref.path}"


def compare_pings(pair: ConnectionPair, options: DiffOptions,
                  noise: Counter[str]) -> list[tuple[Direction, Finding]]:
    """Ping counts and spacing of one connection pair (noise unless `pings` is strict)."""
    findings = []
    for direction in Direction:
        times_a = _times(pair.a, direction)
        times_b = _times(pair.b, direction)
        if not times_a and not times_b:
            continue
        count_differs = len(times_a) != len(times_b)
        gap_a, gap_b = _median_gap(times_a), _median_gap(times_b)
        gap_differs = (gap_a is not None and gap_b is not None
                       and abs(gap_a - gap_b) > options.time_tolerance_s)
        if not (count_differs or gap_differs):
            continue
        if options.ignores("pings"):
            noise["pings"] += 1
            continue
        subject = f"pings {direction.label}"
        findings.append((direction, Finding(subject, "(pings)", _ping_text(times_a, gap_a),
                                            _ping_text(times_b, gap_b), rule="pings")))
    return findings


def _times(conn: ConnectionSummary | None, direction: Direction) -> list[int]:
    return list(conn.ping_times(direction)) if conn is not None else []


def _median_gap(times: list[int]) -> float | None:
    if len(times) < 2:
        return None
    return median(b - a for a, b in pairwise(times)) / 1e9


def _ping_text(times: list[int], gap: float | None) -> str:
    spacing = f", every {gap:.2f} s" if gap is not None else ""
    return f"{len(times)} pings{spacing}"

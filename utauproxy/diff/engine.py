"""`diff_captures`: two capture files in, a DiffReport out.

Three passes, none of which holds a whole capture:
1. summary.py reads each file once, streaming, into per-message summaries (fingerprints,
   hash references) and a digest of every audio payload, filed by hash; the two files are
   read side by side, taking turns (sidebyside.py);
2. align.py pairs the messages, pairs.py settles every pair it can from the summaries;
3. reread.py fetches the payloads of the pairs that still differ, within a memory budget,
   for payload.py (field-level details) and audio.py (sample comparisons).
Memory therefore grows with the number of messages (a few hundred bytes each) and the budget,
never with the size of the payloads. The files are only read; nothing here writes.
"""

from __future__ import annotations

import os

import re
from collections import Counter
from functools import partial
from pathlib import Path

from utauproxy.capture.reader import CaptureReader
from utauproxy.diff.align import Aligned, ConnectionPair, align_captures
from utauproxy.diff.audio import AudioVerdict, compare_audio
from utauproxy.diff.facts import FactsCache
from utauproxy.diff.findings import ABSENT, Finding
from utauproxy.diff.pairs import PairComparer, PairResult, compare_pings
from utauproxy.diff.payload import PayloadComparer
from utauproxy.diff.profile import compare_profiles, explained, version_text
from utauproxy.diff.report import (
    Difference,
    DiffReport,
    OneSided,
    Side,
    Where,
    group_key,
)
from utauproxy.diff.redacted import comparable_pair
from utauproxy.diff.reread import Job, run_jobs
from utauproxy.diff.rules import DiffOptions, PathFilter
from utauproxy.diff.sidebyside import summarize_pair
from utauproxy.diff.summary import AudioInfo, CaptureSummary, Summarizer
from utauproxy.inspect.ahead import with_audio_ahead
from utauproxy.inspect.decode import dialect_of
from utauproxy.protocol.audio import decode_audio_payload
from utauproxy.protocol.header import split_line
from utauproxy.records import Direction


def summarize_capture(path: Path, facts: FactsCache | None = None) -> tuple[CaptureSummary, int]:
    """Pass 1 over one file: its summary and how many damaged bytes the reader skipped.
    `facts`: payload facts shared with the summary of the other capture (facts.py)."""
    with CaptureReader.open(path) as reader:
        summarizer = Summarizer(path.name, reader.header, facts)
        summary = summarizer.add_all(with_audio_ahead(reader.records()), dialect_of(reader.header))
        damaged = sum(damage.length for damage in reader.damage)
    return summary, damaged


def diff_captures(path_a: str | os.PathLike[str], path_b: str | os.PathLike[str],
                  options: DiffOptions | None = None) -> DiffReport:
    """Compare two captures (see the module docstring and docs/diff.md); the default options
    are every noise rule on and no extra ignored path."""
    options = options or DiffOptions()
    # A redacted capture is compared with the other side redacted the same way (diff/redacted.py).
    with comparable_pair(Path(path_a), Path(path_b)) as (first, second):
        # Side by side (sidebyside.py); what B has in common with A is worked out once.
        (a, damaged_a), (b, damaged_b) = summarize_pair(first, second, FactsCache())
        report = DiffReport(_side(a, damaged_a), _side(b, damaged_b), strict=tuple(sorted(options.strict)),
                            ignored_paths=options.ignore_paths)
        _Diff(a, b, first, second, options, report).run()
    return report


def _side(summary: CaptureSummary, damaged: int) -> Side:
    conns = sum(1 for c in summary.connections if c.messages or c.pings)
    version = version_text(summary.version) if summary.version is not None else "unknown"
    return Side(summary.name, summary.messages, conns, version, damaged)


class _Diff:
    def __init__(self, a: CaptureSummary, b: CaptureSummary, path_a: Path, path_b: Path,
                 options: DiffOptions, report: DiffReport) -> None:
        self.a, self.b = a, b
        self.paths = (path_a, path_b)
        self.options = options
        self.report = report
        self.pairs = PairComparer(a, b, options)
        self.ignore = PathFilter(options.ignore_paths)
        self.groups: dict[tuple[object, ...], Difference] = {}
        self.verdicts: dict[tuple[int, int], AudioVerdict] = {}

    def run(self) -> None:
        connections = align_captures(self.a, self.b)
        results: list[PairResult] = []
        extra: list[tuple[ConnectionPair, Direction, Finding]] = []
        for pair in connections:
            for item in pair.messages:
                if item.a is not None and item.b is not None:
                    results.append(self.pairs.compare(item))
                else:
                    self._one_sided(item)
            extra.extend((pair, d, f) for d, f in compare_pings(pair, self.options, self.pairs.noise))
        self._details(results)
        self._audio()
        self.report.protocol = compare_profiles(self.a.profile, self.b.profile)
        for result in results:
            self._count(result)
        for pair, direction, finding in extra:
            self._add(finding, _where_connection(pair, direction))
        self.report.differences = list(self.groups.values())
        self.report.noise = Counter(self.pairs.noise)

    # -- pass 3 -------------------------------------------------------------------------------

    def _details(self, results: list[PairResult]) -> None:
        payloads = PayloadComparer(self.pairs, self.options)
        jobs = []
        for result in results:
            if result.needs_detail:
                a, b = result.item.a, result.item.b
                assert a is not None and b is not None
                jobs.append(Job(a.index, b.index, partial(payloads.compare, result)))
        run_jobs(*self.paths, jobs, self.options.memory_budget)
        for result in results:
            if all(finding.rule is not None for finding in result.findings):
                self.pairs.format_only(result)  # the same content: is it written differently?

    def _audio(self) -> None:
        jobs = []
        for key, (info_a, info_b) in self.pairs.hashes.audio_jobs.items():
            jobs.append(Job(info_a.index, info_b.index, _AudioJob(key, info_a, info_b, self.verdicts),
                            take_a=partial(audio_entry, key=info_a.key)))
        run_jobs(*self.paths, jobs, self.options.memory_budget)

    # -- grouping -------------------------------------------------------------------------------

    def _count(self, result: PairResult) -> None:
        label = result.item.label
        kept = [f for f in result.findings if not self._ignored(f) and not explained(
            self.report.protocol, label, f.path, ABSENT in (f.a, f.b))]
        if not kept:
            self.report.identical += 1
            return
        self.report.changed += 1
        where = _where_pair(result.item)
        for finding in kept:
            self._add(finding, where)

    def _ignored(self, finding: Finding) -> bool:
        return bool(self.ignore) and (self.ignore.ignores(finding.path) or self.ignore.ignores(finding.subject))

    def _add(self, finding: Finding, where: Where) -> None:
        key = group_key(finding, where.label)
        group = self.groups.get(key)
        if group is None:
            audio = self.verdicts.get(finding.audio) if finding.audio is not None else None
            group = self.groups[key] = Difference(finding.subject, finding.a, finding.b, finding.note,
                                                  finding.rule, finding.path, audio=audio)
        group.count += 1
        group.labels[where.label] += 1
        if len(group.examples) < self.options.examples:
            group.examples.append(where)

    def _one_sided(self, item: Aligned) -> None:
        message = item.a if item.a is not None else item.b
        assert message is not None
        side, conn = ("A", item.conn_a) if item.a is not None else ("B", item.conn_b)
        if side == "A":
            self.report.only_a += 1
        else:
            self.report.only_b += 1
        entry = next((o for o in self.report.one_sided if (o.side, o.conn, o.direction, o.label)
                      == (side, conn, message.direction, message.label)), None)
        if entry is None:
            entry = OneSided(side, conn, message.direction, message.label)
            self.report.one_sided.append(entry)
        entry.count += 1
        if len(entry.examples) < self.options.examples:
            entry.examples.append((message.index, message.ts_ns / 1e9))


class _AudioJob:
    """Decodes one audio payload from each side and files the verdict under its hash pair."""

    def __init__(self, key: tuple[int, int], info_a: AudioInfo, info_b: AudioInfo,
                 verdicts: dict[tuple[int, int], AudioVerdict]) -> None:
        self.key, self.info_a, self.info_b, self.verdicts = key, info_a, info_b, verdicts

    def __call__(self, entry_a: bytes, raw_b: bytes) -> None:
        samples_a = _decode(entry_a, self.info_a.key)
        samples_b = _decode(audio_entry(raw_b, self.info_b.key), self.info_b.key)
        if samples_a is not None and samples_b is not None:
            self.verdicts[self.key] = compare_audio(samples_a, samples_b)


_ENTRY_VALUE = re.compile(rb'\s*:\s*"([A-Za-z0-9+/=]*)"')


def audio_entry(raw: bytes, key: str | None) -> bytes:
    """The base64 of entry `key` of an updateAudio line (empty when absent), or a v1.2
    frame's samples (key None). The entry is found by its key, without parsing the whole (tens
    of MB) line: keys are quoted decimal numbers and base64 holds no quotes, so `"<key>":` is
    unambiguous."""
    if key is None:
        return raw[raw.find(b"\n") + 1 :]
    payload = split_line(raw)[1] or b""
    marker = b'"' + key.encode("utf-8", "replace") + b'"'
    start = payload.find(marker)
    while start >= 0:
        match = _ENTRY_VALUE.match(payload, start + len(marker))
        if match is not None:
            return match.group(1)
        start = payload.find(marker, start + 1)
    return b""


def _decode(entry: bytes, key: str | None) -> bytes | None:
    if key is None:
        return entry
    if not entry:
        return None
    try:
        return decode_audio_payload(entry).samples
    except ValueError:
        return None


def _where_pair(item: Aligned) -> Where:
    a, b = item.a, item.b
    return Where(item.label, item.direction, item.conn_a, item.conn_b,
                 a.index if a else None, b.index if b else None,
                 a.ts_ns / 1e9 if a else None, b.ts_ns / 1e9 if b else None)


def _where_connection(pair: ConnectionPair, direction: Direction) -> Where:
    return Where("(connection)", direction, pair.a.conn if pair.a else None,
                 pair.b.conn if pair.b else None, None, None, None, None)

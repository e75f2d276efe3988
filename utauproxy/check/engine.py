"""The conformance checker: decoded records in, findings out, one pass, bounded memory.

The engine keeps the shared bookkeeping (requests matched to responses, protocol version
evidence, connection state) in a CheckContext and hands every item to each rule family.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Protocol

from utauproxy.check import rules_audio, rules_lines, rules_requests, rules_shapes, rules_timing, rules_version
from utauproxy.check.context import CheckContext, CheckOptions, ConnState, json_object
from utauproxy.check.findings import Finding
from utauproxy.check.rules_audio import AudioRules
from utauproxy.check.rules_lines import LineRules
from utauproxy.check.rules_requests import RequestRules
from utauproxy.check.rules_shapes import ShapeRules
from utauproxy.check.rules_timing import TimingRules
from utauproxy.check.rules_version import VersionRules
from utauproxy.check.shape import hash_value
from utauproxy.inspect.correlate import PendingRequest
from utauproxy.inspect.decode import Decoded, DecodedMessage, OtherRecord, decode_records, dialect_of
from utauproxy.protocol.events import AudioFrame, Dialect, Message
from utauproxy.protocol.header import HeaderType
from utauproxy.protocol.version import VersionDetector, VersionGuess
from utauproxy.redact.compare import check_rules_to_skip
from utauproxy.records import (
    CaptureHeader,
    ConnectionRecord,
    ConnEvent,
    DiscoveryRecord,
    GapRecord,
    Record,
)

_MODULES = (rules_lines, rules_requests, rules_shapes, rules_audio, rules_timing, rules_version)
FAMILIES = tuple(module.FAMILY for module in _MODULES)
ALL_RULES: dict[str, str] = {rule: module.FAMILY for module in _MODULES for rule in module.RULES}
"""Every rule id and its family (for `--skip` and `--list-rules`)."""


class RuleFamily(Protocol):
    name: str

    def observe(self, item: Decoded, ctx: CheckContext) -> list[Finding]: ...

    def finish(self, ctx: CheckContext) -> list[Finding]: ...


@dataclass(frozen=True, slots=True)
class CheckReport:
    findings: list[Finding]
    version: VersionGuess
    messages: int
    connections: int
    lost_messages: int = 0


class Checker:
    """Feed decoded items in capture order, then call `finish` once."""

    def __init__(self, options: CheckOptions = CheckOptions(), header: CaptureHeader | None = None) -> None:
        dialect = dialect_of(header) if header is not None else Dialect.AUTO
        if header is not None:  # a redacted capture's silenced audio breaks its hashes on purpose
            options = replace(options, skip=options.skip | check_rules_to_skip(header))
        self.ctx = CheckContext(options, declared_dialect=dialect)
        families: list[RuleFamily] = [VersionRules(), LineRules(), RequestRules(), ShapeRules(),
                                      AudioRules(), TimingRules()]
        self._families = [f for f in families if f.name not in options.skip]
        self._pulls: dict[tuple[int, str], int | None] = {}  # v1.2 getAudio id -> hash
        self._reported_version = VersionDetector()  # with hash checks: the best guess to show
        self.messages = 0
        self.lost_messages = 0  # GapRecords: the recorder could not keep up
        for entry in header.discovery if header is not None else ():
            self._observe_discovery(entry)

    def feed(self, item: Decoded) -> list[Finding]:
        """The findings this item completes (some are only known later, e.g. at a close)."""
        self._update(item)
        findings: list[Finding] = []
        for family in self._families:
            findings.extend(family.observe(item, self.ctx))
        return self._kept(findings)

    def finish(self) -> list[Finding]:
        """Findings about what was still open when the records ended."""
        findings: list[Finding] = []
        for family in self._families:
            findings.extend(family.finish(self.ctx))
        return self._kept(findings)

    def _kept(self, findings: list[Finding]) -> list[Finding]:
        skip = self.ctx.options.skip
        return [f for f in findings if f.rule not in skip]

    # -- shared bookkeeping ---------------------------------------------------------------------

    def _update(self, item: Decoded) -> None:
        ctx = self.ctx
        ctx.answer = ctx.displaced = ctx.frame_answers = ctx.frame_pulled_hash = None
        ctx.closed_requests = []
        ctx.new_evidence = ()
        ctx.last_ts_ns = max(ctx.last_ts_ns, item.ts_ns)
        if isinstance(item, OtherRecord):
            self._other(item)
            return
        self.messages += 1
        state = ctx.conns.setdefault(item.conn, ConnState(item.ts_ns, item.ts_ns))
        state.last_ts_ns = max(state.last_ts_ns, item.ts_ns)
        state.messages[item.direction] += 1
        event = item.event
        if isinstance(event, Message):
            self._correlate(item, event)
        elif isinstance(event, AudioFrame):
            ctx.frame_answers = self._answer_pull(item, event)
        if isinstance(event, Message | AudioFrame):
            before = set(ctx.detector.result().evidence)
            ctx.detector.observe(item.direction, event)
            self._reported_version.observe(item.direction, event)
            ctx.new_evidence = tuple(e for e in ctx.detector.result().evidence if e not in before)

    def _other(self, item: OtherRecord) -> None:
        ctx, record = self.ctx, item.record
        if isinstance(record, DiscoveryRecord):
            self._observe_discovery(record.entry)
        if isinstance(record, GapRecord):
            self.lost_messages += record.lost_messages
        if not isinstance(record, ConnectionRecord):
            return
        state = ctx.conns.setdefault(record.conn, ConnState(record.ts_ns, record.ts_ns))
        state.last_ts_ns = max(state.last_ts_ns, record.ts_ns)
        if record.event is ConnEvent.CLOSED:
            state.closed = True
            ctx.closed_requests = ctx.tracker.close_connection(record.conn)
            for key in [k for k in self._pulls if k[0] == record.conn]:
                del self._pulls[key]

    def _observe_discovery(self, entry: dict[str, object]) -> None:
        # The recorder stores `api_version`; the plugin's own file says `apiVersion` (§5.1).
        version = entry.get("apiVersion", entry.get("api_version"))
        if version:
            before = set(self.ctx.detector.result().evidence)
            self.ctx.detector.observe_discovery({"apiVersion": version})
            self._reported_version.observe_discovery({"apiVersion": version})
            self.ctx.new_evidence = tuple(e for e in self.ctx.detector.result().evidence if e not in before)

    def _correlate(self, item: DecodedMessage, message: Message) -> None:
        header = message.header
        if header.type is HeaderType.REQUEST:
            self.ctx.displaced = self.ctx.tracker.request(item)
            if header.kind == "getAudio":
                payload = json_object(item) or {}
                self._pulls[(item.conn, header.id or "")] = hash_value(payload.get("hash"))
        elif header.type is HeaderType.RESPONSE:
            self.ctx.answer = self.ctx.tracker.response(item)
            self._pulls.pop((item.conn, header.id or ""), None)

    def _answer_pull(self, item: DecodedMessage, frame: AudioFrame) -> PendingRequest | None:
        """API v1.2 answers `getAudio` with a data frame, one pull at a time (§5.1)."""
        pulls = [p for p in self.ctx.tracker.pending(item.conn)
                 if p.kind == "getAudio" and p.direction is item.direction.reverse]
        if not pulls:
            return None
        chosen = next((p for p in pulls if self._pulls.get((p.conn, p.id)) == frame.hash), pulls[0])
        self.ctx.frame_pulled_hash = self._pulls.pop((chosen.conn, chosen.id), None)
        return self.ctx.tracker.resolve(chosen.conn, chosen.direction, chosen.id)

    @property
    def version(self) -> VersionGuess:
        """The version checked against: the one pinned in the options, else the best guess
        (audio hashes included as evidence)."""
        pinned = self.ctx.options.version
        if pinned is not None:
            return VersionGuess(pinned, frozenset({pinned}), ("given, not detected",))
        return self._reported_version.result()


def check_items(items: Iterable[Decoded], options: CheckOptions = CheckOptions(),
                header: CaptureHeader | None = None) -> Iterator[Finding]:
    """Every finding, in the order they become known (sort by `Finding.sort_key` for
    capture order)."""
    checker = Checker(options, header)
    for item in items:
        yield from checker.feed(item)
    yield from checker.finish()


def check_records(records: Iterable[Record], options: CheckOptions = CheckOptions(),
                  header: CaptureHeader | None = None) -> CheckReport:
    """Check a whole capture: findings sorted in capture order."""
    dialect = dialect_of(header) if header is not None else Dialect.AUTO
    checker = Checker(options, header)
    findings: list[Finding] = []
    for item in decode_records(records, dialect):
        findings.extend(checker.feed(item))
    findings.extend(checker.finish())
    findings.sort(key=lambda f: f.sort_key)
    return CheckReport(findings, checker.version, checker.messages, len(checker.ctx.conns),
                       checker.lost_messages)

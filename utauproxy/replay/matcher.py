"""Sans-IO matching of what a live peer sends against what the recording says it sent.

One Matcher per connection, fed every message that arrives from the live peer. The n-th arrival
of a kind is compared with the n-th recorded message of that kind; a response is compared with
the recorded response to the same recorded request (live ids are mapped through IdMap); pings
are counted, never matched (periodic noise). `finish()` reports what never came and the
reorders the protocol does not allow (see `ordering`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from utauproxy.protocol.header import HeaderType, parse_header, split_line
from utauproxy.records import Direction, MessageFlags, MessageRecord
from utauproxy.redact import Redactor
from utauproxy.replay.compare import compare_payloads, preview
from utauproxy.replay.ids import IdMap
from utauproxy.replay.ordering import (
    allowed_reorder_reason,
    must_keep_order,
    order_group,
    single_sequence_protocol,
)
from utauproxy.replay.report import Divergence, DivergenceKind, MessageRef
from utauproxy.replay.rules import RuleSet
from utauproxy.replay.script import ConnectionScript, Role, ScriptMessage


@dataclass(frozen=True, slots=True)
class Arrival:
    """A live message: its bytes and when it arrived (ns since the connection's anchor)."""

    raw: bytes
    at_ns: int
    flags: MessageFlags = MessageFlags.NONE

    @property
    def is_frame(self) -> bool:
        return bool(self.flags & MessageFlags.FRAME)

    @property
    def payload(self) -> bytes:
        if self.is_frame:
            return self.raw[self.raw.find(b"\n") + 1 :]
        body = split_line(self.raw)[1]
        return b"" if body is None else body


@dataclass(frozen=True, slots=True)
class Matched:
    expected: ScriptMessage
    live_id: str | None  # an incoming request's live id


class Matcher:
    def __init__(self, script: ConnectionScript, incoming: Direction, rules: RuleSet, ids: IdMap,
                 redactor: Redactor | None = None) -> None:
        """`redactor`: for a redacted recording whose key is here, the Redactor that puts each
        live message into the recording's form before it is compared (replay/redaction.py)."""
        self.conn = script.conn
        self.rules = rules
        self.ids = ids
        self._incoming = incoming
        self._redactor = redactor
        self.expected = [m for m in script.messages if m.direction is incoming and m.role is not Role.PING]
        single = single_sequence_protocol(script.messages)
        self._groups = {m.index: order_group(m, single_sequence=single) for m in self.expected}
        self._by_label: dict[str, deque[ScriptMessage]] = {}
        self._responses: dict[int, ScriptMessage] = {}
        for message in self.expected:
            if message.role is Role.RESPONSE and message.answers is not None:
                self._responses[message.answers] = message
            else:
                self._by_label.setdefault(message.label, deque()).append(message)
        self.matched: set[int] = set()
        self._jumps: list[tuple[ScriptMessage, list[ScriptMessage]]] = []
        self._arrivals = 0
        self.pings = 0
        self.divergences: list[Divergence] = []

    @property
    def outstanding(self) -> list[ScriptMessage]:
        """Recorded messages that have not arrived yet, in recorded order."""
        return [m for m in self.expected if m.index not in self.matched]

    def receive(self, arrival: Arrival) -> Matched | None:
        """Match one live message; None when it is a ping or matches nothing recorded."""
        self._arrivals += 1
        label, live_id, role = self._live_label(arrival)
        if role is Role.PING:
            self.pings += 1
            return None
        expected = self._take(label, role, live_id)
        actual = self._ref(arrival, label)
        if expected is None:
            self._unexpected(actual, label, role, live_id)
            return None
        self.matched.add(expected.index)
        self._note_jumps(expected)
        compared = self._redacted(arrival)
        diffs = compare_payloads(expected.payload, compared.payload, self.rules,
                                 frame=expected.role is Role.FRAME and compared.is_frame)
        if diffs:
            self.divergences.append(Divergence(DivergenceKind.MISMATCH, self.conn,
                                               MessageRef.recorded(self.conn, expected), actual, tuple(diffs)))
        if expected.role is Role.REQUEST and live_id is not None:
            self.ids.bind(expected.index, live_id)
        return Matched(expected, live_id)

    def finish(self) -> tuple[list[Divergence], list[str]]:
        """Divergences for what never arrived and for forbidden reorders, plus notes on the
        reorders the protocol allows."""
        divergences = list(self.divergences)
        allowed: list[str] = []
        for message, jumped in self._jumps:
            for earlier in (j for j in jumped if j.index in self.matched):
                text = f"{message.label} (#{message.index}) arrived before {earlier.label} (#{earlier.index})"
                if self.rules.ignores("order") or not must_keep_order(self._groups[earlier.index],
                                                                       self._groups[message.index]):
                    allowed.append(f"conn {self.conn}: {text}: allowed, {allowed_reorder_reason(earlier, message)}")
                else:
                    divergences.append(Divergence(
                        DivergenceKind.ORDER, self.conn, MessageRef.recorded(self.conn, earlier),
                        MessageRef.recorded(self.conn, message),
                        note=f"{text}; the protocol keeps these in order (PROTOCOL.md §3.6.5)"))
        if not self.rules.ignores("missing"):
            for message in self.outstanding:
                divergences.append(Divergence(DivergenceKind.MISSING, self.conn,
                                              MessageRef.recorded(self.conn, message),
                                              note="recorded, but never arrived"))
        return divergences, allowed

    # -- helpers ----------------------------------------------------------------------------

    def _redacted(self, arrival: Arrival) -> Arrival:
        if self._redactor is None:
            return arrival
        live = MessageRecord(arrival.at_ns, self.conn, self._incoming, arrival.raw, arrival.flags)
        redacted = self._redactor.record(live)
        assert isinstance(redacted, MessageRecord)  # a message stays a message
        return Arrival(redacted.raw, arrival.at_ns, arrival.flags)

    def _live_label(self, arrival: Arrival) -> tuple[str, str | None, Role]:
        if arrival.is_frame:
            return "audio", None, Role.FRAME
        raw = arrival.raw
        if raw == b"close":
            return "close", None, Role.CLOSE
        header = parse_header(split_line(raw)[0])
        if header.type is HeaderType.REQUEST and header.kind is not None:
            return f"request:{header.kind}", header.id, Role.REQUEST
        if header.type is HeaderType.RESPONSE:
            index = self.ids.request_index(header.id or "")
            expected = self._responses.get(index) if index is not None else None
            return (expected.label if expected else "response:?"), header.id, Role.RESPONSE
        if header.type is HeaderType.NOTIFICATION:
            return header.label, None, Role.PING if header.kind == "ping" else Role.NOTIFICATION
        if header.type is HeaderType.OTHER and header.text == "ping":
            return "other:ping", None, Role.PING
        return header.label, None, Role.OTHER

    def _take(self, label: str, role: Role, live_id: str | None) -> ScriptMessage | None:
        if role is Role.RESPONSE:
            index = self.ids.request_index(live_id or "")
            found = self._responses.pop(index, None) if index is not None else None
            return found
        queue = self._by_label.get(label)
        return queue.popleft() if queue else None

    def _note_jumps(self, message: ScriptMessage) -> None:
        jumped = [m for m in self.expected if m.index < message.index and m.index not in self.matched]
        if jumped:
            self._jumps.append((message, jumped))

    def _ref(self, arrival: Arrival, label: str) -> MessageRef:
        direction = self.expected[0].direction if self.expected else Direction.OU_TO_PLUGIN
        return MessageRef(self.conn, self._arrivals, label, arrival.at_ns / 1e9, len(arrival.raw),
                          preview(arrival.raw, 100), direction)

    def _unexpected(self, actual: MessageRef, label: str, role: Role, live_id: str | None) -> None:
        if self.rules.ignores("extra"):
            return
        recorded = sum(1 for m in self.expected if m.label == label)
        if role is Role.RESPONSE and label == "response:?":
            note = f"a response to id {live_id}, which no request of this replay used"
        elif recorded:
            note = f"all {recorded} recorded {label} already arrived; this one is extra"
        else:
            waiting = ", ".join(sorted({m.label for m in self.outstanding})) or "nothing"
            note = f"the recording has no {label} here; still expected: {waiting}"
        self.divergences.append(Divergence(DivergenceKind.UNEXPECTED, self.conn, None, actual, note=note))

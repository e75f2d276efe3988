"""Plugin pings roughly every 5-6 s on every connection (PROTOCOL.md §2.2: the reader thread
pings when more than 5 s have passed, checked after each read or 1 s timeout; R and API v1.2
use a 5 s timer)."""

from __future__ import annotations

from dataclasses import dataclass

from utauproxy.check.context import CheckContext
from utauproxy.check.findings import Finding
from utauproxy.inspect.decode import Decoded, DecodedMessage, OtherRecord
from utauproxy.inspect.fmt import human_duration_ns
from utauproxy.protocol.events import Message
from utauproxy.protocol.header import HeaderType
from utauproxy.records import ConnectionRecord, ConnEvent, Direction

FAMILY = "timing"
RULES = ("ping-overdue", "ping-too-early")
# The window around the nominal period: the S reader adds up to one 1 s turn (a fifth of the
# period) and the proxy's timestamps add scheduling jitter.
EARLIEST = 0.8
LATEST = 1.4


@dataclass(slots=True)
class _Pings:
    opened_ns: int
    last_ping_ns: int | None = None
    last_seen_ns: int = 0
    last_index: int = 0


def is_ping(message: Message) -> bool:
    header = message.header
    if header.type is HeaderType.NOTIFICATION:
        return header.kind == "ping"
    return header.type is HeaderType.OTHER and header.text == "ping"  # P2's bare ping (§4)


class TimingRules:
    name = FAMILY

    def __init__(self) -> None:
        self._conns: dict[int, _Pings] = {}

    def observe(self, item: Decoded, ctx: CheckContext) -> list[Finding]:
        if isinstance(item, OtherRecord):
            record = item.record
            if not isinstance(record, ConnectionRecord):
                return []
            state = self._state(record.conn, item.ts_ns, item.index)
            if record.event is ConnEvent.CLOSED:
                del self._conns[record.conn]
                return self._silence_at_end(record.conn, state, ctx)
            return []
        state = self._state(item.conn, item.ts_ns, item.index)
        event = item.event
        if item.direction is Direction.PLUGIN_TO_OU and isinstance(event, Message) and is_ping(event):
            return self._ping(item, state, ctx)
        return []

    def finish(self, ctx: CheckContext) -> list[Finding]:
        findings = []
        for conn, state in self._conns.items():
            findings.extend(self._silence_at_end(conn, state, ctx))
        return findings

    def _state(self, conn: int, ts_ns: int, index: int) -> _Pings:
        state = self._conns.setdefault(conn, _Pings(opened_ns=ts_ns))
        state.last_seen_ns = max(state.last_seen_ns, ts_ns)
        state.last_index = index
        return state

    def _window(self, ctx: CheckContext) -> tuple[int, int]:
        period = ctx.options.ping_interval_s * 1e9
        return int(period * EARLIEST), int(period * LATEST)

    def _ping(self, item: DecodedMessage, state: _Pings, ctx: CheckContext) -> list[Finding]:
        earliest, latest = self._window(ctx)
        previous = state.last_ping_ns
        state.last_ping_ns = item.ts_ns
        nominal = f"every {ctx.options.ping_interval_s:g}-{ctx.options.ping_interval_s * 1.2:g} s"
        if previous is None:
            since_open = item.ts_ns - state.opened_ns
            if since_open > latest:
                text = f"first ping only {human_duration_ns(since_open)} after the connection opened (expected {nominal})"
                return [ctx.finding("ping-overdue", FAMILY, "§2.2", text, item)]
            return []
        gap = item.ts_ns - previous
        if gap > latest:
            text = f"{human_duration_ns(gap)} since the previous ping (expected {nominal})"
            return [ctx.finding("ping-overdue", FAMILY, "§2.2", text, item)]
        if gap < earliest:
            text = f"only {human_duration_ns(gap)} since the previous ping (expected {nominal})"
            return [ctx.finding("ping-too-early", FAMILY, "§2.2", text, item)]
        return []

    def _silence_at_end(self, conn: int, state: _Pings, ctx: CheckContext) -> list[Finding]:
        _, latest = self._window(ctx)
        since = state.last_ping_ns if state.last_ping_ns is not None else state.opened_ns
        silent = state.last_seen_ns - since
        if silent <= latest:
            return []
        what = "no ping at all" if state.last_ping_ns is None else "no ping"
        text = f"{what} in the last {human_duration_ns(silent)} of the connection"
        return [Finding("ping-overdue", FAMILY, "§2.2", text, state.last_index, state.last_seen_ns, conn)]

"""Every request answered exactly once, no orphan responses, no reused ids
(PROTOCOL.md §2.1, §3.6, §6.2, §6.5, §6.11)."""

from __future__ import annotations

from utauproxy.check.context import CheckContext
from utauproxy.check.findings import Finding
from utauproxy.inspect.correlate import Outcome, PendingRequest
from utauproxy.inspect.decode import Decoded, DecodedMessage
from utauproxy.inspect.fmt import human_duration_ns, short_id
from utauproxy.protocol.events import Message
from utauproxy.protocol.header import Header, HeaderType
from utauproxy.records import Direction

FAMILY = "requests"
RULES = ("unanswered-request", "orphan-response", "duplicate-response", "reused-request-id",
         "init-not-first")


class RequestRules:
    name = FAMILY

    def __init__(self) -> None:
        self._first_request_seen: set[int] = set()

    def observe(self, item: Decoded, ctx: CheckContext) -> list[Finding]:
        findings = [self._unanswered(request, ctx, closed=True) for request in ctx.closed_requests]
        if isinstance(item, DecodedMessage) and isinstance(item.event, Message):
            header = item.event.header
            if header.type is HeaderType.REQUEST:
                findings.extend(self._request(item, header, ctx))
            elif header.type is HeaderType.RESPONSE:
                findings.extend(self._response(item, header, ctx))
        return findings

    def finish(self, ctx: CheckContext) -> list[Finding]:
        grace = int(ctx.options.end_grace_s * 1e9)
        return [self._unanswered(request, ctx, closed=False) for request in ctx.tracker.pending()
                if ctx.last_ts_ns - request.ts_ns >= grace]

    def _request(self, item: DecodedMessage, header: Header, ctx: CheckContext) -> list[Finding]:
        findings = []
        if ctx.displaced is not None:
            text = (f"request id {short_id(header.id)}… reused while request [{ctx.displaced.index}] "
                    "with that id is still unanswered (the plugin's thread bookkeeping blocks, §6.11)")
            findings.append(ctx.finding("reused-request-id", FAMILY, "§6.11", text, item))
        if item.direction is Direction.OU_TO_PLUGIN and item.conn not in self._first_request_seen:
            self._first_request_seen.add(item.conn)
            if header.kind != "init":
                text = f"the first request on the connection is `{header.kind}`, not `init`"
                findings.append(ctx.finding("init-not-first", FAMILY, "§3.6", text, item))
        return findings

    def _response(self, item: DecodedMessage, header: Header, ctx: CheckContext) -> list[Finding]:
        answer = ctx.answer
        if answer is None or answer.outcome is Outcome.MATCHED:
            return []
        if answer.outcome is Outcome.DUPLICATE:
            assert answer.request is not None
            text = (f"second response to request [{answer.request.index}] "
                    f"({answer.request.kind}); the first was [{answer.first_index}]")
            return [ctx.finding("duplicate-response", FAMILY, "§2.1", text, item)]
        text = f"response to id {short_id(header.id)}…, but no request with that id is pending on this connection"
        return [ctx.finding("orphan-response", FAMILY, "§2.1", text, item)]

    def _unanswered(self, request: PendingRequest, ctx: CheckContext, *, closed: bool) -> Finding:
        state = ctx.conns.get(request.conn)
        answering_side = request.direction.reverse
        if closed:
            text = f"request `{request.kind}` was never answered before the connection closed"
        else:
            waited = human_duration_ns(ctx.last_ts_ns - request.ts_ns)
            text = f"request `{request.kind}` still unanswered when the capture ended ({waited} later)"
        if state is not None and state.messages[answering_side] == 0:
            text += "; the other side sent nothing at all on this connection (a busy plugin, §3.6)"
        elif request.kind != "init" and request.direction is Direction.OU_TO_PLUGIN:
            text += "; OpenUtau waits for it forever (§6.5)"
        return ctx.finding("unanswered-request", FAMILY, "§3.6", text, request)

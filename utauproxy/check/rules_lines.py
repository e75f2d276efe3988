"""Rules on single lines: framing, what the real parsers choke on, headers and kinds
(PROTOCOL.md §2.1, §2.2, §3.2, §6.1, §6.10, §6.11)."""

from __future__ import annotations

from utauproxy.check.context import CheckContext
from utauproxy.check.findings import Finding
from utauproxy.check.kinds import ALL_KINDS, OU, PLUGIN, V1_2_KINDS, sender_name
from utauproxy.inspect.decode import Decoded, DecodedMessage, LongLine
from utauproxy.protocol.events import Malformed, Message
from utauproxy.protocol.header import HeaderType
from utauproxy.protocol.lenient_json import plugin_hazards

FAMILY = "lines"
RULES = ("crlf-line-ending", "no-space", "invalid-utf8", "non-object-payload", "empty-payload",
         "invalid-json", "request-without-kind", "bad-frame", "empty-line", "malformed-line",
         "glued-partial-write", "cut-line", "long-line", "plugin-parser-hazard", "unknown-header",
         "unknown-kind", "wrong-direction")
_GLUED_PING = (b"notification:ping {}", b"ping {}")

# (reason fragment from the framer, rule id, section)
_MALFORMED_RULES = (
    ("CR before LF", "crlf-line-ending", "§2.1"),
    ("no space", "no-space", "§2.2"),
    ("invalid UTF-8", "invalid-utf8", "§2.1"),
    ("top-level JSON", "non-object-payload", "§2.2"),
    ("payload is empty", "empty-payload", "§2.2"),
    ("payload is not JSON", "invalid-json", "§2.2"),
    ("request header without a kind", "request-without-kind", "§2.2"),
    ("frame", "bad-frame", "§5.1"),
    ("empty line", "empty-line", "§2.1"),
)


def _consequence(message: DecodedMessage, event: Malformed) -> str:
    if message.direction is OU:
        if "abort" in event.reason:
            return ""
        return "; the real plugin's parser throws on it and the DAW aborts (§2.2)"
    if event.header is not None and event.header.type is HeaderType.RESPONSE:
        return "; OpenUtau cannot parse it, so the request it answers waits forever (§6.1)"
    return "; OpenUtau cannot use it (logged as unhandled)"


class LineRules:
    """One finding per bad line; well-formed lines are checked for parser hazards, known
    headers and kinds, and the side that may send them."""

    name = FAMILY

    def observe(self, item: Decoded, ctx: CheckContext) -> list[Finding]:
        if not isinstance(item, DecodedMessage):
            return []
        event = item.event
        if isinstance(event, Malformed):
            return [self._malformed(item, event, ctx)]
        if isinstance(event, LongLine):
            return [ctx.finding("long-line", FAMILY, "§2.3",
                                f"a line of {event.length} bytes exceeded the recorder's framing "
                                "limit; it was not checked", item)]
        if not isinstance(event, Message):
            return []  # audio frames: the audio family
        findings = []
        if not event.terminated:
            findings.append(ctx.finding("cut-line", FAMILY, "§6.1",
                                        "the line has no LF: the connection ended in the middle of "
                                        "it (a partial write?); the receiver never sees it", item))
        findings.extend(self._message(item, event, ctx))
        return findings

    def finish(self, ctx: CheckContext) -> list[Finding]:
        return []

    def _malformed(self, item: DecodedMessage, event: Malformed, ctx: CheckContext) -> Finding:
        if not event.terminated:
            text = f"the connection ended in the middle of this line (a partial write?): {event.reason}"
            return ctx.finding("cut-line", FAMILY, "§6.1", text, item)
        rule, section = "malformed-line", "§2.2"
        for fragment, rule_id, rule_section in _MALFORMED_RULES:
            if fragment in event.reason:
                rule, section = rule_id, rule_section
                break
        text = event.reason + _consequence(item, event)
        if rule == "invalid-json" and event.raw.endswith(_GLUED_PING):
            rule, section = "glued-partial-write", "§6.1"
            text = ("a line cut short by a partial write with the next line (a ping) glued on"
                    + _consequence(item, event))
        if rule == "crlf-line-ending" and ctx.is_v1_2():
            return ctx.finding(rule, FAMILY, "§5.1", "CRLF line ending (API v1.2 peers tolerate "
                               "it, line-protocol plugins do not)", item)
        return ctx.finding(rule, FAMILY, section, text, item)

    def _message(self, item: DecodedMessage, message: Message, ctx: CheckContext) -> list[Finding]:
        header = message.header
        findings: list[Finding] = []
        if header.type is HeaderType.CLOSE:
            if item.direction is PLUGIN:
                findings.append(ctx.finding("wrong-direction", FAMILY, "§2.1",
                                            "`close` sent by the plugin (only OpenUtau sends it)", item))
            return findings
        if item.direction is OU and not ctx.is_v1_2():
            for hazard in plugin_hazards(message.payload, parsed=item.validated):
                findings.append(ctx.finding("plugin-parser-hazard", FAMILY, "§6.10",
                                            f"{hazard}; the real plugin aborts on it", item))
        if header.type is HeaderType.OTHER:
            if not (item.direction is PLUGIN and header.text == "ping"):  # P2's bare ping (§4)
                findings.append(ctx.finding("unknown-header", FAMILY, "§2.1",
                                            f"header `{header.text[:60]}` is not request:, response:, "
                                            "notification: or close", item))
        elif header.type in (HeaderType.REQUEST, HeaderType.NOTIFICATION):
            findings.extend(self._kind(item, header.type.value, header.kind or "", ctx))
        return findings

    def _kind(self, item: DecodedMessage, form: str, kind: str, ctx: CheckContext) -> list[Finding]:
        kinds = V1_2_KINDS if ctx.is_v1_2() else ALL_KINDS
        sender = kinds.get((form, kind))
        if sender is None:
            if item.direction is OU and form == "notification":
                text = (f"unknown notification kind `{kind}` sent to the plugin: its handler thread "
                        "may abort the DAW (§6.11)")
                return [ctx.finding("unknown-kind", FAMILY, "§6.11", text, item)]
            if item.direction is PLUGIN and form == "request":
                text = (f"request `{kind}` from the plugin: there are no plugin-to-OpenUtau requests "
                        "besides API v1.2's getAudio")
                return [ctx.finding("wrong-direction", FAMILY, "§3.2", text, item)]
            return [ctx.finding("unknown-kind", FAMILY, "§3.2", f"unknown {form} kind `{kind}`", item)]
        if sender is not item.direction:
            text = f"{form}:{kind} sent by {sender_name(item.direction)}; only {sender_name(sender)} sends it"
            return [ctx.finding("wrong-direction", FAMILY, "§3.2", text, item)]
        return []


"""The `show` timeline: one line per record, cheap fields first, the summary only for the
lines that survive the filters.

A line of text looks like

    1.111  #1  ←  res updatePartLayout  2cbbedb7     116 B  ok in 2.4 ms; missing 2: -475255030, 532769732

time since capture start (s), connection, direction arrow (→ OpenUtau to plugin, ← plugin
to OpenUtau), type and kind, short request id, wire size, and the payload summary.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from utauproxy.inspect.correlate import Answer, RequestTracker
from utauproxy.inspect.decode import Decoded, DecodedMessage, LongLine, OtherRecord, revalidate
from utauproxy.inspect.fmt import Paint, clip, human_bytes, plain, seconds, short_id
from utauproxy.inspect.records_text import describe_other
from utauproxy.inspect.summary import Summarizer, Summary
from utauproxy.protocol.events import AudioFrame, Dialect, Malformed, Message
from utauproxy.protocol.header import Header, HeaderType
from utauproxy.records import ConnectionRecord, Direction, GapRecord

_TYPE_ABBREVIATIONS = {"request": "req", "response": "res", "notification": "ntf"}
_KIND_WIDTH = 22


@dataclass(frozen=True, slots=True)
class TimelineLine:
    """One timeline line before rendering. `type` is request, response, notification,
    close, frame, other, malformed or long-line for messages; conn, discovery, mark, gap or
    notice for the other records."""

    index: int
    ts_ns: int
    conn: int | None
    direction: Direction | None
    type: str
    kind: str
    id: str | None
    size: int | None
    item: Decoded
    answer: Answer | None = None


def _header_kind(header: Header | None) -> str:
    if header is None:
        return ""
    if header.type in (HeaderType.REQUEST, HeaderType.NOTIFICATION):
        return header.kind or ""
    if header.type in (HeaderType.RESPONSE, HeaderType.CLOSE):
        return ""
    return clip(header.text, 40)


def _message_type(message: DecodedMessage) -> str:
    event = message.event
    if isinstance(event, AudioFrame):
        return "frame"
    if isinstance(event, Malformed):
        return "malformed"
    if isinstance(event, LongLine):
        return "long-line"
    header_type = event.header.type
    if header_type in (HeaderType.REQUEST, HeaderType.RESPONSE, HeaderType.NOTIFICATION,
                       HeaderType.CLOSE):
        return header_type.value
    return "other"


class Timeline:
    """Turns decoded records into timeline lines and renders them."""

    def __init__(self, dialect: Dialect = Dialect.AUTO, paint: Paint = plain) -> None:
        self._dialect = dialect
        self._paint = paint
        self._tracker = RequestTracker()
        self._summarizer = Summarizer(paint)
        # The lazily decoded message being rendered and its validated twin: rendering asks
        # twice (type, then summary), and validating a 64 MiB line costs ~20 ms.
        self._last_validated: tuple[DecodedMessage, DecodedMessage] | None = None

    def lines(self, items: Iterable[Decoded]) -> Iterator[TimelineLine]:
        """Every item as a line, in order; requests and responses are matched on the way."""
        for item in items:
            if isinstance(item, OtherRecord):
                yield self._other_line(item)
            else:
                yield self._message_line(item)

    def _message_line(self, message: DecodedMessage) -> TimelineLine:
        header = message.header
        kind = "audio" if isinstance(message.event, AudioFrame) else _header_kind(header)
        answer = None
        if isinstance(message.event, Message) and header is not None:
            if header.type is HeaderType.REQUEST:
                self._tracker.request(message)
            elif header.type is HeaderType.RESPONSE:
                answer = self._tracker.response(message)
                kind = answer.request.kind if answer.request is not None else "?"
        request_id = header.id if header is not None else None
        return TimelineLine(message.index, message.ts_ns, message.conn, message.direction,
                            _message_type(message), kind, request_id, message.wire_len,
                            message, answer)

    def _other_line(self, item: OtherRecord) -> TimelineLine:
        record = item.record
        conn = record.conn if isinstance(record, ConnectionRecord | GapRecord) else None
        direction = record.direction if isinstance(record, ConnectionRecord | GapRecord) else None
        type_name, kind = describe_other(record).type_kind
        return TimelineLine(item.index, record.ts_ns, conn, direction, type_name, kind, None,
                            None, item)

    # -- rendering ----------------------------------------------------------------------------

    def summary(self, line: TimelineLine) -> Summary:
        """The payload summary of a line (validates the payload if it was not yet)."""
        item = line.item
        if isinstance(item, OtherRecord):
            return describe_other(item.record).summary
        return self._summarizer.summarize(self._validated(item), line.answer)

    def _validated(self, item: DecodedMessage) -> DecodedMessage:
        if item.validated:
            return item
        last = self._last_validated
        if last is not None and last[0] is item:
            return last[1]
        checked = revalidate(item, self._dialect)
        self._last_validated = (item, checked)
        return checked

    def _shown_type(self, line: TimelineLine) -> str:
        """The line's type once its payload is validated (a lazily decoded big line may turn
        out malformed)."""
        item = line.item
        if isinstance(item, DecodedMessage) and not item.validated:
            return _message_type(self._validated(item))
        return line.type

    def render(self, line: TimelineLine) -> str:
        """The line as text (colour through the Paint given at construction)."""
        try:
            return self._render(line)
        finally:
            self._last_validated = None  # a big line's validated payload is not kept around

    def _render(self, line: TimelineLine) -> str:
        paint = self._paint
        conn = f"#{line.conn}" if line.conn is not None else ""
        if line.direction is None:
            arrow = paint("·", "dim")
        else:
            arrow = paint(line.direction.arrow, "send" if line.direction is Direction.OU_TO_PLUGIN else "recv")
        shown_type = self._shown_type(line)
        label = f"{_TYPE_ABBREVIATIONS.get(shown_type, shown_type)} {line.kind}".strip()
        size = human_bytes(line.size) if line.size is not None else ""
        head = (f"{seconds(line.ts_ns):>10}  {conn:<3} {arrow}  "
                + paint(f"{label:<{_KIND_WIDTH}}", "bad" if shown_type == "malformed" else "kind")
                + f" {short_id(line.id):<8}  {size:>10}")
        text = self.summary(line).text
        return f"{head}  {text}".rstrip()

    def as_json(self, line: TimelineLine) -> dict[str, Any]:
        """The line as one JSON object (`show --json`; build the Timeline with `plain` so
        the summary text carries no terminal styling)."""
        try:
            return self._as_json(line)
        finally:
            self._last_validated = None

    def _as_json(self, line: TimelineLine) -> dict[str, Any]:
        summary = self.summary(line)
        return {
            "index": line.index,
            "ts_ns": line.ts_ns,
            "t": round(line.ts_ns / 1e9, 9),
            "conn": line.conn,
            "dir": line.direction.label if line.direction is not None else None,
            "type": self._shown_type(line),
            "kind": line.kind,
            "id": line.id,
            "size": line.size,
            "summary": summary.text,
            "details": summary.details,
        }


def raw_bytes(line: TimelineLine) -> bytes:
    """The exact wire bytes of a message line (b"" for other records)."""
    item = line.item
    if isinstance(item, DecodedMessage):
        return item.wire_bytes
    return b""

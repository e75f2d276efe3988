"""Export rows for other tools: JSON lines, a HAR-like document, and the raw byte streams.

Pure: decoded items in, plain JSON values (or byte pieces and their index) out. The CLI
decides where they go.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from utauproxy import __version__
from utauproxy.inspect.correlate import Answer, Outcome, RequestTracker
from utauproxy.inspect.decode import Decoded, DecodedMessage, LongLine, OtherRecord
from utauproxy.inspect.records_text import describe_other
from utauproxy.inspect.timeline import TimelineLine
from utauproxy.protocol.events import AudioFrame, Malformed, Message
from utauproxy.protocol.header import HeaderType
from utauproxy.records import Direction, MessageFlags, MessageRecord

STREAM_NAMES = {Direction.OU_TO_PLUGIN: "ou-to-plugin", Direction.PLUGIN_TO_OU: "plugin-to-ou"}


def _flags(message: DecodedMessage) -> list[str]:
    flags = MessageFlags(0)
    for record in message.records:
        flags |= record.flags
    return [flag.name.lower() for flag in MessageFlags if flag and flags & flag and flag.name]


def _json_payload(message: DecodedMessage) -> Any:
    event = message.event
    if not isinstance(event, Message) or event.header.type is HeaderType.CLOSE:
        return None
    try:
        return event.json()
    except ValueError:
        return None


# -- JSON lines ---------------------------------------------------------------------------------


def jsonl_row(line: TimelineLine, *, with_raw: bool = False) -> dict[str, Any]:
    """One JSON object per record. Messages carry their parsed payload; lines that are not
    valid messages (and every line with `with_raw`) carry their exact bytes as base64."""
    item = line.item
    row: dict[str, Any] = {
        "index": line.index, "ts_ns": line.ts_ns, "conn": line.conn,
        "dir": line.direction.label if line.direction is not None else None,
        "type": line.type, "kind": line.kind, "id": line.id, "size": line.size,
    }
    if isinstance(item, OtherRecord):
        row["details"] = describe_other(item.record).summary.details
        return row
    row["flags"] = _flags(item)
    event = item.event
    payload = _json_payload(item)
    row["payload"] = payload
    if isinstance(event, Malformed):
        row["problem"] = event.reason
    if isinstance(event, AudioFrame):
        row["frame"] = {"hash": str(event.hash), "length": event.length}
    if isinstance(event, LongLine):
        row["problem"] = f"long line in {event.pieces} pieces, not decoded"
    answer = line.answer
    if answer is not None and answer.request is not None:
        row["request_index"] = answer.request.index
        row["latency_ns"] = answer.latency_ns
    if with_raw or (payload is None and not (isinstance(event, Message) and event.header.type is HeaderType.CLOSE)):
        row["raw_b64"] = base64.b64encode(item.wire_bytes).decode("ascii")
    return row


# -- HAR-like --------------------------------------------------------------------------------


def _start_time(started_utc: str) -> datetime:
    try:
        start = datetime.fromisoformat(started_utc.replace("Z", "+00:00"))
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=timezone.utc)
    return start if start.tzinfo else start.replace(tzinfo=timezone.utc)


def _iso(start: datetime, ts_ns: int) -> str:
    moment = start + timedelta(microseconds=ts_ns // 1000)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _body(message: DecodedMessage, bodies: bool) -> dict[str, Any]:
    event = message.event
    if isinstance(event, AudioFrame):
        text = base64.b64encode(event.payload).decode("ascii") if bodies else ""
        return {"mimeType": "application/octet-stream", "text": text, "encoding": "base64",
                "size": event.length}
    payload = message.records[0].raw.partition(b" ")[2] if len(message.records) == 1 else b""
    text = payload.decode("utf-8", "replace") if bodies else ""
    return {"mimeType": "application/json", "text": text, "size": len(payload)}


class HarBuilder:
    """HAR 1.2-shaped entries, one per request (with its response) and one per notification
    or data frame, emitted when complete. Not HTTP: `method` is the message type, `url`
    `utau://<direction>/<kind>`, `status` 200 for success, 500 for a failure envelope, 0 for
    no answer."""

    def __init__(self, started_utc: str, *, bodies: bool = True) -> None:
        self._start = _start_time(started_utc)
        self._bodies = bodies
        self._tracker = RequestTracker()
        self._requests: dict[int, DecodedMessage] = {}

    @staticmethod
    def document_head() -> dict[str, Any]:
        return {"version": "1.2", "creator": {"name": "utauproxy", "version": __version__},
                "comment": "utauproxy capture export: messages of the OpenUtau <-> plugin link, "
                           "not HTTP (see `utauproxy export --help`)"}

    def add(self, item: Decoded) -> list[dict[str, Any]]:
        """Entries this item completes."""
        if not isinstance(item, DecodedMessage):
            return []
        event = item.event
        if isinstance(event, Message) and event.header.type is HeaderType.REQUEST:
            self._tracker.request(item)
            self._requests[item.index] = item
            return []
        if isinstance(event, Message) and event.header.type is HeaderType.RESPONSE:
            answer = self._tracker.response(item)
            request = None
            if answer.outcome is Outcome.MATCHED and answer.request is not None:
                request = self._requests.pop(answer.request.index, None)
            if request is None:  # an orphan or second answer: an entry of its own
                return [self._entry(item, None, None)]
            return [self._entry(request, item, answer)]
        return [self._entry(item, None, None)]

    def finish(self) -> list[dict[str, Any]]:
        """Requests that never got an answer."""
        left = [self._requests[p.index] for p in self._tracker.pending() if p.index in self._requests]
        self._requests.clear()
        return [self._entry(request, None, None) for request in left]

    def _entry(self, message: DecodedMessage, response: DecodedMessage | None,
               answer: Answer | None) -> dict[str, Any]:
        latency_ms = (answer.latency_ns or 0) / 1e6 if response is not None and answer else 0
        request_body = _body(message, self._bodies)
        entry: dict[str, Any] = {
            "startedDateTime": _iso(self._start, message.ts_ns),
            "time": round(latency_ms, 3),
            "connection": str(message.conn),
            "request": {
                "method": _method(message), "url": _url(message), "httpVersion": "utauproxy",
                "headers": _headers(message), "queryString": [], "cookies": [],
                "headersSize": -1, "bodySize": request_body.pop("size"),
                "postData": request_body,
            },
            "response": self._response(response),
            "cache": {},
            "timings": {"send": 0, "wait": round(latency_ms, 3), "receive": 0},
            "_index": message.index,
            "_direction": message.direction.label,
        }
        return entry

    def _response(self, response: DecodedMessage | None) -> dict[str, Any]:
        if response is None:
            return {"status": 0, "statusText": "", "httpVersion": "utauproxy", "headers": [],
                    "cookies": [], "content": {"size": 0, "mimeType": ""}, "redirectURL": "",
                    "headersSize": -1, "bodySize": 0}
        envelope = _json_payload(response)
        success = isinstance(envelope, dict) and envelope.get("success") is True
        error = envelope.get("error") if isinstance(envelope, dict) else "malformed response"
        body = _body(response, self._bodies)
        size = body["size"]
        return {"status": 200 if success else 500, "statusText": "ok" if success else str(error),
                "httpVersion": "utauproxy", "headers": _headers(response), "cookies": [],
                "content": body, "redirectURL": "", "headersSize": -1, "bodySize": size,
                "_index": response.index}


def _method(message: DecodedMessage) -> str:
    event = message.event
    if isinstance(event, AudioFrame):
        return "FRAME"
    if isinstance(event, Message):
        return event.header.type.value.upper()
    return "INVALID"


def _url(message: DecodedMessage) -> str:
    event = message.event
    header = None if isinstance(event, AudioFrame) else event.header
    kind = "audio" if isinstance(event, AudioFrame) else (header.kind or header.text if header else "")
    return f"utau://{message.direction.label}/{kind}"


def _headers(message: DecodedMessage) -> list[dict[str, str]]:
    event = message.event
    header = None if isinstance(event, AudioFrame) else event.header
    headers = [{"name": "line-header", "value": header.text}] if header is not None else []
    if header is not None and header.id is not None:
        headers.append({"name": "request-id", "value": header.id})
    if isinstance(event, Malformed):
        headers.append({"name": "problem", "value": event.reason})
    return headers


# -- raw streams -------------------------------------------------------------------------------


def stream_name(conn: int, direction: Direction) -> str:
    """File stem of one direction of one connection: `conn1.ou-to-plugin`."""
    return f"conn{conn}.{STREAM_NAMES[direction]}"


def raw_pieces(records: Iterable[object]) -> Iterator[tuple[str, bytes, dict[str, Any]]]:
    """(stream name, exact bytes, index row) for every message record, in capture order. The
    index rows have the shape of tests/data/real-wire's chunks.jsonl (t_ns, dir, off, len)
    plus the connection, so the streams and their timing can be rebuilt."""
    offsets: dict[str, int] = {}
    for record in records:
        if not isinstance(record, MessageRecord):
            continue
        name = stream_name(record.conn, record.direction)
        data = record.wire_bytes
        offset = offsets.get(name, 0)
        offsets[name] = offset + len(data)
        row = {"t_ns": record.ts_ns, "conn": record.conn, "dir": STREAM_NAMES[record.direction],
               "off": offset, "len": len(data)}
        yield name, data, row


"""Sample streams and helpers shared by the protocol tests (no fixtures: plain functions)."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypeAlias

from utauproxy.protocol import (
    DEFAULT_MAX_LINE,
    NEED_DATA,
    AudioFrame,
    Dialect,
    EndOfStream,
    Event,
    Framer,
    LinePiece,
    Malformed,
    Message,
)

REAL_WIRE = Path(__file__).resolve().parents[1] / "data" / "real-wire" / "p6-linux"
OU_TO_PLUGIN = "ou-to-plugin"
PLUGIN_TO_OU = "plugin-to-ou"

# PROTOCOL.md §3.4 worked example: 3 stereo frames.
TOY_SAMPLES = struct.pack("<6f", 0.0, 0.0, 0.25, -0.25, 0.5, -0.5)
TOY_B64 = "KLUv/SAYwQAAAAAAAAAAAAAAAIA+AACAvgAAAD8AAAC/"
TOY_HASH = -630150190


def real_stream(direction: str) -> bytes:
    return (REAL_WIRE / f"{direction}.bin").read_bytes()


def real_chunks(direction: str) -> list[bytes]:
    """The stream cut at the TCP read boundaries the relay saw (chunks.jsonl)."""
    stream = real_stream(direction)
    chunks = []
    for line in (REAL_WIRE / "chunks.jsonl").read_text().splitlines():
        read = json.loads(line)
        if read["dir"] == direction:
            chunks.append(stream[read["off"] : read["off"] + read["len"]])
    assert b"".join(chunks) == stream, "chunks.jsonl must cover the stream exactly"
    return chunks


def frame(payload: bytes, frame_hash: int = 12345) -> bytes:
    return b"audio %d %d\n" % (frame_hash, len(payload)) + payload


# PROTOCOL.md §2.1 byte-exact examples.
SECTION_2_1 = (
    b"request:6f1c2d3e-0a4b-4c5d-9e8f-001122334455:init {}\n"
    b'response:6f1c2d3e-0a4b-4c5d-9e8f-001122334455 {"success": true, "data": {"ustx": ""}}\n'
    b"notification:ping {}\n"
)

SECTION_3_4 = (
    b'request:1b9d:updatePartLayout {"parts":[{"trackNo":0,"startMs":0.0,"endMs":0.07,'
    b'"audioHash":-630150190}]}\n'
    b'response:1b9d {"success": true, "data": {"missingAudios": [-630150190]}}\n'
    b'notification:updateAudio {"audios":{"-630150190":"' + TOY_B64.encode() + b'"}}\n'
)

# API v1.2: control lines plus binary frames whose payloads contain LFs (PROTOCOL.md §5.1).
V1_2_STREAM = (
    b'request:0f0e:getAudio {"hash":"42"}\n'
    + frame(b"\n\n\x00audio 1 2\nnotification:ping {}\n", 42)
    + b'response:0f0e {"success":true,"data":{"apiVersion":"1.2"},"error":null}\n'
    + frame(b"")
    + frame(b"\n")
    + b"close\n"
)

# One line of each malformed kind; the expected reason fragment is in MALFORMED_REASONS.
MALFORMED_LINES: dict[str, bytes] = {
    "no space": b"ping\n",
    "cr": b"notification:ping {}\r\n",
    "bare close cr": b"close\r\n",
    "invalid utf8": b'notification:updateUstx {"ustx": "\xff\xfe"}\n',
    "not json": b"notification:ping {oops}\n",
    "empty payload": b"notification:ping \n",
    "top-level number": b"foo 123\n",
    "top-level string": b'notification:ping "x"\n',
    "request without kind": b"request:6f1c2d3e {}\n",
    "long header": b"x" * 600 + b"\n",
    "bad frame header": b"audio 12 abc\n",
    "oversized frame": b"audio 1 268435457\n",
    "hash over 64 bits": b"audio 18446744073709551616 4\n",
}
MALFORMED_REASONS = {
    "no space": "no space",
    "cr": "CR before LF",
    "bare close cr": "CR before LF",
    "invalid utf8": "invalid UTF-8",
    "not json": "not JSON",
    "empty payload": "empty",
    "top-level number": "not an object or array",
    "top-level string": "not an object or array",
    "request without kind": "without a kind",
    "long header": "header too long",
    "bad frame header": "invalid audio frame header",
    "oversized frame": "exceeds 268435456",
    "hash over 64 bits": "64 bits",
}

# A cut plugin write glued to the next line (PROTOCOL.md §6.1), pre-P2 lines, and a tail
# without LF: everything a real capture can hold that is not a tidy message.
ODD_STREAM = (
    b'response:ab {"success": true, "data": {"ustx": "na' + b"notification:ping {}\n"
    + b"ping {}\n"
    + b'init {"ustx": ""}\n'
    + b'error {"message":"Plugin is connected to another client"}\n'
    + b'notification:x {"bel": "\\a", "esc": "\\\\a", "jp": "\\u3042"}\n'
    + b"\n"
    + b"".join(MALFORMED_LINES.values())
    + b"close\n"
    + b"close {}\n"
    + b'notification:cut {"a": 1'
)

SAMPLES: dict[str, tuple[bytes, Dialect]] = {
    "real ou-to-plugin": (real_stream(OU_TO_PLUGIN), Dialect.AUTO),
    "real plugin-to-ou": (real_stream(PLUGIN_TO_OU), Dialect.AUTO),
    "§2.1 examples": (SECTION_2_1, Dialect.AUTO),
    "§3.4 audio example": (SECTION_3_4, Dialect.LINE),
    "v1.2 frames": (V1_2_STREAM, Dialect.V1_2),
    "v1.2 frames, auto": (V1_2_STREAM, Dialect.AUTO),
    "v1.2 frames, as lines": (V1_2_STREAM, Dialect.LINE),
    "odd lines": (ODD_STREAM, Dialect.AUTO),
    "cut frame": (V1_2_STREAM + b"audio 7 100\nonly this", Dialect.AUTO),
    "empty": (b"", Dialect.AUTO),
}


def feed(
    chunks: Iterable[bytes],
    *,
    dialect: Dialect = Dialect.AUTO,
    validate: bool = True,
    max_line: int = DEFAULT_MAX_LINE,
) -> list[Event]:
    """Feed chunks, then EOF, to a fresh Framer, draining events after every chunk."""
    framer = Framer(dialect, validate=validate, max_line=max_line)
    events: list[Event] = []
    for chunk in chunks:
        framer.receive_data(chunk)
        events.extend(framer)
    framer.receive_data(b"")
    events.extend(framer)
    assert framer.next_event() is NEED_DATA
    assert framer.buffered == 0
    return events


def split_at(data: bytes, points: Sequence[int]) -> list[bytes]:
    """Cut `data` at `points`; no empty chunks, since b"" means EOF to the framer."""
    cuts = [0, *sorted(set(points)), len(data)]
    return [data[a:b] for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def every(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def wire_bytes(event: Event) -> bytes:
    """The bytes an event stands for, terminator included."""
    if isinstance(event, AudioFrame):
        return event.raw
    if isinstance(event, LinePiece):
        return event.raw + (b"\n" if event.final and event.terminated else b"")
    if isinstance(event, Message | Malformed):
        return event.raw + (b"\n" if event.terminated else b"")
    return b""


def rebuild(events: Iterable[Event]) -> bytes:
    return b"".join(wire_bytes(event) for event in events)


Reported: TypeAlias = Message | Malformed | AudioFrame | LinePiece


def without_eos(events: list[Event]) -> list[Reported]:
    """The events before the one EndOfStream, which must come last."""
    assert events and isinstance(events[-1], EndOfStream)
    reported = [e for e in events[:-1] if not isinstance(e, EndOfStream)]
    assert len(reported) == len(events) - 1
    return reported

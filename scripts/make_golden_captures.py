#!/usr/bin/env python3
"""Regenerate the golden capture files in tests/golden/ deterministically.

    python scripts/make_golden_captures.py            # writes tests/golden/*
    python scripts/make_golden_captures.py --check    # exit 1 if the files would change

Golden files of a RELEASED format version must never be regenerated with different content:
tests/capture/test_capture_golden.py reads them forever. This script writes the golden file of
the CURRENT format (1.1) only; the 1.0 files are frozen (it made them with the 1.0 writer,
whose records are `golden_records()` below). Run it only to create the golden file of a new
format version, or when zstd's own output changed (then check the decoded JSON is equal).
The tests import this module for the same inputs.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
from pathlib import Path
from typing import Any

import cbor2
import zstandard

from utauproxy.capture import CaptureWriter
from utauproxy.capture.chunk import chunk_extent, decode_chunk
from utauproxy.capture.layout import CHUNK_HEAD, LABEL, RecordType, tag_head
from utauproxy.capture.limits import DEFAULT_LIMITS
from utauproxy.capture.migrate import MIGRATIONS
from utauproxy.capture.preamble import read_preamble
from utauproxy.capture.safecbor import load_item, scan_item
from utauproxy.records import (
    CaptureHeader,
    ConnectionRecord,
    ConnEvent,
    Direction,
    DiscoveryEvent,
    DiscoveryRecord,
    GapRecord,
    MarkRecord,
    MessageFlags,
    MessageRecord,
    NoticeRecord,
    Record,
)

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "tests" / "golden"
GOLDEN_V1_0 = GOLDEN_DIR / "capture-v1.0.utpcap"
GOLDEN_V1_0_JSON = GOLDEN_DIR / "capture-v1.0.json"
GOLDEN_V1_1 = GOLDEN_DIR / "capture-v1.1.utpcap"
GOLDEN_V1_1_JSON = GOLDEN_DIR / "capture-v1.1.json"
GOLDEN_V2_0 = GOLDEN_DIR / "capture-v2.0-claimed.utpcap"
WRITER_OPTIONS: dict[str, Any] = {"chunk_max_bytes": 64 << 10, "chunk_max_age_ns": 100_000_000}

MS = 1_000_000
OU, PLUGIN = Direction.OU_TO_PLUGIN, Direction.PLUGIN_TO_OU


def golden_header(minor: int = 1) -> CaptureHeader:
    return CaptureHeader(
        format_major=1,
        format_minor=minor,
        writer="utauproxy 0.1.0",
        started_utc="2025-08-11T12:00:00Z",
        host_os="linux",
        dialect="line",
        discovery=[{"file": "3f2b.json", "port": 51234, "name": "Vocal \u3042"}],
        note=f"golden file of capture format 1.{minor}",
        extra={"purpose": "golden", "seed": 1},
    )


def _ustx(revision: int, project: str) -> bytes:
    """A deterministic USTX-like project of ~6 KB; `revision` edits one note per step and
    `project` seeds the lyrics (a different seed gives a project too different to delta)."""
    notes = []
    for i in range(60):
        tone = 60 + (i * 7) % 12 + (1 if i < revision else 0)
        lyric = hashlib.sha256(f"{project}{i}".encode()).hexdigest()
        notes.append(f"  - position: {i * 480}\\n    duration: 240\\n    tone: {tone}\\n    lyric: {lyric}\\n")
    body = "name: Golden\\nbpm: 120\\nvoice_parts:\\n- notes:\\n" + "".join(notes)
    return b'notification:updateUstx {"ustx":"' + body.encode() + b'"}'


def golden_records() -> list[Record]:
    """Every record type; keys, deltas and base copies across chunks; odd messages."""
    ping = b"notification:ping {}"
    init_id = "6f1c2d3e-0a4b-4c5d-9e8f-001122334455"
    records: list[Record] = [
        DiscoveryRecord(0, DiscoveryEvent.FOUND, {"file": "3f2b.json", "port": 51234}),
        DiscoveryRecord(1 * MS, DiscoveryEvent.REWRITTEN, {"file": "3f2b.json", "port": 40000}),
        ConnectionRecord(10 * MS, 1, ConnEvent.OPEN, None, {"upstream": 51234}),
        MessageRecord(11 * MS, 1, OU, f"request:{init_id}:init {{}}".encode()),
        MessageRecord(12 * MS, 1, PLUGIN, ping),
        MessageRecord(13 * MS, 1, PLUGIN, f'response:{init_id} {{"success": true, "data": {{"ustx": ""}}}}'.encode()),
    ]
    for step in range(6):  # key in the first chunk, deltas in later ones (with a base copy)
        records.append(MessageRecord((100 + 150 * step) * MS, 1, OU, _ustx(step, "la")))
    records += [
        MessageRecord(1000 * MS, 1, OU, _ustx(0, "another project")),  # the delta misses: new key
        MessageRecord(1200 * MS, 1, OU, _ustx(1, "another project")),
        MessageRecord(1250 * MS, 1, PLUGIN, b""),  # an empty line
        MessageRecord(1251 * MS, 1, PLUGIN, b'bad \xff\xfe line\r'),  # invalid UTF-8 and CR
        MessageRecord(1252 * MS, 1, OU, b"audio 12345 8\n" + bytes(range(8)), MessageFlags.FRAME),
        MessageRecord(1253 * MS, 1, OU, b'notification:updateUstx {"ustx":"part one', MessageFlags.CONTINUED),
        MessageRecord(1254 * MS, 1, OU, b' part two"}'),
        MarkRecord(1300 * MS, "the bug happened here"),
        GapRecord(1400 * MS, 1, PLUGIN, 4096, 2, "disk fell behind"),
        NoticeRecord(1500 * MS, "warning", "upstream slow"),
        MessageRecord(1600 * MS, 1, PLUGIN, b'response:x {"success": true, "data": {"ustx": "na', MessageFlags.NO_LF),
        ConnectionRecord(1601 * MS, 1, ConnEvent.EOF, PLUGIN),
        ConnectionRecord(1602 * MS, 1, ConnEvent.CLOSED, None, {"reason": "peer closed", "ratio": 0.5}),
        DiscoveryRecord(1700 * MS, DiscoveryEvent.RESTORED, {"file": "3f2b.json", "port": 51234}),
    ]
    return records


def _audio_payload(render: int, seed: bytes = b"") -> bytes:
    """3 KB standing for one render of a part (zstd-free, so the same on every machine):
    deterministic noise in which each render changes 16 bytes of the render before."""
    data = bytearray(b"".join(hashlib.sha256(seed + b"render %d" % i).digest() for i in range(96)))
    for step in range(1, render + 1):
        data[step * 100 : step * 100 + 16] = hashlib.sha256(b"edit %d" % step).digest()[:16]
    return bytes(data)


def _layout(request_id: str, parts: list[tuple[int, float, int]]) -> bytes:
    items = ",".join(f'{{"trackNo":{t},"startMs":{s!r},"endMs":1500.0,"audioHash":{h}}}' for t, s, h in parts)
    return f'request:{request_id}:updatePartLayout {{"parts":[{items}]}}'.encode()


def _audio_line(*audios: tuple[str, bytes]) -> bytes:
    items = ",".join(f'"{key}":"{base64.b64encode(payload).decode()}"' for key, payload in audios)
    return b'notification:updateAudio {"audios":{' + items.encode() + b"}}"


def golden_records_v1_1() -> list[Record]:
    """Format 1.1 adds AUDIO records: keys, rolling deltas (one in a later chunk than its
    base), a payload no layout names (plain), and lines that must stay as they are."""
    uncanonical = base64.b64encode(_audio_payload(0, b"odd") + b"x").decode()[:-3] + "eQ=="
    return [
        *golden_records(),
        ConnectionRecord(1800 * MS, 2, ConnEvent.OPEN, None, {"upstream": 51234}),
        MessageRecord(1801 * MS, 2, OU, _layout("a1", [(0, 0.0, -5), (1, 480.5, 7)])),
        MessageRecord(1802 * MS, 2, PLUGIN, b'response:a1 {"success": true, "data": {"missingAudios": [-5, 7]}}'),
        MessageRecord(1803 * MS, 2, OU, _audio_line(("-5", _audio_payload(0)), ("7", _audio_payload(0, b"t1")))),
        MessageRecord(1850 * MS, 2, OU, _layout("a2", [(0, 0.0, -6), (1, 480.5, 7)])),
        MessageRecord(1851 * MS, 2, OU, _audio_line(("-6", _audio_payload(1)))),
        MessageRecord(2000 * MS, 2, OU, _layout("a3", [(0, 0.0, 8), (1, 480.5, 7)])),
        MessageRecord(2001 * MS, 2, OU, _audio_line(("8", _audio_payload(2)), ("99", _audio_payload(0, b"?")))),
        MessageRecord(2002 * MS, 2, OU, b'notification:updateAudio {"audios":{"9":"' + uncanonical.encode() + b'"}}'),
        MessageRecord(2003 * MS, 2, OU, b'notification:updateAudio {"audios":{"10":"a2V5"}}'),
        ConnectionRecord(2100 * MS, 2, ConnEvent.CLOSED, None, {}),
    ]


def write_golden(path: Path) -> None:
    """Write the golden capture of the current format to `path` (which must not exist)."""
    with CaptureWriter.create(path, golden_header(), **WRITER_OPTIONS) as writer:
        for record in golden_records_v1_1():
            writer.write(record)
        writer.close(extra={"golden": True})


def too_new_capture() -> bytes:
    """A file that claims format 2.0, followed by an item a 1.x reader cannot know."""
    header = {"format_major": 2, "format_minor": 0, "writer": "utauproxy 9.0.0", "layout": "new"}
    future_item = tag_head(0x55545032) + cbor2.dumps({"anything": [1, 2, 3]})
    return LABEL + cbor2.dumps(header) + future_item


# --- JSON form of records (the expected decoding) ---------------------------------------------


def _raw_json(raw: bytes) -> dict[str, str]:
    try:
        return {"raw_utf8": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"raw_b64": base64.b64encode(raw).decode("ascii")}


def record_to_json(record: Record) -> dict[str, Any]:
    if isinstance(record, MessageRecord):
        fields: dict[str, Any] = {"ts_ns": record.ts_ns, "conn": record.conn, "direction": int(record.direction)}
        return {"kind": "message", **fields, "flags": int(record.flags), **_raw_json(record.raw)}
    if isinstance(record, ConnectionRecord):
        direction = None if record.direction is None else int(record.direction)
        event = {"conn": record.conn, "event": record.event.value, "direction": direction}
        return {"kind": "connection", "ts_ns": record.ts_ns, **event, "detail": record.detail}
    if isinstance(record, DiscoveryRecord):
        return {"kind": "discovery", "ts_ns": record.ts_ns, "event": record.event.value, "entry": record.entry}
    if isinstance(record, MarkRecord):
        return {"kind": "mark", "ts_ns": record.ts_ns, "text": record.text}
    if isinstance(record, GapRecord):
        fields = {"conn": record.conn, "direction": int(record.direction), "lost_bytes": record.lost_bytes}
        return {"kind": "gap", "ts_ns": record.ts_ns, **fields, "lost_messages": record.lost_messages, "reason": record.reason}
    return {"kind": "notice", "ts_ns": record.ts_ns, "level": record.level, "text": record.text}


def record_from_json(value: dict[str, Any]) -> Record:
    kind, ts = value["kind"], value["ts_ns"]
    if kind == "message":
        raw = value["raw_utf8"].encode() if "raw_utf8" in value else base64.b64decode(value["raw_b64"])
        return MessageRecord(ts, value["conn"], Direction(value["direction"]), raw, MessageFlags(value["flags"]))
    if kind == "connection":
        direction = None if value["direction"] is None else Direction(value["direction"])
        return ConnectionRecord(ts, value["conn"], ConnEvent(value["event"]), direction, value["detail"])
    if kind == "discovery":
        return DiscoveryRecord(ts, DiscoveryEvent(value["event"]), value["entry"])
    if kind == "mark":
        return MarkRecord(ts, value["text"])
    if kind == "gap":
        fields = (value["lost_bytes"], value["lost_messages"], value["reason"])
        return GapRecord(ts, value["conn"], Direction(value["direction"]), *fields)
    return NoticeRecord(ts, value["level"], value["text"])


# --- the file's structure, independent of zstd's exact output ---------------------------------


def structure(data: bytes) -> list[Any]:
    """Each top-level item after the header: chunks as their metadata (seq, first/last ts,
    count) and record arrays (delta frames left out, since zstd versions may encode them
    differently); other items as their tag head."""
    source = io.BytesIO(data)

    def read_at(offset: int, size: int) -> bytes:
        source.seek(offset)
        return source.read(size)

    pos = read_preamble(read_at, DEFAULT_LIMITS, MIGRATIONS).end
    items: list[Any] = []
    decompressor = zstandard.ZstdDecompressor()
    while pos < len(data):
        if data.startswith(CHUNK_HEAD, pos):
            extent = chunk_extent(data[pos : pos + 8192], DEFAULT_LIMITS)
            meta, records = decode_chunk(data[pos : pos + extent.end], extent, DEFAULT_LIMITS, decompressor)
            items.append({"chunk": [meta.seq, meta.first_ts_ns, meta.last_ts_ns, meta.count], "records": _arrays(records)})
            pos += extent.end
        else:
            end = scan_item(data, pos + 5, max_bytes=len(data), max_depth=64)
            items.append({"item": data[pos : pos + 5].hex()})
            pos = end
    return items


def _arrays(records: bytes) -> list[Any]:
    arrays, pos = [], 0
    while pos < len(records):
        value, pos = load_item(records, pos, max_bytes=len(records), max_depth=64)
        if value[0] == RecordType.MESSAGE_DELTA:
            value = value[:8]
        if value[0] == RecordType.MESSAGE_AUDIO:  # delta frames out, as above
            value = [*value[:6], [_digested(blob[:2] + blob[3:] if blob[1] == 2 else blob) for blob in value[6]]]
        arrays.append(_digested(value))
    return arrays


def _digested(values: list[Any]) -> list[Any]:
    return [_digest(v) if isinstance(v, bytes) else v for v in values]


def _digest(data: bytes) -> str:
    return f"{len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}"


def record_type_layout(data: bytes) -> list[list[int]]:
    """The type codes of the records in each chunk, in order."""
    return [[array[0] for array in item["records"]] for item in structure(data) if "chunk" in item]


def expected_json(data: bytes) -> dict[str, Any]:
    return {
        "comment": "Decoded form of capture-v1.1.utpcap; generated by scripts/make_golden_captures.py",
        "zstd_version": ".".join(map(str, zstandard.ZSTD_VERSION)),
        "header": {
            "format_major": 1,
            "format_minor": 1,
            "writer": golden_header().writer,
            "started_utc": golden_header().started_utc,
            "host_os": golden_header().host_os,
            "dialect": golden_header().dialect,
            "discovery": golden_header().discovery,
            "note": golden_header().note,
            "extra": golden_header().extra,
        },
        "records": [record_to_json(r) for r in golden_records_v1_1()],
        "record_types_per_chunk": record_type_layout(data),
        "structure": structure(data),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    args = parser.parse_args()
    scratch = GOLDEN_DIR / ".scratch.utpcap"
    scratch.unlink(missing_ok=True)
    write_golden(scratch)
    capture = scratch.read_bytes()
    scratch.unlink()
    outputs = {
        GOLDEN_V1_1: capture,
        GOLDEN_V1_1_JSON: (json.dumps(expected_json(capture), indent=1, ensure_ascii=False) + "\n").encode(),
        GOLDEN_V2_0: too_new_capture(),
    }
    changed = [path for path, data in outputs.items() if not path.exists() or path.read_bytes() != data]
    if args.check:
        for path in changed:
            print(f"would change: {path}")
        return 1 if changed else 0
    for path in changed:
        path.write_bytes(outputs[path])
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

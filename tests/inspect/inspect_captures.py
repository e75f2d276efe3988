"""Deterministic captures for the inspect and check tests: a small session builder, a good
P6 / P2 / API v1.2 session, and helpers to write them with the real CaptureWriter.

Nothing here is random and nothing reads the clock, so the golden outputs stay stable.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from utauproxy.capture import FORMAT_MAJOR, FORMAT_MINOR, CaptureReader, CaptureWriter
from utauproxy.protocol.audio import encode_audio_payload, signed_xxh32, unsigned_xxh32, xxh64
from utauproxy.records import (
    CaptureHeader,
    ConnectionRecord,
    ConnEvent,
    Direction,
    MessageFlags,
    MessageRecord,
    Record,
)

OU = Direction.OU_TO_PLUGIN
PLUGIN = Direction.PLUGIN_TO_OU
MS = 1_000_000
S = 1_000_000_000

ID_INIT = "6f1c2d3e-0a4b-4c5d-9e8f-001122334455"
ID_LAYOUT = "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed"
ID_LAYOUT2 = "2c0a7e21-7f5c-4b8e-8f7a-5d2f0c3e9a11"
LAYOUT_LINE_PREFIX = ID_LAYOUT2.encode()  # `response:` + this: the second layout's answer


def fixed_header(dialect: str = "auto", note: str = "golden session", **extra: Any) -> CaptureHeader:
    return CaptureHeader(
        format_major=FORMAT_MAJOR,
        format_minor=FORMAT_MINOR,
        writer="utauproxy test",
        started_utc="2025-08-11T10:00:00Z",
        host_os="TestOS",
        dialect=dialect,
        note=note,
        extra=dict(extra),
    )


def write_capture(path: Path, records: Iterable[Record], header: CaptureHeader | None = None,
                  *, extra: dict[str, Any] | None = None, close: bool = True) -> Path:
    """Write `records` with the real writer; `close=False` leaves it without a footer (the
    chunks are flushed, as after a kill -9 between flushes)."""
    writer = CaptureWriter.create(path, header or fixed_header())
    for record in records:
        writer.write(record)
    if close:
        writer.close(extra)
    else:
        writer.flush()
        writer._file.close()  # noqa: SLF001 - simulate a recorder that died before close()
    return path


def read_back(path: Path) -> tuple[CaptureHeader, list[Record]]:
    with CaptureReader.open(path) as reader:
        return reader.header, list(reader.records())


# -- payloads ---------------------------------------------------------------------------------


def tone(floats: int, pitch: int = 100) -> bytes:
    """`floats` float32 LE values of a quiet sine (interleaved stereo, so pass an even count)."""
    period = [0.25 * math.sin(2 * math.pi * (i // 2) / pitch) for i in range(2 * pitch)]
    values = (period * (floats // len(period) + 1))[:floats]
    return struct.pack(f"<{floats}f", *values)


def part_floats(start_ms: float, end_ms: float) -> int:
    return int((end_ms - start_ms) * 44100 / 1000) * 2


USTX = """name: Golden Song
comment: ""
output_dir: Vocal
cache_dir: UCache
ustx_version: "0.7"
resolution: 480
bpm: 120
tracks:
- singer: Teto
  track_name: Vocal
  volume: 0
  pan: 0
- singer: Teto
  track_name: Harmony
  volume: -6
  pan: 30
voice_parts:
- name: Verse
  track_no: 0
  position: 0
  duration: 1920
  notes:
  - {position: 0, duration: 480, tone: 60, lyric: a}
  - {position: 480, duration: 480, tone: 62, lyric: i}
  - {position: 960, duration: 960, tone: 64, lyric: u}
- name: Echo
  track_no: 1
  position: 480
  duration: 960
  notes:
  - {position: 0, duration: 960, tone: 67, lyric: e}
wave_parts: []
"""


def newtonsoft(value: Any) -> bytes:
    """OpenUtau's compact JSON (floats keep their `.0`, PROTOCOL.md §3.3)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def choc(value: Any) -> bytes:
    """The plugin's JSON: `", "` and `": "`, non-ASCII escaped (PROTOCOL.md §2.1)."""
    return json.dumps(value).encode("ascii")


def line(header: str, payload: bytes | Any) -> bytes:
    body = payload if isinstance(payload, bytes) else newtonsoft(payload)
    return header.encode() + b" " + body


def response(request_id: str, data: Any, *, style: Callable[[Any], bytes] = choc) -> bytes:
    return f"response:{request_id} ".encode() + style({"success": True, "data": data})


# -- a session ----------------------------------------------------------------------------------


class Session:
    """Records of one capture, built in time order."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def open(self, t_ns: int, conn: int = 1) -> Session:
        self.records.append(ConnectionRecord(t_ns, conn, ConnEvent.OPEN, None,
                                             {"client_port": 50001, "upstream_port": 51234}))
        return self

    def close(self, t_ns: int, conn: int = 1) -> Session:
        self.records.append(ConnectionRecord(t_ns, conn, ConnEvent.EOF, OU))
        self.records.append(ConnectionRecord(t_ns, conn, ConnEvent.CLOSED))
        return self

    def ou(self, t_ns: int, raw: bytes, conn: int = 1, flags: MessageFlags = MessageFlags.NONE) -> Session:
        self.records.append(MessageRecord(t_ns, conn, OU, raw, flags))
        return self

    def plugin(self, t_ns: int, raw: bytes, conn: int = 1, flags: MessageFlags = MessageFlags.NONE) -> Session:
        self.records.append(MessageRecord(t_ns, conn, PLUGIN, raw, flags))
        return self


PARTS = ((0, 0.0, 1000.0), (1, 250.0, 1500.0))
SAMPLES = (tone(part_floats(0.0, 1000.0), 100), tone(part_floats(250.0, 1500.0), 75))
HASHES = tuple(signed_xxh32(s) for s in SAMPLES)


def layout_payload(hashes: Sequence[int | str], parts: Sequence[tuple[int, float, float]] = PARTS) -> bytes:
    entries = [{"trackNo": t, "startMs": s, "endMs": e, "audioHash": h} for (t, s, e), h in zip(parts, hashes)]
    return newtonsoft({"parts": entries})


def tracks_payload() -> bytes:
    return newtonsoft({"tracks": [{"name": "Vocal", "volume": 0.0, "pan": 0.0},
                                  {"name": "Harmony", "volume": -6.0, "pan": 30.0}]})


def audio_payload(entries: dict[str, str]) -> bytes:
    return newtonsoft({"audios": entries})


def p6_session() -> list[Record]:
    """A clean P6 session: connect, init, a sync with two missing audios, pings every 5 s,
    a second sync with nothing missing, disconnect."""
    h1, h2 = HASHES
    audios = {str(h): encode_audio_payload(s, "zstd") for h, s in zip(HASHES, SAMPLES)}
    session = (
        Session()
        .open(0)
        .ou(10 * MS, f"request:{ID_INIT}:init {{}}".encode())
        .plugin(11 * MS, b"notification:ping {}")
        .plugin(12 * MS, response(ID_INIT, {"ustx": ""}))
        .ou(1020 * MS, line("notification:updateUstx", {"ustx": USTX}))
        .ou(1021 * MS, line("notification:updateTracks", tracks_payload()))
        .ou(1030 * MS, line(f"request:{ID_LAYOUT}:updatePartLayout", layout_payload(HASHES)))
        .plugin(1032 * MS, response(ID_LAYOUT, {"missingAudios": sorted(HASHES)}))
        .ou(1040 * MS, line("notification:updateAudio", audio_payload(audios)))
        .plugin(5015 * MS, b"notification:ping {}")
        .plugin(10020 * MS, b"notification:ping {}")
        .ou(12000 * MS, line("notification:updateUstx", {"ustx": USTX}))
        .ou(12001 * MS, line("notification:updateTracks", tracks_payload()))
        .ou(12010 * MS, line(f"request:{ID_LAYOUT2}:updatePartLayout", layout_payload(HASHES)))
        .plugin(12012 * MS, response(ID_LAYOUT2, {"missingAudios": []}))
        .plugin(15025 * MS, b"notification:ping {}")
        .close(16000 * MS)
    )
    assert h1 != h2
    return session.records


def p2_session() -> list[Record]:
    """A clean P2 session: bare `ping {}`, gzip audio, uint hashes, string missingAudios."""
    hashes = [unsigned_xxh32(s) for s in SAMPLES]
    audios = {str(h): encode_audio_payload(s, "gzip") for h, s in zip(hashes, SAMPLES)}
    return (
        Session()
        .open(0)
        .ou(10 * MS, f"request:{ID_INIT}:init {{}}".encode())
        .plugin(11 * MS, b"ping {}")
        .plugin(12 * MS, response(ID_INIT, {"ustx": ""}))
        .ou(5020 * MS, line("notification:updateUstx", {"ustx": USTX}))
        .plugin(5030 * MS, b"ping {}")
        .ou(5031 * MS, line("notification:updateTracks", tracks_payload()))
        .ou(5040 * MS, line(f"request:{ID_LAYOUT}:updatePartLayout", layout_payload(hashes)))
        .plugin(5042 * MS, response(ID_LAYOUT, {"missingAudios": [str(h) for h in sorted(hashes)]}))
        .ou(5050 * MS, line("notification:updateAudio", audio_payload(audios)))
        .plugin(10040 * MS, b"ping {}")
        .close(11000 * MS)
    ).records


def v1_2_frame(samples: bytes, frame_hash: int | None = None) -> bytes:
    declared = xxh64(samples) if frame_hash is None else frame_hash
    return b"audio %d %d\n" % (declared, len(samples)) + samples


def v1_2_session(frame_hash: int | None = None) -> list[Record]:
    """A clean API v1.2 session: OpenUtau pushes the project with init, string hashes, the
    plugin pulls the missing audio with getAudio and gets data frames."""
    hashes = [str(xxh64(s)) for s in SAMPLES]

    def stj(value: Any) -> bytes:  # System.Text.Json: compact, declaration order
        return json.dumps(value, separators=(",", ":")).encode()

    def nlohmann(value: Any) -> bytes:  # the bridge plugin: compact, sorted keys
        return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()

    pull1, pull2 = "0f0e0d0c-0000-4000-8000-000000000001", "0f0e0d0c-0000-4000-8000-000000000002"
    session = (
        Session()
        .open(0)
        .ou(10 * MS, f"request:{ID_INIT}:init ".encode() + stj({"ustx": USTX}))
        .plugin(12 * MS, f"response:{ID_INIT} ".encode()
                + nlohmann({"success": True, "data": {"apiVersion": "1.2"}, "error": None}))
        .ou(1020 * MS, b"notification:updateUstx " + stj({"ustx": USTX}))
        .ou(1021 * MS, b"notification:updateTracks " + stj({"tracks": [
            {"name": "Vocal", "volume": 0, "pan": 0, "muted": False, "singer": "Teto", "engine": ""}]}))
        .ou(1022 * MS, b"notification:updateProjectInfo " + stj({"name": "Golden Song", "saved": True}))
        .ou(1030 * MS, f"request:{ID_LAYOUT}:updatePartLayout ".encode() + layout_payload(hashes))
        .plugin(1032 * MS, f"response:{ID_LAYOUT} ".encode()
                + nlohmann({"success": True, "data": {"missingAudios": hashes}, "error": None}))
        .plugin(1040 * MS, f"request:{pull1}:getAudio ".encode() + nlohmann({"hash": hashes[0]}))
        .ou(1045 * MS, v1_2_frame(SAMPLES[0], frame_hash), flags=MessageFlags.FRAME)
        .plugin(1050 * MS, f"request:{pull2}:getAudio ".encode() + nlohmann({"hash": hashes[1]}))
        .ou(1055 * MS, v1_2_frame(SAMPLES[1]), flags=MessageFlags.FRAME)
        .plugin(5010 * MS, b"notification:ping {}")
        .ou(6000 * MS, b"close")
        .close(6001 * MS)
    )
    return session.records


# -- mutations ------------------------------------------------------------------------------------


def find(records: list[Record], prefix: bytes, nth: int = 0) -> int:
    """Index of the nth message record whose raw starts with `prefix`."""
    hits = [i for i, r in enumerate(records) if isinstance(r, MessageRecord) and r.raw.startswith(prefix)]
    return hits[nth]


def replaced(records: list[Record], prefix: bytes, raw: bytes, nth: int = 0, **changes: Any) -> list[Record]:
    out = list(records)
    index = find(out, prefix, nth)
    old = out[index]
    assert isinstance(old, MessageRecord)
    out[index] = replace(old, raw=raw, **changes)
    return out


def dropped(records: list[Record], prefix: bytes, nth: int = 0) -> list[Record]:
    out = list(records)
    del out[find(out, prefix, nth)]
    return out


def inserted(records: list[Record], record: Record) -> list[Record]:
    """`record` placed by its timestamp (after records with the same time)."""
    out = list(records)
    position = next((i for i, r in enumerate(out) if r.ts_ns > record.ts_ns), len(out))
    out.insert(position, record)
    return out


ID_FAILING = "00000000-1111-4222-8333-444455556666"


def showcase_session() -> list[Record]:
    """The clean P6 session plus one of every other thing a timeline shows: a discovery
    event, a mark, a malformed line, a failed request, an orphan response, a gap, a notice."""
    from utauproxy.records import (
        DiscoveryEvent,
        DiscoveryRecord,
        GapRecord,
        MarkRecord,
        NoticeRecord,
    )

    records = [DiscoveryRecord(0, DiscoveryEvent.REWRITTEN,
                               {"file": "3f2a9c1e.json", "name": "Vocal", "upstream_port": 51234,
                                "proxy_port": 40001, "dialect": "line", "api_version": None}),
               *p6_session()]
    for record in (
        MarkRecord(11000 * MS, "the second sync starts here"),
        MessageRecord(12500 * MS, 1, OU, b'notification:updateTracks {"tracks":[}'),
        MessageRecord(13500 * MS, 1, OU, f"request:{ID_FAILING}:updateScore {{}}".encode()),
        MessageRecord(13502 * MS, 1, PLUGIN,
                      f'response:{ID_FAILING} {{"success": false, "error": "Unknown request type"}}'.encode()),
        MessageRecord(13600 * MS, 1, PLUGIN, b'response:feedface {"success": true, "data": {}}'),
        GapRecord(14000 * MS, 1, OU, 1234, 2, "capture fell behind the wire"),
        NoticeRecord(15000 * MS, "warning", "the disk is slow"),
    ):
        records = inserted(records, record)
    return records

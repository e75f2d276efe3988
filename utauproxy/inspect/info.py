"""`info`: one screen about a capture, from its footer alone (or from a scan, which it says).

Pure: header, statistics and optional scan results in, lines of text (or one JSON object) out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from utauproxy.inspect.fmt import Paint, human_bytes, human_duration_ns, plain, seconds
from utauproxy.inspect.latency import KindLatency
from utauproxy.inspect.recorded_protocol import recorded_protocol
from utauproxy.inspect.stats import CaptureStats
from utauproxy.protocol.version import VersionGuess
from utauproxy.protocol.versions import ProtocolVersion
from utauproxy.records import CaptureHeader, Direction

_V1_2_LABELS = ("audio", "request:getAudio", "notification:playhead", "notification:bpm",
                "notification:updateProjectInfo")
_WIDTH = 13  # the label column


@dataclass(frozen=True, slots=True)
class InfoInput:
    """Everything `info` shows. `latency` None: not known without a scan; `version`: a
    scan's guess (None: only what the footer's message kinds tell)."""

    file_name: str
    file_bytes: int
    header: CaptureHeader
    stats: CaptureStats
    footer_present: bool
    latency: list[KindLatency] | None = None
    version: VersionGuess | None = None
    damage: list[str] = field(default_factory=list)
    damaged_bytes: int = 0


def version_from_labels(stats: CaptureStats, header: CaptureHeader) -> tuple[str, str]:
    """(version, how it was found) from the message kinds the footer counts and the
    discovery entries: enough to tell the dialect and a few versions, not the exact one."""
    labels = {label for label, count in stats.by_label.items() if count.count}
    declared = [e for e in header.discovery if "apiVersion" in e or e.get("api_version")]
    if labels & set(_V1_2_LABELS) or declared or header.dialect == ProtocolVersion.V1_2.value:
        return ProtocolVersion.V1_2.value, "API v1.2 message kinds or discovery entry"
    if "other:ping" in labels:
        return ProtocolVersion.P2.value, "bare `ping {}` lines (PROTOCOL.md §4)"
    if "notification:playbackStarted" in labels:
        return ProtocolVersion.R.value, "`notification:playbackStarted` (PROTOCOL.md §4)"
    if any(label.startswith(("request:", "notification:")) for label in labels):
        return "line protocol P2.2 or later", "message kinds only"
    return ProtocolVersion.UNKNOWN.value, "no messages"


def _protocol(data: InfoInput) -> str:
    if data.version is not None and data.version.version is not ProtocolVersion.UNKNOWN:
        evidence = "; ".join(data.version.evidence[:3])
        return f"{data.version.version.value} (detected by a scan: {evidence})"
    recorded = recorded_protocol(data.stats.extra)
    if recorded is not None:
        return f"{recorded.version} (recorded in the footer)"
    version, how = version_from_labels(data.stats, data.header)
    hint = "" if data.version is not None else "; --scan for the exact version"
    return f"{version} (from {how}{hint})"


def _time_range(stats: CaptureStats) -> str:
    if stats.first_ts_ns is None or stats.last_ts_ns is None:
        return "empty"
    span = stats.last_ts_ns - stats.first_ts_ns
    return f"{seconds(stats.first_ts_ns)} s – {seconds(stats.last_ts_ns)} s ({human_duration_ns(span)})"


def _row(label: str, value: str) -> str:
    return f"{label:<{_WIDTH}}{value}".rstrip()


def _direction_totals(stats: CaptureStats) -> str:
    parts = []
    for direction in Direction:
        count = stats.by_direction.get(direction)
        if count is not None:
            parts.append(f"{direction.arrow} {count.count} / {human_bytes(count.bytes)}")
    return ", ".join(parts)


def _connections(stats: CaptureStats) -> list[str]:
    lines = [_row("connections", str(len(stats.connections)))]
    for conn in sorted(stats.connections.values(), key=lambda c: c.conn):
        sent, received = conn.bytes_by_direction
        span = f"{seconds(conn.first_ts_ns)} – {seconds(conn.last_ts_ns)} s"
        lines.append(_row(f"  #{conn.conn}", f"{span}, {conn.messages} messages, "
                                              f"→ {human_bytes(sent)}, ← {human_bytes(received)}"))
    return lines


def _kinds(stats: CaptureStats) -> list[str]:
    rows = sorted(stats.by_label.items(), key=lambda item: (-item[1].bytes, item[0]))
    width = max([len("kind"), *(len(label) for label, _ in rows)])
    lines = [f"  {'kind':<{width}}  {'count':>7}  {'bytes':>10}"]
    for label, count in rows:
        lines.append(f"  {label:<{width}}  {count.count:>7}  {human_bytes(count.bytes):>10}")
    return lines


def _compression(data: InfoInput) -> str:
    wire = data.stats.wire_bytes
    if not wire:
        return f"no messages; {human_bytes(data.file_bytes)} on disk"
    ratio = wire / max(data.file_bytes, 1)
    return f"{human_bytes(wire)} on the wire, {human_bytes(data.file_bytes)} on disk (ratio {ratio:.1f}:1)"


def _latency(data: InfoInput) -> list[str]:
    if data.latency is None:
        return [_row("latency", "n/a (needs a scan: --scan)")]
    if not data.latency:
        return [_row("latency", "no answered requests")]
    width = max(len("request"), *(len(entry.kind) for entry in data.latency))
    lines = [_row("latency", f"{'request':<{width}}  {'count':>5}  {'p50':>9}  {'p99':>9}")]
    for entry in data.latency:
        lines.append(" " * _WIDTH + f"{entry.kind:<{width}}  {entry.count:>5}  "
                     f"{human_duration_ns(entry.p50_ns):>9}  {human_duration_ns(entry.p99_ns):>9}")
    return lines


def _redaction(header: CaptureHeader) -> str:
    redaction = header.extra.get("redaction") or header.extra.get("redacted")
    if not redaction:
        return "not redacted (project text and audio as recorded)"
    if isinstance(redaction, dict):
        return "redacted: " + ", ".join(f"{k} {v}" for k, v in sorted(redaction.items()))
    return f"redacted: {redaction}"


def _lost(stats: CaptureStats) -> str:
    if not stats.lost_messages and not stats.lost_bytes:
        return "none"
    return (f"{stats.lost_messages} messages, {human_bytes(stats.lost_bytes)} "
            "(the recorder fell behind the wire)")


def _index(data: InfoInput) -> str:
    if data.stats.source == "footer":
        return "from the footer (the records were not read)"
    if data.footer_present:
        return f"scanned {data.stats.records} records (--scan)"
    return f"no footer (the recording did not end cleanly): scanned {data.stats.records} records"


def render_info(data: InfoInput, paint: Paint = plain) -> list[str]:
    """The `info` screen as lines of text."""
    header, stats = data.header, data.stats
    other = ", ".join(f"{name} {n}" for name, n in sorted(stats.by_type.items()) if name != "message")
    lines = [
        _row("file", f"{data.file_name}, {human_bytes(data.file_bytes)} on disk"),
        _row("format", f"{header.format_major}.{header.format_minor}, written by {header.writer} "
                       f"on {header.host_os}"),
        _row("started", header.started_utc),
    ]
    if header.note:
        lines.append(_row("note", header.note))
    lines += [
        _row("dialect", header.dialect),
        _row("time range", _time_range(stats)),
        *_connections(stats),
        _row("protocol", _protocol(data)),
        _row("messages", f"{stats.messages}, {human_bytes(stats.wire_bytes)} on the wire "
                         f"({_direction_totals(stats)})"),
        *_kinds(stats),
        _row("other", other or "none"),
        _row("compression", _compression(data)),
        *_latency(data),
        _row("lost", _lost(stats) if not stats.lost_messages else paint(_lost(stats), "warn")),
        _row("redaction", _redaction(header)),
        _row("index", _index(data)),
    ]
    if data.damage:
        lines.append(_row("damage", paint(f"{len(data.damage)} region(s), {human_bytes(data.damaged_bytes)} "
                                          f"unreadable: {data.damage[0]}", "bad")))
    return lines


def info_as_json(data: InfoInput) -> dict[str, Any]:
    """The same facts as one JSON object (`info --json`)."""
    stats = data.stats
    version, how = version_from_labels(stats, data.header)
    evidence = list(data.version.evidence) if data.version is not None else []
    recorded = recorded_protocol(stats.extra)
    if data.version is not None:
        version, how = data.version.version.value, "scan"
    elif recorded is not None:
        version, how, evidence = recorded.version, "footer", list(recorded.evidence)
    return {
        "file": data.file_name,
        "file_bytes": data.file_bytes,
        "format": [data.header.format_major, data.header.format_minor],
        "writer": data.header.writer,
        "host_os": data.header.host_os,
        "started_utc": data.header.started_utc,
        "note": data.header.note,
        "dialect": data.header.dialect,
        "source": stats.source,
        "footer": data.footer_present,
        "records": stats.records,
        "messages": stats.messages,
        "wire_bytes": stats.wire_bytes,
        "first_ts_ns": stats.first_ts_ns,
        "last_ts_ns": stats.last_ts_ns,
        "protocol": {"version": version, "from": how, "evidence": evidence},
        "connections": [{"conn": c.conn, "first_ts_ns": c.first_ts_ns, "last_ts_ns": c.last_ts_ns,
                         "messages": c.messages, "bytes": {d.label: c.bytes_by_direction[d] for d in Direction}}
                        for c in sorted(stats.connections.values(), key=lambda c: c.conn)],
        "by_kind": {label: {"count": c.count, "bytes": c.bytes} for label, c in sorted(stats.by_label.items())},
        "by_direction": {d.label: {"count": c.count, "bytes": c.bytes} for d, c in stats.by_direction.items()},
        "by_type": dict(sorted(stats.by_type.items())),
        "latency": None if data.latency is None else {e.kind: e.as_dict() for e in data.latency},
        "lost": {"messages": stats.lost_messages, "bytes": stats.lost_bytes},
        "redaction": data.header.extra.get("redaction") or data.header.extra.get("redacted"),
        "damage": data.damage,
    }

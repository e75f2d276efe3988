"""The start of every capture: the RFC 9277 label, then the header map."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cbor2

from utauproxy.capture.layout import FORMAT_MAJOR, FORMAT_MINOR, LABEL
from utauproxy.capture.limits import ReadLimits
from utauproxy.capture.migrate import Migration, MigrationChain, Version, upgrade_header
from utauproxy.capture.safecbor import Truncated, load_item
from utauproxy.capture.values import plain_map, plain_text, plain_value
from utauproxy.errors import CaptureCorrupt
from utauproxy.records import CaptureHeader

FIRST_READ = 64 << 10


def encode_preamble(header: CaptureHeader, version: Version = (FORMAT_MAJOR, FORMAT_MINOR)) -> bytes:
    """Label and header item. The version written is the writer's own, not header's fields.
    Raises TypeError/ValueError for values the format cannot hold."""
    discovery = plain_value(list(header.discovery))
    if not all(isinstance(entry, dict) for entry in discovery):
        raise TypeError("header.discovery must be a list of maps")
    fields = {
        "format_major": version[0],
        "format_minor": version[1],
        "writer": _text(header.writer),
        "started_utc": _text(header.started_utc),
        "host_os": _text(header.host_os),
        "dialect": _text(header.dialect),
        "discovery": discovery,
        "note": _text(header.note),
        "extra": plain_map(header.extra),
    }
    return LABEL + cbor2.dumps(fields)


def _text(value: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"header fields must be str, not {type(value).__name__}")
    return plain_text(value)


@dataclass(frozen=True, slots=True)
class Preamble:
    header: CaptureHeader  # format_major/minor are the file's own version
    end: int  # offset of the first item after the header
    steps: tuple[Migration, ...]  # what the file's records need to reach the reader's version


def read_preamble(
    read_at: Callable[[int, int], bytes], limits: ReadLimits, chain: MigrationChain
) -> Preamble:
    """Read and check label and header. Raises CaptureFormatTooNew for a newer major and
    CaptureCorrupt (or CaptureLimitExceeded) for anything that is not a readable capture."""
    data = read_at(0, FIRST_READ)
    if not data:
        raise CaptureCorrupt("empty file, not a capture")
    if not data.startswith(LABEL):
        if LABEL.startswith(data):
            raise CaptureCorrupt("file ends inside the capture label")
        raise CaptureCorrupt("not a utauproxy capture (no capture label)")
    while True:
        try:
            value, end = load_item(data, len(LABEL), max_bytes=limits.max_item_bytes, max_depth=limits.max_depth)
            break
        except Truncated as need:
            more = read_at(0, max(need.needed, 2 * len(data)))
            if len(more) <= len(data):
                raise CaptureCorrupt("file ends inside the capture header") from None
            data = more
    header, steps = _header(value, chain)
    return Preamble(header, end, steps)


def _header(value: Any, chain: MigrationChain) -> tuple[CaptureHeader, tuple[Migration, ...]]:
    if not isinstance(value, dict):
        raise CaptureCorrupt("the capture header is not a map")
    major, minor = _count(value.get("format_major")), _count(value.get("format_minor"))
    if major is None or minor is None:
        raise CaptureCorrupt("the capture header has no format version")
    steps = chain.plan((major, minor))
    try:
        value = upgrade_header(steps, dict(value))
    except Exception as exc:  # noqa: BLE001 - a step failing on a stranger's header is damage
        raise CaptureCorrupt(f"cannot migrate the header: {exc}") from None
    header = CaptureHeader(
        format_major=major,
        format_minor=minor,
        writer=_field(value, "writer", str, ""),
        started_utc=_field(value, "started_utc", str, ""),
        host_os=_field(value, "host_os", str, ""),
        dialect=_field(value, "dialect", str, ""),
        discovery=_field(value, "discovery", list, []),
        note=_field(value, "note", str, ""),
        extra=_field(value, "extra", dict, {}),
    )
    if not all(isinstance(entry, dict) for entry in header.discovery):
        raise CaptureCorrupt("header field 'discovery' must be a list of maps")
    return header, steps


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _field(value: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    item = value.get(key, default)
    if not isinstance(item, kind):
        raise CaptureCorrupt(f"header field {key!r} must be {kind.__name__}")
    return item


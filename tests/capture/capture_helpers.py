"""Shared helpers of the capture tests: headers, writing to memory, reading back, crafting
items by hand from docs/capture-format.md (so the document is tested too)."""

from __future__ import annotations

import importlib.util
import io
import random
import sys
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any

import cbor2
import zstandard

from utauproxy.capture import CaptureReader, CaptureWriter
from utauproxy.capture.layout import LABEL
from utauproxy.records import CaptureHeader, Direction, MessageRecord, Record

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"


def header(**changes: Any) -> CaptureHeader:
    fields: dict[str, Any] = {
        "format_major": 1,
        "format_minor": 0,
        "writer": "utauproxy test",
        "started_utc": "2025-01-01T00:00:00Z",
        "host_os": "linux",
        "dialect": "line",
    }
    fields.update(changes)
    return CaptureHeader(**fields)


class KeptBytesIO(io.BytesIO):
    """An in-memory file that keeps its bytes after the writer closes it."""

    value = b""

    def close(self) -> None:
        if not self.closed:
            self.value = self.getvalue()
        super().close()


def write_bytes(records: list[Record], **opts: Any) -> bytes:
    """A whole capture of `records`, cleanly closed, as bytes."""
    file = KeptBytesIO()
    with CaptureWriter(file, header(), **opts) as writer:
        for record in records:
            writer.write(record)
    return file.value


def read_bytes(data: bytes, **opts: Any) -> tuple[list[Record], CaptureReader]:
    reader = CaptureReader(io.BytesIO(data), **opts)
    return list(reader.records()), reader


def yaml_project(size: int, seed: int) -> bytearray:
    """Deterministic USTX-like YAML of about `size` bytes, varied enough that zstd alone
    only gets it to roughly a quarter."""
    rng = random.Random(seed)
    lines = ["name: Project\\nbpm: 120\\nvoice_parts:\\n- name: Part\\n  notes:\\n"]
    total = len(lines[0])
    position = 0
    while total < size:
        position += rng.choice((120, 240, 480))
        lyric = rng.choice(("la", "ra", "ka", "sa", "a", "i", "u", "e", "o")) + str(rng.randrange(100))
        points = ", ".join(f"{{x: {rng.randrange(-80, 80)}, y: {rng.randrange(-50, 50)}}}" for _ in range(3))
        line = (
            f"  - position: {position}\\n    duration: {rng.choice((120, 240, 480))}\\n"
            f"    tone: {rng.randrange(48, 84)}\\n    lyric: {lyric}\\n    pitch: [{points}]\\n"
        )
        lines.append(line)
        total += len(line)
    return bytearray("".join(lines).encode())


def update_ustx(project: bytes | bytearray) -> bytes:
    return b'notification:updateUstx {"ustx":"' + bytes(project) + b'"}'


def message(ts: int, raw: bytes, direction: Direction = Direction.OU_TO_PLUGIN, conn: int = 1) -> MessageRecord:
    return MessageRecord(ts, conn, direction, raw)


# --- crafting items by hand, following docs/capture-format.md -----------------------------------


def craft_header(fields: dict[str, Any] | None = None) -> bytes:
    value = {"format_major": 1, "format_minor": 0, "writer": "crafted"}
    value.update(fields or {})
    return LABEL + cbor2.dumps(value)


def craft_chunk(
    records: bytes,
    *,
    seq: int = 0,
    count: int = 1,
    codec: int = 1,
    raw_len: int | None = None,
    payload: bytes | None = None,
    meta_extra: list[Any] | None = None,
) -> bytes:
    """A chunk item with a correct CRC, whatever (possibly hostile) content it declares."""
    if payload is None:
        payload = zstandard.ZstdCompressor(level=3).compress(records) if codec == 1 else records
    meta = [seq, 0, 0, count, codec, len(records) if raw_len is None else raw_len, *(meta_extra or [])]
    tail = cbor2.dumps(meta) + cbor2.dumps(payload)  # cbor2 encodes bytes as a byte string
    head = bytes.fromhex("da55545043") + b"\x83\x1a"
    crc = zlib.crc32(head + tail)
    return head + crc.to_bytes(4, "big") + tail


def records_cbor(*arrays: list[Any]) -> bytes:
    return b"".join(cbor2.dumps(array) for array in arrays)


def load_golden_script() -> ModuleType:
    """scripts/make_golden_captures.py, imported as a module."""
    name = "make_golden_captures"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "make_golden_captures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module

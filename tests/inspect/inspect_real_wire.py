"""The real P6 transcript (tests/data/real-wire/p6-linux) as capture records, framed the way
the recorder's tap frames them (a framer per direction, stamped at each TCP read)."""

from __future__ import annotations

import json
from pathlib import Path

from utauproxy.protocol import Dialect, Framer
from utauproxy.proxy.tap import event_to_record
from utauproxy.records import Direction, Record

REAL_WIRE = Path(__file__).resolve().parents[1] / "data" / "real-wire" / "p6-linux"
_DIRECTIONS = {"ou-to-plugin": Direction.OU_TO_PLUGIN, "plugin-to-ou": Direction.PLUGIN_TO_OU}


def real_stream(name: str) -> bytes:
    return (REAL_WIRE / f"{name}.bin").read_bytes()


def real_wire_records() -> list[Record]:
    streams = {name: real_stream(name) for name in _DIRECTIONS}
    framers = {name: Framer(Dialect.AUTO, validate=False) for name in _DIRECTIONS}
    records: list[Record] = []
    for text in (REAL_WIRE / "chunks.jsonl").read_text().splitlines():
        read = json.loads(text)
        name = read["dir"]
        framers[name].receive_data(streams[name][read["off"] : read["off"] + read["len"]])
        for event in framers[name]:
            record = event_to_record(event, read["t_ns"], 1, _DIRECTIONS[name])
            if record is not None:
                records.append(record)
    return records

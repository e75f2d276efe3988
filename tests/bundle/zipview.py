"""Looking inside a bundle the way a maintainer (or a leak) would: every member, the capture's
records decompressed."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utauproxy.capture import CaptureReader
from utauproxy.records import CaptureHeader, MessageRecord, Record


@dataclass
class Opened:
    names: list[str]
    readme: str
    environment: dict[str, Any]
    capture: Path
    header: CaptureHeader
    records: list[Record]
    footer_extra: dict[str, Any]

    def capture_bytes(self) -> bytes:
        """Everything the capture says, decompressed: the header, every record (message bytes
        as they are, other records as their fields), the footer's extra."""
        parts = [repr(self.header).encode(), json.dumps(self.header.extra, ensure_ascii=False).encode(),
                 json.dumps(self.footer_extra, ensure_ascii=False).encode()]
        for record in self.records:
            parts.append(record.raw if isinstance(record, MessageRecord) else repr(record).encode())
        return b"\n".join(parts)

    def text_bytes(self) -> bytes:
        return self.readme.encode() + b"\n" + json.dumps(self.environment, ensure_ascii=False).encode()


def open_bundle(path: Path, work: Path) -> Opened:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        readme = archive.read("README.txt").decode("utf-8")
        environment = json.loads(archive.read("environment.json"))
        capture = work / "from-zip.utpcap"
        capture.write_bytes(archive.read("capture.utpcap"))
        assert archive.getinfo("capture.utpcap").compress_type == zipfile.ZIP_STORED
    with CaptureReader.open(capture) as reader:
        records = list(reader.records())
        assert reader.damage == []
        footer_extra = dict(reader.footer.extra) if reader.footer else {}
        header = reader.header
    return Opened(names, readme, environment, capture, header, records, footer_extra)

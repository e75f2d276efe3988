"""The capture file format v1 (`.utpcap`): writer, streaming reader, footer, migrations.

docs/capture-format.md is the normative description of the bytes.
"""

from utauproxy.capture.footer import ChunkEntry, ConnectionSummary, Footer, Tally
from utauproxy.capture.layout import EXTENSION, FORMAT_MAJOR, FORMAT_MINOR
from utauproxy.capture.limits import DEFAULT_LIMITS, ReadLimits
from utauproxy.capture.migrate import MIGRATIONS, Migration, MigrationChain
from utauproxy.capture.reader import CaptureReader, Damage, read_records
from utauproxy.capture.writer import CaptureWriter

__all__ = [
    "DEFAULT_LIMITS",
    "EXTENSION",
    "FORMAT_MAJOR",
    "FORMAT_MINOR",
    "MIGRATIONS",
    "CaptureReader",
    "CaptureWriter",
    "ChunkEntry",
    "ConnectionSummary",
    "Damage",
    "Footer",
    "Migration",
    "MigrationChain",
    "ReadLimits",
    "Tally",
    "read_records",
]

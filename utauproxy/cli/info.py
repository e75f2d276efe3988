"""`utauproxy info`: one screen about a capture, from its footer alone; a scan only when the
file has no footer (it says so) or when asked (`--scan`, for latency and the exact version)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from utauproxy.capture import CaptureReader
from utauproxy.cli.reading import (
    footer_records,
    terminal_paint,
    use_colour,
    with_progress,
)
from utauproxy.inspect.decode import decode_records, dialect_of
from utauproxy.inspect.info import InfoInput, info_as_json, render_info
from utauproxy.inspect.latency import latency_from_extra
from utauproxy.inspect.stats import StatsScanner, stats_from_footer


def read_info(path: Path, *, scan: bool = False) -> InfoInput:
    """What `info` shows. Without `scan`, a file with a footer is answered from the footer
    alone: no record is read."""
    file_bytes = path.stat().st_size
    with CaptureReader.open(path) as reader:
        footer = reader.footer
        if footer is not None and not scan:
            stats = stats_from_footer(footer)
            return InfoInput(path.name, file_bytes, reader.header, stats, True,
                             latency=latency_from_extra(footer.extra))
        scanner = StatsScanner()
        records = with_progress(reader.records(), footer_records(reader), "scanning")
        for item in decode_records(records, dialect_of(reader.header)):
            scanner.add(item)
        damage = [d.reason for d in reader.damage]
        damaged = sum(d.length for d in reader.damage)
        if footer is not None:
            scanner.stats.extra = dict(footer.extra)
        return InfoInput(path.name, file_bytes, reader.header, scanner.stats, footer is not None,
                         latency=scanner.latency.per_kind(), version=scanner.version,
                         damage=damage, damaged_bytes=damaged)


@click.command("info", help="Summarise a capture on one screen: time range, connections, "
               "protocol version, counts and bytes by kind, compression, request latency, "
               "redaction. Reads only the footer; a file without one (an interrupted "
               "recording) is scanned, and the output says so.")
@click.argument("capture", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--scan", is_flag=True,
              help="Read every record: request latency p50/p99 per kind, the exact protocol "
                   "version, and damaged regions.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
@click.option("--color/--no-color", "colour", default=None,
              help="Force colour on or off (default: on a terminal, unless NO_COLOR is set).")
def info(capture: Path, scan: bool, as_json: bool, colour: bool | None) -> None:
    data = read_info(capture, scan=scan)
    if as_json:
        click.echo(json.dumps(info_as_json(data), ensure_ascii=False))
        return
    paint = terminal_paint(use_colour(sys.stdout, colour))
    for line in render_info(data, paint):
        click.echo(line)

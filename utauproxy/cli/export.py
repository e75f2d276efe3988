"""`utauproxy export`: a capture in formats other tools read: JSON lines, a HAR-like
document, or the raw byte stream of each direction of each connection."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any

import click

from utauproxy.capture import CaptureReader
from utauproxy.cli.show import footer_records, warn_damage, with_progress
from utauproxy.inspect.decode import decode_records, dialect_of
from utauproxy.inspect.export import HarBuilder, jsonl_row, raw_pieces
from utauproxy.inspect.timeline import Timeline
from utauproxy.records import GapRecord


def _open_output(output: Path | None, force: bool) -> IO[str]:
    if output is None:
        return sys.stdout
    if output.exists() and not force:
        raise click.BadParameter(f"{output} exists (use --force to overwrite)", param_hint="-o/--output")
    return output.open("w", encoding="utf-8")


def _write_jsonl(records: Any, header: Any, out: IO[str], with_raw: bool) -> None:
    timeline = Timeline(dialect_of(header))
    for line in timeline.lines(decode_records(records, dialect_of(header))):
        out.write(json.dumps(jsonl_row(line, with_raw=with_raw), ensure_ascii=False) + "\n")


def _write_har(records: Any, header: Any, out: IO[str], bodies: bool) -> None:
    builder = HarBuilder(header.started_utc, bodies=bodies)
    head = json.dumps(HarBuilder.document_head(), ensure_ascii=False)[:-1]
    out.write('{"log": ' + head + ', "entries": [\n')
    first = True

    def write(entries: list[dict[str, Any]]) -> None:
        nonlocal first
        for entry in entries:
            out.write(("" if first else ",\n") + json.dumps(entry, ensure_ascii=False))
            first = False

    for item in decode_records(records, dialect_of(header)):
        write(builder.add(item))
    write(builder.finish())
    out.write("\n]}}\n")


def _write_raw(records: Any, directory: Path, force: bool) -> tuple[list[str], int]:
    """The streams as files in `directory`, plus `index.jsonl`; returns the stream names and
    the number of messages the recorder reported lost (those bytes are missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    index_path = directory / "index.jsonl"
    if not force and (index_path.exists() or any(directory.glob("conn*.bin"))):
        raise click.BadParameter(f"{directory} already holds an export (use --force to overwrite)",
                                 param_hint="-o/--output")
    lost = 0
    streams: dict[str, IO[bytes]] = {}

    def counted(source: Any) -> Any:
        nonlocal lost
        for record in source:
            if isinstance(record, GapRecord):
                lost += record.lost_messages
            yield record

    try:
        with index_path.open("w", encoding="utf-8") as index:
            for name, data, row in raw_pieces(counted(records)):
                if name not in streams:
                    streams[name] = (directory / f"{name}.bin").open("wb")
                streams[name].write(data)
                index.write(json.dumps({**row, "file": f"{name}.bin"}) + "\n")
    finally:
        for stream in streams.values():
            stream.close()
    return sorted(streams), lost


@click.command("export", help="Write a capture for other tools. jsonl: one JSON object per "
               "record (parsed payloads; exact bytes as base64 where a line is not valid). "
               "har-like: a HAR 1.2-shaped document, one entry per request with its response and "
               "latency, and per notification. raw: each direction of each connection as its "
               "exact byte stream (conn1.ou-to-plugin.bin ...) plus index.jsonl with the time "
               "and offset of every message, so the original streams can be rebuilt.")
@click.argument("capture", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "har-like", "raw"]), required=True,
              help="Output format.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Output file (jsonl, har-like; default: stdout) or folder (raw; default: "
                   "CAPTURE's name with .raw).")
@click.option("--with-raw", is_flag=True, help="jsonl: add every line's exact bytes (base64).")
@click.option("--no-bodies", is_flag=True, help="har-like: leave payload texts out (sizes stay).")
@click.option("--force", is_flag=True, help="Overwrite an existing output.")
def export(capture: Path, fmt: str, output: Path | None, with_raw: bool, no_bodies: bool,
           force: bool) -> None:
    with CaptureReader.open(capture) as reader:
        header = reader.header
        records: Any = with_progress(reader.records(), footer_records(reader), "exporting")
        if fmt == "raw":
            directory = output if output is not None else capture.with_suffix(".raw")
            names, lost = _write_raw(records, directory, force)
            click.echo(f"{len(names)} streams in {directory}: " + ", ".join(f"{n}.bin" for n in names), err=True)
            if lost:
                click.echo(f"warning: the recorder lost {lost} messages: those bytes are missing "
                           "from the streams", err=True)
        else:
            out = _open_output(output, force)
            try:
                if fmt == "jsonl":
                    _write_jsonl(records, header, out, with_raw)
                else:
                    _write_har(records, header, out, not no_bodies)
            finally:
                if output is not None:
                    out.close()
        warn_damage(reader)


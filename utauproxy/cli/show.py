"""`utauproxy show`: a readable timeline of a capture, one line per message (also `--json`,
`--raw` bytes, and `--follow` while `record` is still writing it).

The small helpers the reading commands share (colour, progress, the damage warning) live in
cli/reading.py and are re-exported here for the commands and tests that import them from show.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import click

from utauproxy.capture import CaptureReader
from utauproxy.cli.reading import (
    footer_records,
    terminal_paint,
    use_colour,
    warn_damage,
    with_progress,
)
from utauproxy.inspect.ahead import with_audio_ahead
from utauproxy.inspect.decode import decode_records, dialect_of
from utauproxy.inspect.filters import DIRECTION_NAMES, LineFilter
from utauproxy.inspect.fmt import plain
from utauproxy.inspect.memtune import keep_freed_heap
from utauproxy.inspect.timeline import Timeline, raw_bytes
from utauproxy.records import Record

__all__ = ["LAZY_ABOVE", "follow_records", "footer_records", "show", "terminal_paint", "use_colour",
           "warn_damage", "with_progress"]

_DEFAULT_POLL_S = 0.5
# Lines above this are validated only when shown, so filters skip big payloads cheaply (a
# big line that turns out malformed is then typed "malformed" on display, not by --kind).
LAZY_ABOVE = 1 << 20


# -- follow ----------------------------------------------------------------------------------


def follow_records(path: Path, poll_s: float = _DEFAULT_POLL_S) -> Iterator[Record]:
    """Every record of a capture that is still being written, as it appears, until the
    recorder closes it (writes the footer)."""
    with CaptureReader.open(path) as reader:
        yield from reader.follow(poll_s=poll_s)
        warn_damage(reader)


# -- the command -----------------------------------------------------------------------------


def _records(path: Path, follow: bool, poll_s: float, audio_ahead: bool) -> tuple[Any, Iterator[Record]]:
    if follow:
        with CaptureReader.open(path) as reader:
            header = reader.header
        return header, follow_records(path, poll_s)
    reader = CaptureReader.open(path)

    def records() -> Iterator[Record]:
        with reader:
            yield from with_audio_ahead(reader.records()) if audio_ahead else reader.records()
            warn_damage(reader)

    return reader.header, records()


@click.command("show", help="Print a capture as a timeline, one line per message: time since "
               "the capture started, connection, direction (→ OpenUtau to plugin, ← plugin to "
               "OpenUtau), kind, request id, size, and a payload summary.")
@click.argument("capture", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-k", "--kind", "kinds", multiple=True, metavar="KIND",
              help="Only lines of this kind; repeat for several. A kind (updateAudio, init), a type "
                   "(request, response, notification, malformed, conn, discovery, mark, gap) or "
                   "both (response:init).")
@click.option("-d", "--direction", type=click.Choice(DIRECTION_NAMES, case_sensitive=False),
              help="Only messages sent this way: to-plugin (OpenUtau to plugin) or to-ou.")
@click.option("-c", "--conn", "conns", type=int, multiple=True, metavar="N",
              help="Only connection N; repeat for several.")
@click.option("--since", type=float, metavar="SECONDS",
              help="Only records at least this many seconds after the capture started.")
@click.option("--until", type=float, metavar="SECONDS",
              help="Only records at most this many seconds after the capture started.")
@click.option("--raw", is_flag=True,
              help="Write the exact bytes of the selected messages as they crossed the wire.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (for jq).")
@click.option("-f", "--follow", is_flag=True,
              help="Keep printing while `utauproxy record` writes the capture (like tail -f); "
                   "ends when the recorder closes it, or with Ctrl-C.")
@click.option("--poll", "poll_s", type=click.FloatRange(min=0.01), default=_DEFAULT_POLL_S,
              show_default=True, help="With --follow: seconds between looks at the file.")
@click.option("--color/--no-color", "colour", default=None,
              help="Force colour on or off (default: on a terminal, unless NO_COLOR is set).")
def show(capture: Path, kinds: tuple[str, ...], direction: str | None, conns: tuple[int, ...],
         since: float | None, until: float | None, raw: bool, as_json: bool, follow: bool,
         poll_s: float, colour: bool | None) -> None:
    keep_freed_heap()
    if raw and as_json:
        raise click.UsageError("--raw and --json are exclusive")
    line_filter = LineFilter.build(kinds, direction, conns, since, until)
    # Every audio line is summarised (and its audio verified) only when nothing is filtered.
    audio_ahead = not raw and line_filter == LineFilter()
    header, records = _records(capture, follow, poll_s, audio_ahead)
    stdout = sys.stdout
    paint = plain if raw or as_json else terminal_paint(use_colour(stdout, colour))
    timeline = Timeline(dialect_of(header), paint)
    items = decode_records(records, dialect_of(header), lazy_above=LAZY_ABOVE)
    selected = (line for line in timeline.lines(items) if line_filter.accepts(line))
    binary = sys.stdout.buffer
    try:
        for line in selected:
            if raw:
                binary.write(raw_bytes(line))
            elif as_json:
                click.echo(json.dumps(timeline.as_json(line), ensure_ascii=False))
            else:
                click.echo(timeline.render(line))
            if follow:
                (binary if raw else stdout).flush()
    except KeyboardInterrupt:
        if not follow:
            raise
    except BrokenPipeError:
        _quiet_broken_pipe()
    finally:
        # Stopped early (`| head`, Ctrl-C): let the reading threads go now, not at exit.
        if isinstance(records, Generator):
            records.close()


def _quiet_broken_pipe() -> None:
    """`show ... | head` closed the pipe: stop quietly, like other Unix tools."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)

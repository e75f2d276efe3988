"""Small helpers the reading commands (show, info, check, export) share: colour, progress
and the damage warning. Kept apart from `show` so that `info` starts without importing the
timeline and its summaries."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import IO, Any

import click

from utauproxy.capture import CaptureReader
from utauproxy.inspect.fmt import Paint, plain
from utauproxy.records import Record

_ROLE_STYLES: dict[str, dict[str, Any]] = {
    "ok": {"fg": "green"},
    "bad": {"fg": "red", "bold": True},
    "warn": {"fg": "yellow"},
    "dim": {"dim": True},
    "kind": {"bold": True},
    "send": {"fg": "cyan"},
    "recv": {"fg": "magenta"},
    "meta": {"fg": "blue"},
}
_PROGRESS_STEP = 1000


def use_colour(stream: IO[Any], force: bool | None = None) -> bool:
    """Colour only on a terminal and only when NO_COLOR is unset (https://no-color.org);
    `force` (--color/--no-color) wins."""
    if force is not None:
        return force
    return stream.isatty() and not os.environ.get("NO_COLOR")


def terminal_paint(enabled: bool) -> Paint:
    """A Paint that styles roles with click.style, or `plain`."""
    if not enabled:
        return plain

    def paint(text: str, role: str) -> str:
        return click.style(text, **_ROLE_STYLES.get(role, {}))

    return paint


def with_progress(records: Iterable[Record], total: int | None, label: str) -> Iterator[Record]:
    """`records`, with a progress bar on stderr when stderr is a terminal and the total is
    known (from the footer)."""
    if total is None or total <= 0 or not sys.stderr.isatty():
        yield from records
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        pending = 0
        for record in records:
            pending += 1
            if pending == _PROGRESS_STEP:
                bar.update(pending)
                pending = 0
            yield record
        bar.update(pending)


def warn_damage(reader: CaptureReader) -> None:
    """Tell the user (on stderr) about regions of the file the reader had to skip."""
    if not reader.damage:
        return
    lost = sum(d.length for d in reader.damage)
    click.echo(f"warning: {len(reader.damage)} damaged region(s), {lost} bytes skipped "
               f"(first: {reader.damage[0].reason})", err=True)


def footer_records(reader: CaptureReader) -> int | None:
    return reader.footer.records if reader.footer is not None else None

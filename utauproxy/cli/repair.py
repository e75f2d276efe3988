"""`utauproxy repair CAPTURE`: rebuild the footer of an interrupted capture and salvage every
readable record around damaged chunks into a new file (the input is never modified).

Exit status: 0 nothing lost (already clean, or only the footer rebuilt), 3 recovered with loss,
1 failure (not a capture, a newer format, the output exists, an I/O error).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from utauproxy.capture.repair import (
    IncompleteTail,
    LostRegion,
    RepairReport,
    repair_capture,
)
from utauproxy.cli import AppContext
from utauproxy.errors import CaptureError
from utauproxy.inspect.fmt import human_bytes, seconds

EXIT_NOTHING_LOST = 0
EXIT_FAILURE = 1
EXIT_LOSS = 3
_PROGRESS_AFTER_S = 1.0
_PROGRESS_EVERY_S = 0.2

_HELP = """Rebuild a capture that was interrupted (no footer: the recorder was killed or the
machine stopped) or damaged (chunks that fail their checksum): every readable record is
written to a new capture with a fresh footer, and the command says what was wrong, what was
salvaged, and what was lost (bytes, regions, and the time spans they fall in). The input is
never modified, and the output is never overwritten. A capture that is already clean is left
alone and nothing is written.

\b
Exit status:
  0  nothing lost: the capture was clean, or only its footer was rebuilt
  3  recovered with loss: records in damaged or cut-off chunks could not be read
  1  failure: not a capture, a newer format, the output exists, or an I/O error
"""


def default_output(capture: Path) -> Path:
    """`<stem>.repaired.utpcap` beside the input."""
    return capture.with_name(f"{capture.stem}.repaired.utpcap")


@click.command("repair", help=_HELP)
@click.argument("capture", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The repaired capture to create (never overwritten); default "
                   "<name>.repaired.utpcap beside CAPTURE.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
@click.pass_context
def repair(ctx: click.Context, capture: Path, output: Path | None, as_json: bool) -> None:
    destination = output if output is not None else default_output(capture)
    app = ctx.find_object(AppContext)
    interactive = app.interactive if app is not None else sys.stderr.isatty()
    line = _ProgressLine(capture.name) if interactive else None
    try:
        report = repair_capture(capture, destination, progress=line)
    except CaptureError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if line is not None:
            line.clear()
    if as_json:
        click.echo(json.dumps(report_as_json(report), ensure_ascii=False))
    else:
        for text in render_report(report):
            click.echo(text)
    sys.exit(EXIT_LOSS if report.lost else EXIT_NOTHING_LOST)


# --- text -------------------------------------------------------------------------------------


def render_report(report: RepairReport) -> list[str]:
    """The human summary: what was wrong, salvaged, lost; where the result is; what next."""
    name = report.source.name
    salvaged = _salvaged(report)
    if report.verdict == "clean":
        return [f"{name}: clean (footer present, no damage): {salvaged}; nothing written"]
    lines = [f"{name}: {'; '.join(_problems(report))}", f"salvaged: {salvaged}"]
    lost = _losses(report)
    if lost:
        regions = len(report.damage) + (report.tail is not None and report.tail.holds_records)
        size = f"{report.lost_bytes} bytes"
        if report.lost_bytes >= 1024:
            size = f"{human_bytes(report.lost_bytes)} ({size})"
        lines.append(f"lost: {size} in {regions} region{'s' if regions != 1 else ''}")
        lines.extend(f"  {text}" for text in lost)
    else:
        lines.append("lost: nothing; only the footer was rebuilt")
    if report.output is not None:
        lines.append(f"repaired capture: {report.output}")
        lines.append(f"next: utauproxy info {_quoted(report.output)}")
    return lines


def _salvaged(report: RepairReport) -> str:
    text = f"{report.records_salvaged} records ({report.messages_salvaged} messages)"
    if report.first_ts_ns is not None and report.last_ts_ns is not None:
        text += f", {seconds(report.first_ts_ns)} s to {seconds(report.last_ts_ns)} s"
    return text


def _problems(report: RepairReport) -> list[str]:
    problems = []
    if not report.had_footer:
        problems.append("no footer (the recording was interrupted, or its footer is damaged)")
    if report.footer_mismatch is not None:
        problems.append(report.footer_mismatch)
    if report.damage:
        count = len(report.damage)
        problems.append(f"{count} damaged region{'s' if count != 1 else ''}")
    if report.tail is not None:
        problems.append(f"the file ends inside {_tail_name(report.tail)}")
    if report.records_dropped:
        problems.append(f"{report.records_dropped} records this utauproxy cannot carry over")
    return problems


def _losses(report: RepairReport) -> list[str]:
    lost = [_region_text(region) for region in report.damage]
    tail = report.tail
    if tail is not None and tail.holds_records:
        lost.append(_tail_text(tail))
    if report.records_dropped:
        lost.append(f"{report.records_dropped} records of kinds or values this utauproxy cannot write")
    return lost


def _region_text(region: LostRegion) -> str:
    end = region.offset + region.length
    return f"bytes {region.offset}-{end} ({region.length} bytes): {region.reason}; {_span(region)}"


def _span(region: LostRegion) -> str:
    after, before = region.after_ts_ns, region.before_ts_ns
    if after is not None and before is not None:
        return f"records between {seconds(after)} s and {seconds(before)} s"
    if after is not None:
        return f"records after {seconds(after)} s"
    if before is not None:
        return f"records before {seconds(before)} s"
    return "time unknown"


def _tail_text(tail: IncompleteTail) -> str:
    text = f"{_tail_name(tail)} the file ends inside: bytes {tail.offset}-{tail.offset + tail.length}"
    if tail.records is not None and tail.first_ts_ns is not None and tail.last_ts_ns is not None:
        text += (f"; by its own (unverified) metadata {tail.records} records from "
                 f"{seconds(tail.first_ts_ns)} s to {seconds(tail.last_ts_ns)} s")
    return text + " (what a killed recorder loses)"


def _tail_name(tail: IncompleteTail) -> str:
    return {"chunk": "a chunk", "footer": "the footer", "trailer": "the trailer"}.get(tail.kind, "an item")


def _quoted(path: Path) -> str:
    text = str(path)
    return text if text and all(c.isalnum() or c in "/._-+:@%" for c in text) else repr(text)


# --- JSON -------------------------------------------------------------------------------------


def report_as_json(report: RepairReport) -> dict[str, Any]:
    tail = report.tail
    return {
        "source": str(report.source),
        "output": str(report.output) if report.output is not None else None,
        "verdict": report.verdict,
        "exit_code": EXIT_LOSS if report.lost else EXIT_NOTHING_LOST,
        "had_footer": report.had_footer,
        "footer_mismatch": report.footer_mismatch,
        "records_salvaged": report.records_salvaged,
        "messages_salvaged": report.messages_salvaged,
        "time_ns": [report.first_ts_ns, report.last_ts_ns] if report.first_ts_ns is not None else None,
        "lost_bytes": report.lost_bytes,
        "records_dropped": report.records_dropped,
        "damage": [
            {"offset": d.offset, "length": d.length, "reason": d.reason,
             "after_ts_ns": d.after_ts_ns, "before_ts_ns": d.before_ts_ns}
            for d in report.damage
        ],
        "incomplete_tail": None if tail is None else {
            "offset": tail.offset, "length": tail.length, "kind": tail.kind, "lost": tail.holds_records,
            "records": tail.records, "first_ts_ns": tail.first_ts_ns, "last_ts_ns": tail.last_ts_ns,
        },
    }


# --- progress ---------------------------------------------------------------------------------


class _ProgressLine:
    """`repairing NAME: 42%` on stderr, once the repair has taken a second, redrawn in place."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._start = time.monotonic()
        self._drawn = 0.0
        self._width = 0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._start < _PROGRESS_AFTER_S or now - self._drawn < _PROGRESS_EVERY_S:
            return
        self._drawn = now
        text = f"repairing {self._name}: {100 * done // max(total, 1):3d}%"
        self._width = max(self._width, len(text))
        click.echo("\r" + text.ljust(self._width), nl=False, err=True)

    def clear(self) -> None:
        if self._width:
            click.echo("\r" + " " * self._width + "\r", nl=False, err=True)

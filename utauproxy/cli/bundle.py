"""`utauproxy bundle CAPTURE`: a redacted, trimmed bug-report .zip (docs/bundle.md).

Exit codes: 0 the bundle was written; 1 it could not be (unreadable capture, output exists,
cannot fit even the last minute in the size limit); 2 usage.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from utauproxy.bundle.build import (
    BundleOptions,
    BundleReport,
    build_bundle,
    load_replay_report,
)
from utauproxy.bundle.durations import (
    DURATION_FORMS,
    SIZE_FORMS,
    format_size,
    parse_duration,
    parse_size,
)
from utauproxy.bundle.trim import TrimSpec
from utauproxy.errors import UtauproxyError
from utauproxy.redact import RULES


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _size(ctx: click.Context, param: click.Parameter, value: str) -> int:
    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _default_output(capture: Path) -> Path:
    # Not named after the capture: the attachment's name shows in the issue, and a capture is
    # often named after the song.
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return capture.parent / f"utauproxy-bundle-{stamp}.zip"


class _Progress:
    """One rewritten line on stderr, only on a terminal."""

    def __init__(self) -> None:
        self.shown = False

    def __call__(self, text: str) -> None:
        click.echo(f"\r\x1b[K{text}", nl=False, err=True)
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            click.echo("\r\x1b[K", nl=False, err=True)


_HELP = (
    "Make a bug-report .zip from a capture, small enough to attach to a GitHub issue. The zip holds "
    "README.txt (versions detected, check findings, a timeline of the last minutes: readable "
    "without installing anything), the capture itself, and environment.json (OS, utauproxy "
    "version, the plugin's discovery entries).\n\n"
    "Redaction is on by default: lyrics, project/track/part/singer names, file paths, user "
    "names and free text become consistent pseudonyms (the same value always gets the same "
    "token, so the capture still replays and diffs), and audio becomes silence of the same "
    "length. The pseudonyms come from a key kept on this machine (the same key for every "
    "bundle you make); the capture header lists which rules ran and how many values each "
    "changed, never the values.\n\n"
    "Trimming keeps part of the capture; each kept connection keeps its opening (open, init) so "
    "the result still replays. When the zip is over --max-size, the oldest records are dropped "
    "until it fits, and the README says so.\n\n"
    "Exit status: 0 written, 1 failed (unreadable capture, output exists, cannot fit), 2 usage."
)


@click.command("bundle", help=_HELP)
@click.argument("capture", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The .zip to write; never overwritten (default: utauproxy-bundle-<UTC time>.zip "
                   "beside the capture).")
@click.option("--last", callback=_duration, metavar="DURATION",
              help=f"Keep only the last DURATION of the capture ({DURATION_FORMS}).")
@click.option("--from", "start", callback=_duration, metavar="TIME",
              help="Keep records from TIME after the capture started (same forms as --last).")
@click.option("--to", "end", callback=_duration, metavar="TIME",
              help="Keep records up to TIME after the capture started (same forms as --last).")
@click.option("--connection", "connections", type=click.IntRange(min=0), multiple=True, metavar="N",
              help="Keep only connection N (as numbered by `utauproxy show`); repeatable.")
@click.option("--until-divergence", "divergence", metavar="REPORT",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Keep everything up to the first divergence of a `utauproxy replay --json` "
                   "report of this capture, plus 2 seconds.")
@click.option("--keep", "keep", multiple=True, type=click.Choice(RULES), metavar="RULE",
              help=f"Do not apply this redaction rule ({', '.join(RULES)}); repeatable.")
@click.option("--keep-audio", is_flag=True, help="Keep the audio as recorded (same as --keep audio).")
@click.option("--no-redact", is_flag=True,
              help="Bundle the capture as recorded, lyrics, names and paths included.")
@click.option("--max-size", "max_size", callback=_size, default="10MB", metavar="SIZE",
              show_default=True, help=f"Size limit of the zip ({SIZE_FORMS}).")
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The redaction key file (default: $UTAUPROXY_REDACTION_KEY, else "
                   "redaction.key in utauproxy's settings folder; created if missing).")
def bundle(capture: Path, output: Path | None, last: float | None, start: float | None,
           end: float | None, connections: tuple[int, ...], divergence: Path | None,
           keep: tuple[str, ...], keep_audio: bool, no_redact: bool, max_size: int,
           key_file: Path | None) -> None:
    if no_redact and (keep or keep_audio):
        raise click.UsageError("--no-redact keeps everything: --keep and --keep-audio make no sense with it")
    if start is not None and end is not None and end < start:
        raise click.UsageError("--to is before --from")
    progress = _Progress() if sys.stderr.isatty() else None
    spec = TrimSpec(last_s=last, start_s=start, end_s=end, connections=frozenset(connections))
    try:
        options = BundleOptions(
            trim=spec,
            divergence_report=load_replay_report(divergence) if divergence is not None else None,
            redact=not no_redact,
            keep=frozenset(keep) | (frozenset({"audio"}) if keep_audio else frozenset()),
            key_path=key_file, max_size=max_size, progress=progress)
        report = build_bundle(capture, output or _default_output(capture), options)
    except UtauproxyError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if progress is not None:
            progress.clear()
    _print_report(report)


def _print_report(report: BundleReport) -> None:
    click.echo(f"wrote {report.output} ({format_size(report.size)})")
    click.echo(f"redacted: {_redaction_summary(report.manifest)}")
    if report.divergence:
        click.echo(report.divergence)
    dropped = report.trim.describe()
    click.echo("dropped: " + ("nothing" if not dropped else dropped[0]))
    for line in dropped[1:]:
        click.echo(f"  {line}")
    if report.size_cap is not None:
        click.echo(f"warning: {report.size_cap.describe()}", err=True)
    findings = f"{report.findings} finding(s)" if report.findings else "no findings"
    click.echo(f"check: {findings}; protocol {report.version}")
    click.echo(f"Attach {report.output.name} to your GitHub issue (drag it into the comment box).")


def _redaction_summary(manifest: dict[str, Any] | None) -> str:
    if manifest is None:
        return "nothing (--no-redact): the zip holds your project as it is"
    rules = manifest.get("rules", {})
    parts = [f"{rule} {facts.get('changed', 0)}" if facts.get("applied") else f"{rule} kept"
             for rule, facts in rules.items() if isinstance(facts, dict)]
    return ", ".join(parts) + f" (key id {manifest.get('key_id', '?')})"

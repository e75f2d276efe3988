"""`utauproxy check`: conformance of a capture against PROTOCOL.md. Exit 0 when clean, 1 when
there are findings (or the capture cannot be read)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import click

from utauproxy.capture import CaptureReader
from utauproxy.check import (
    ALL_RULES,
    FAMILIES,
    CheckOptions,
    CheckReport,
    check_records,
)
from utauproxy.check.context import DEFAULT_END_GRACE_S, DEFAULT_PING_INTERVAL_S
from utauproxy.cli.reading import (
    footer_records,
    terminal_paint,
    use_colour,
    warn_damage,
    with_progress,
)
from utauproxy.inspect.ahead import with_audio_ahead
from utauproxy.inspect.fmt import Paint
from utauproxy.inspect.memtune import keep_freed_heap
from utauproxy.inspect.recorded_protocol import recorded_protocol
from utauproxy.protocol.versions import ProtocolVersion
from utauproxy.redact.compare import audio_silenced

_VERSIONS = tuple(v.value for v in ProtocolVersion if v is not ProtocolVersion.UNKNOWN)


def _declared_ping_interval(extra: dict[str, Any]) -> float:
    """A simulated session that runs faster than real time says so in its header."""
    value = extra.get("ping_interval_s")
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return DEFAULT_PING_INTERVAL_S


def _recorded_version(reader: CaptureReader) -> ProtocolVersion | None:
    """For a capture whose audio redaction silenced (hashes no longer match the samples, so
    detection would say P5), the version the recorder or bundle detected before, from the footer."""
    if not audio_silenced(reader.header) or reader.footer is None:
        return None
    recorded = recorded_protocol(reader.footer.extra)
    if recorded is None:
        return None
    try:
        version = ProtocolVersion(recorded.version)
    except ValueError:  # a version this release does not know
        return None
    return None if version is ProtocolVersion.UNKNOWN else version


def _summary(report: CheckReport) -> str:
    guess = report.version
    version = guess.version.value if guess.version is not ProtocolVersion.UNKNOWN else "unknown"
    conns = f"{report.connections} connection" + ("" if report.connections == 1 else "s")
    return f"{report.messages} messages on {conns}, protocol {version}"


def _verdict(report: CheckReport, paint: Paint) -> str:
    if not report.findings:
        return paint("clean: no findings", "ok")
    counts = Counter(f.rule for f in report.findings)
    listed = ", ".join(f"{rule} ×{n}" for rule, n in counts.most_common())
    total = len(report.findings)
    return paint(f"{total} finding" + ("" if total == 1 else "s"), "bad") + f" ({listed})"


def _list_rules(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    for family in FAMILIES:
        rules = ", ".join(rule for rule, owner in ALL_RULES.items() if owner == family)
        click.echo(f"{family}: {rules}")
    ctx.exit(0)


def _skip_names(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> frozenset[str]:
    unknown = [name for name in value if name not in ALL_RULES and name not in FAMILIES]
    if unknown:
        raise click.BadParameter(f"unknown rule or family: {', '.join(unknown)} (see --list-rules)")
    return frozenset(value)


@click.command("check", help="Check every message of a capture against PROTOCOL.md: requests "
               "answered exactly once, envelope and payload shapes, audio hashes and lengths, "
               "JSON the real plugin would choke on, ping timing, one protocol version. Each "
               "finding names the record (index, time, connection) and the section it breaks. "
               "Exit status 0 when clean, 1 with findings.")
@click.argument("capture", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--protocol", "version", type=click.Choice(_VERSIONS), default=None,
              help="Check against this protocol version instead of detecting it.")
@click.option("--skip", multiple=True, metavar="RULE", callback=_skip_names,
              help=f"Leave out a rule (e.g. ping-overdue) or a family ({', '.join(FAMILIES)}); repeatable.")
@click.option("--ping-interval", "ping_interval", type=click.FloatRange(min=0.001), default=None,
              metavar="SECONDS",
              help=f"The plugin's ping period; pings are expected every 0.8x to 1.4x of it "
                   f"(default: the capture header's `ping_interval_s`, else {DEFAULT_PING_INTERVAL_S:g}).")
@click.option("--end-grace", "end_grace", type=click.FloatRange(min=0.0), default=DEFAULT_END_GRACE_S,
              show_default=True, metavar="SECONDS",
              help="Requests and missing audio this recent when the capture ends are not reported.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per finding and line (for jq).")
@click.option("--color/--no-color", "colour", default=None,
              help="Force colour on or off (default: on a terminal, unless NO_COLOR is set).")
@click.option("--list-rules", is_flag=True, expose_value=False, is_eager=True, callback=_list_rules,
              help="List the rule ids and families, then exit.")
def check(capture: Path, version: str | None, skip: frozenset[str], ping_interval: float | None,
          end_grace: float, as_json: bool, colour: bool | None) -> None:
    keep_freed_heap()
    with CaptureReader.open(capture) as reader:
        options = CheckOptions(
            version=ProtocolVersion(version) if version else _recorded_version(reader),
            skip=skip,
            ping_interval_s=ping_interval or _declared_ping_interval(reader.header.extra),
            end_grace_s=end_grace,
        )
        records = with_progress(with_audio_ahead(reader.records()), footer_records(reader), "checking")
        report = check_records(records, options, reader.header)
        warn_damage(reader)
        damaged = bool(reader.damage)
    if report.lost_messages:
        click.echo(f"warning: the recorder lost {report.lost_messages} messages (gap records); "
                   "findings about requests and audio near them may be artefacts", err=True)
    if as_json:
        for finding in report.findings:
            click.echo(json.dumps(finding.as_dict(), ensure_ascii=False))
    else:
        paint = terminal_paint(use_colour(sys.stdout, colour))
        click.echo(f"{capture.name}: {_summary(report)}")
        for finding in report.findings:
            click.echo(finding.render())
        click.echo(_verdict(report, paint) if not damaged else
                   "not clean: part of the capture is unreadable, so it could not all be checked; "
                   f"`utauproxy repair {capture}` salvages the readable records into a new file")
    # A capture that could not all be read cannot be called conformant.
    sys.exit(1 if report.findings or damaged else 0)

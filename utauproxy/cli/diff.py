"""`utauproxy diff A B`: what changed on the wire between two captures (docs/diff.md).

Exit status: 0 equivalent (no difference beyond the noise rules), 1 different, 2 usage error
or a file that cannot be read as a capture.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from utauproxy.diff import NOISE_RULES, DiffOptions, diff_captures, parse_no_ignore
from utauproxy.diff.junit import render_junit
from utauproxy.diff.rules import ALL, DEFAULT_MEMORY_BUDGET, DEFAULT_TIME_TOLERANCE_S
from utauproxy.errors import UtauproxyError
from utauproxy.inspect.memtune import keep_freed_heap

EXIT_EQUIVALENT = 0
EXIT_DIFFERENT = 1
EXIT_USAGE = 2


def _list_rules(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    for name, text in NOISE_RULES.items():
        click.echo(f"{name}\n    {text}")
    ctx.exit(EXIT_EQUIVALENT)


def _strict_rules(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> frozenset[str]:
    try:
        return parse_no_ignore(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("diff", help="Compare two captures semantically: messages aligned per connection and "
               "direction by kind and content, responses paired through their requests, request "
               "ids, timing, pings, JSON formatting, compressed audio bytes and hash spellings "
               "treated as noise, USTX compared as a project and audio by its samples. Prints a "
               "summary, then protocol changes and each difference once. Exit status 0 when "
               "equivalent, 1 when different, 2 on a usage error or an unreadable file.")
@click.argument("capture_a", metavar="A", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("capture_b", metavar="B", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--no-ignore", "strict", multiple=True, metavar="RULE", callback=_strict_rules,
              help=f"Switch a noise rule off so what it hides is reported: {', '.join(NOISE_RULES)}, "
                   f"or {ALL}. Repeatable, or comma-separated. See --list-rules.")
@click.option("--ignore-path", "ignore_paths", multiple=True, metavar="PATH",
              help="Also ignore the differences at this exact path and below it, as printed "
                   "(e.g. `tracks[0].volume`, `ustx:voice_parts[0].notes[@480].lyric`, "
                   "`track[1].pan`); `[*]` matches any index. Never matched as a substring. Repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the report as JUnit XML to this file (one failing test case per "
                   "difference), for CI.")
@click.option("--time-tolerance", type=click.FloatRange(min=0.0), default=DEFAULT_TIME_TOLERANCE_S,
              show_default=True, metavar="SECONDS",
              help="With --no-ignore timing or pings: how far times may drift before they differ.")
@click.option("--memory-budget", type=click.IntRange(min=1), default=DEFAULT_MEMORY_BUDGET >> 20,
              show_default=True, metavar="MIB",
              help="Payload bytes held at once while re-reading differing messages.")
@click.option("--examples", type=click.IntRange(min=1), default=3, show_default=True,
              help="Places listed per difference in the JSON report (the text shows the first).")
@click.option("--list-rules", is_flag=True, expose_value=False, is_eager=True, callback=_list_rules,
              help="List the noise rules with what each hides, then exit.")
def diff(capture_a: Path, capture_b: Path, strict: frozenset[str], ignore_paths: tuple[str, ...],
         as_json: bool, junit_file: Path | None, time_tolerance: float, memory_budget: int,
         examples: int) -> None:
    keep_freed_heap()
    options = DiffOptions(strict=strict, ignore_paths=ignore_paths, time_tolerance_s=time_tolerance,
                          memory_budget=memory_budget << 20, examples=examples)
    try:
        report = diff_captures(capture_a, capture_b, options)
    except UtauproxyError as exc:  # unreadable, or redacted in a way that cannot be compared
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if junit_file is not None:
        junit_file.write_text(render_junit(report), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(report.render())
    sys.exit(EXIT_EQUIVALENT if report.equivalent else EXIT_DIFFERENT)

"""`utauproxy replay CAPTURE --as plugin|openutau`.

Exit codes: 0 the peer behaved as recorded; 1 it diverged (or the capture is unreadable);
2 usage; 3 the peer was unreachable or the connection was lost.
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import click

from utauproxy.errors import UtauproxyError
from utauproxy.replay.options import ReplayOptions
from utauproxy.replay.render import render_human, render_json, render_junit
from utauproxy.replay.report import EXIT_DIVERGED, EXIT_USAGE
from utauproxy.replay.rules import RULES, parse_rules
from utauproxy.replay.run import Role, run_replay
from utauproxy.replay.schedule import Pace, parse_speed

_RULE_HELP = "; ".join(f"{name}: {text}" for name, text in RULES.items())


@click.command(name="replay")
@click.argument("capture", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "role", type=click.Choice(["plugin", "openutau"]), required=True,
              help="Whom to impersonate: the plugin (OpenUtau connects to us) or OpenUtau "
                   "(we connect to the plugin).")
@click.option("--dir", "discovery_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Discovery folder (default: OpenUtau's, <temp>/OpenUtau/PluginServers).")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="--as openutau: connect to this plugin port instead of using discovery.")
@click.option("--name", default=None,
              help="--as plugin: entry name to publish (default: the recorded plugin's name + ' (replay)').")
@click.option("--speed", default="1", show_default=True,
              help="Pace factor (2 = twice as fast) or 'max' (as fast as causally possible: "
                   "wait only for replies).")
@click.option("--max-gap", type=click.FloatRange(min=0), default=None,
              help="Cap every recorded idle gap at this many seconds (before --speed scaling).")
@click.option("--ignore", "ignore", multiple=True, metavar="RULE",
              help=f"Relax a comparison rule (repeatable, or comma-separated). {_RULE_HELP}")
@click.option("--conn", "connections", type=int, multiple=True,
              help="Replay only this recorded connection id (repeatable; default: all).")
@click.option("--recorded-ids", is_flag=True,
              help="Send the recorded request ids instead of fresh GUIDs.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds without progress before giving up on the peer.")
@click.option("--connect-timeout", type=click.FloatRange(min=0.1), default=120.0, show_default=True,
              help="--as plugin: seconds to wait for OpenUtau to connect.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of text.")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the report as JUnit XML to this file (for CI).")
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Record the replay session itself as a capture (never overwrites).")
def replay(capture: Path, role: Role, discovery_dir: Path | None, port: int | None, name: str | None,
           speed: str, max_gap: float | None, ignore: tuple[str, ...], connections: tuple[int, ...],
           recorded_ids: bool, timeout: float, connect_timeout: float, as_json: bool,
           junit: Path | None, save: Path | None) -> None:
    """Replay CAPTURE as the plugin or as OpenUtau and report where the live peer diverged
    from the recording. Exit 0 identical, 1 diverged, 2 usage, 3 peer unreachable or lost."""
    try:
        rules = parse_rules(ignore)
        pace = Pace(parse_speed(speed), max_gap)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if save is not None and save.exists():
        raise click.UsageError(f"{save} exists; --save never overwrites")
    options = ReplayOptions(pace=pace, rules=rules, discovery_dir=discovery_dir, port=port, name=name,
                            connections=connections, fresh_ids=not recorded_ids, timeout=timeout,
                            connect_timeout=connect_timeout, save=save)
    try:
        report = anyio.run(run_replay, capture, role, options)
    except UtauproxyError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_DIVERGED)
    click.echo(render_json(report) if as_json else render_human(report))
    if junit is not None:
        junit.write_text(render_junit(report), encoding="utf-8")
    sys.exit(report.exit_code)


def main() -> None:
    """Run `replay` on its own (until the lead registers it in the `utauproxy` group)."""
    try:
        replay.main(standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except click.exceptions.Abort:
        sys.exit(EXIT_DIVERGED)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()

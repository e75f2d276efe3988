"""The command line: one click group, a context object, documented exit codes.

Exit codes (every command): 0 success; 1 the command ran and found a problem or failed (message
on stderr, no traceback); 2 usage error (bad option, missing file). Commands that talk to a peer
add 3: the peer was unreachable or the connection was lost.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass

import click

from utauproxy import __version__
from utauproxy.cli.logs import LogFormat, configure_logging
from utauproxy.errors import UtauproxyError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_PEER = 3


@dataclass(frozen=True)
class AppContext:
    log_format: LogFormat
    quiet: bool
    verbose: bool

    @property
    def interactive(self) -> bool:
        """True when a live status line makes sense (a terminal, not quiet)."""
        return sys.stderr.isatty() and not self.quiet


# name -> "module:attribute". A command's module is imported only when that command runs (or
# --help lists it): importing all of them costs every command, `info` included, ~0.4 s.
_COMMANDS = {
    "demo": "utauproxy.cli.demo:demo",
    "record": "utauproxy.cli.record:record",
    "restore": "utauproxy.cli.record:restore_command",
    "replay": "utauproxy.cli.replay:replay",
    "show": "utauproxy.cli.show:show",
    "info": "utauproxy.cli.info:info",
    "check": "utauproxy.cli.check:check",
    "repair": "utauproxy.cli.repair:repair",
    "export": "utauproxy.cli.export:export",
    "diff": "utauproxy.cli.diff:diff",
    "bundle": "utauproxy.cli.bundle:bundle",
    "sim": "utauproxy.cli.sim:sim",
}


# Commands that read a capture and never log: they skip configuring structlog (importing it
# is most of `info`'s start-up). A command that starts logging must leave this set.
_NOT_LOGGING = frozenset({"info", "show", "check", "diff"})


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, attribute = _COMMANDS[cmd_name].split(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="utauproxy")
@click.option("--log-format", type=click.Choice(["auto", "console", "json"]), default="auto",
              show_default=True, help="Log style: console on a terminal and JSON lines otherwise (auto).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors; no status line.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging (per-connection detail).")
@click.pass_context
def cli(ctx: click.Context, log_format: LogFormat, quiet: bool, verbose: bool) -> None:
    """Record, replay and inspect the link between OpenUtau and its DAW plugin.

    Start with `utauproxy demo` (no OpenUtau or DAW needed), then `utauproxy record`
    while you reproduce a problem.
    """
    if ctx.invoked_subcommand not in _NOT_LOGGING:
        configure_logging(log_format, verbose=verbose, quiet=quiet)
    ctx.obj = AppContext(log_format, quiet, verbose)




def _leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups: task groups wrap what their tasks raise."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def _exit_for_group(group: BaseExceptionGroup[BaseException]) -> None:
    leaves = _leaves(group)
    if all(isinstance(leaf, BrokenPipeError) for leaf in leaves):
        _exit_on_broken_pipe()
    if all(isinstance(leaf, UtauproxyError) for leaf in leaves):
        for leaf in leaves:
            click.echo(f"Error: {leaf}", err=True)
        sys.exit(EXIT_FAILURE)
    raise group


def _exit_on_broken_pipe() -> None:
    """The reader of our output went away (`utauproxy show … | head`): stop quietly."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(EXIT_FAILURE)


def main() -> None:
    """Console entry point: expected failures become a message and an exit code, not a traceback."""
    try:
        cli.main(standalone_mode=False)
    except BrokenPipeError:
        _exit_on_broken_pipe()
    except BaseExceptionGroup as group:
        _exit_for_group(group)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_FAILURE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except UtauproxyError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_FAILURE)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)

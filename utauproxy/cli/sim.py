"""`utauproxy sim plugin` / `utauproxy sim openutau`: the simulated peers from the shell.

Run one side here and the real other side (or the recorder in between) to try things out
without a DAW or without OpenUtau. Each prints one status line per notable event.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import click

from utauproxy.cli import EXIT_FAILURE, EXIT_OK, EXIT_PEER
from utauproxy.peers.entries import default_discovery_dir
from utauproxy.peers.openutau import OpenUtauConfig, OpenUtauResult, run_openutau
from utauproxy.peers.plugin import PluginConfig, PluginHandle, serve_plugin
from utauproxy.peers.rules import RULES
from utauproxy.peers.session import generate_session

_PROTOCOLS = [version.value for version in RULES]
_protocol_option = click.option(
    "--protocol", type=click.Choice(_PROTOCOLS), default="P6", show_default=True,
    help="Protocol version to speak (PROTOCOL.md §4; v1.2 is the new API of §5.1).")
_dir_option = click.option(
    "--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None,
    help=f"Discovery folder [default: {default_discovery_dir()}].")
_seed_option = click.option("--seed", type=int, default=0, show_default=True,
                            help="Seed of everything random: same seed, same bytes.")


def _status_printer() -> Callable[[str], None]:
    start = time.monotonic()

    def emit(text: str) -> None:
        click.echo(f"[{time.monotonic() - start:9.3f}s] {text}")

    return emit


@click.group("sim", help="Simulated OpenUtau and DAW plugin (no OpenUtau or DAW needed).")
def sim() -> None:
    pass


@sim.command("plugin", help="Run a simulated DAW plugin until Ctrl-C (its entry is then removed).")
@_protocol_option
@_dir_option
@click.option("--name", default=None, help="Plugin name in the discovery entry [default: its uuid].")
@click.option("--ping-interval", type=float, default=5.0, show_default=True,
              help="Seconds between pings.")
@_seed_option
@click.option("--jitter", type=float, default=0.05, show_default=True,
              help="Max seconds an S-style answer is delayed (answers come out of order).")
@click.option("--ustx", "ustx_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A USTX file the plugin holds as stored state (answered to init).")
@click.option("--abort-like-real", is_flag=True,
              help="On a line the real plugin would crash on, drop dead like it (RST, stale entry).")
def plugin_command(protocol: str, directory: Path | None, name: str | None, ping_interval: float,
                   seed: int, jitter: float, ustx_file: Path | None, abort_like_real: bool) -> None:
    config = PluginConfig(
        version=protocol, discovery_dir=directory, name=name, ping_interval=ping_interval,
        seed=seed, response_jitter=jitter, abort_like_real=abort_like_real,
        initial_ustx=ustx_file.read_text(encoding="utf-8") if ustx_file else "",
        on_event=_status_printer())
    anyio.run(_run_plugin, config)


async def _run_plugin(config: PluginConfig) -> None:
    async with anyio.create_task_group() as tasks:
        plugin: PluginHandle = await tasks.start(serve_plugin, config)
        tasks.start_soon(_unload_on_signal, plugin)
        await plugin.wait_stopped()
        tasks.cancel_scope.cancel()


async def _unload_on_signal(plugin: PluginHandle) -> None:
    try:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                await plugin.unload()
                return
    except NotImplementedError:  # Windows: Ctrl-C arrives as KeyboardInterrupt instead
        await anyio.sleep_forever()


@sim.command("openutau", help="Run a simulated OpenUtau editing session against a plugin. "
             "Exit 0: the session ran cleanly; 1: it ran with errors; 3: no plugin reachable.")
@_protocol_option
@_dir_option
@click.option("--port", type=int, default=None,
              help="Connect to this port instead of scanning the discovery folder.")
@_seed_option
@click.option("--time-scale", type=float, default=1.0, show_default=True,
              help="Multiply every scenario time and debounce (0.05 = 20x faster).")
@click.option("--edits", type=int, default=12, show_default=True, help="Number of edits to make.")
@click.option("--notes", type=int, default=24, show_default=True, help="Notes in the project.")
@click.option("--audio-seconds", type=float, default=None,
              help="Length of each voice part's audio [default: as long as its notes].")
@click.option("--keep-invalid-entries", is_flag=True,
              help="Do not delete dead discovery entries (real OpenUtau does, §1.4).")
def openutau_command(protocol: str, directory: Path | None, port: int | None, seed: int,
                     time_scale: float, edits: int, notes: int, audio_seconds: float | None,
                     keep_invalid_entries: bool) -> None:
    scenario = generate_session(seed, edits=edits, notes=notes, audio_seconds=audio_seconds)
    config = OpenUtauConfig(
        version=protocol, discovery_dir=directory, port=port, time_scale=time_scale, seed=seed,
        delete_invalid_entries=not keep_invalid_entries, on_event=_status_printer())
    try:
        result = anyio.run(run_openutau, config, scenario)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_FAILURE)
    _print_summary(result)
    if not result.connected:
        sys.exit(EXIT_PEER)
    sys.exit(EXIT_OK if result.initialized and not result.errors else EXIT_FAILURE)


def _print_summary(result: OpenUtauResult) -> None:
    sent = ", ".join(f"{label} x{count}" for label, count in sorted(result.sent.items()))
    received = ", ".join(f"{label} x{count}" for label, count in sorted(result.received.items()))
    click.echo(f"sent {result.sent_bytes} bytes: {sent or 'nothing'}")
    click.echo(f"received {result.received_bytes} bytes: {received or 'nothing'}")
    if result.malformed or result.unhandled:
        click.echo(f"malformed lines: {result.malformed}, unhandled messages: {result.unhandled}")
    for error in result.errors:
        click.echo(f"error: {error}", err=True)

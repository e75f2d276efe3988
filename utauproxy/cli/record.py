"""`utauproxy record` and `utauproxy restore`."""

from __future__ import annotations

import signal
import sys
from datetime import datetime
from pathlib import Path

import anyio
import click
import structlog
from anyio.abc import TaskStatus

from utauproxy.capture.layout import EXTENSION
from utauproxy.cli import AppContext
from utauproxy.discovery.paths import default_discovery_dir, temp_mismatch_warning
from utauproxy.discovery.restore import restore
from utauproxy.proxy.recorder import RecordingState, RecordOptions, run_record
from utauproxy.proxy.status import StatusLine, human_bytes, render_status

DEFAULT_CAPTURE_DIR = Path("captures")
_STATUS_SECONDS = 0.5


def choose_output(output: Path | None, now: datetime | None = None) -> Path:
    """The capture path: `-o FILE` as given (never overwritten), `-o DIR` or the default
    `captures/` folder with a timestamped name (a suffix added rather than overwrite)."""
    if output is not None and not output.is_dir():
        if output.exists() or output.is_symlink():
            raise click.BadParameter(f"{output} already exists; utauproxy never overwrites a capture",
                                     param_hint="-o/--output")
        return output
    folder = output if output is not None else DEFAULT_CAPTURE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stem = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    candidate = folder / f"{stem}{EXTENSION}"
    n = 2
    while candidate.exists() or candidate.is_symlink():
        candidate = folder / f"{stem}-{n}{EXTENSION}"
        n += 1
    return candidate


async def stop_on_signal(stop: anyio.Event, *,
                         task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
    """Ctrl-C or SIGTERM ends the recording cleanly (restore, then footer). Started (and the
    signals caught) before the recorder starts, so that a Ctrl-C while the entries are being
    taken over stops the recording instead of killing it half-way."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        async for signum in signals:
            structlog.get_logger("utauproxy.record").info("stopping", signal=signal.Signals(signum).name)
            stop.set()
            return


async def show_status(state: RecordingState, line: StatusLine) -> None:
    try:
        while True:
            line.show(render_status(state.stats, state.capture_bytes, len(state.entries)))
            await anyio.sleep(_STATUS_SECONDS)
    finally:
        line.clear()


async def record_until_stopped(options: RecordOptions, app: AppContext) -> RecordingState:
    """Run the recorder with the CLI's signal handling and status line around it."""
    line = StatusLine(sys.stderr)
    done: list[RecordingState] = []

    def warn(message: str) -> None:
        line.clear()
        click.echo(f"Warning: {message}", err=True)

    async with anyio.create_task_group() as tg:

        async def recorder(*, task_status: TaskStatus[RecordingState]) -> None:
            done.append(await run_record(options, on_warning=warn, task_status=task_status))
            tg.cancel_scope.cancel()

        signalled = anyio.Event()
        await tg.start(stop_on_signal, signalled)
        state = await tg.start(recorder)
        tg.start_soon(_pass_on, signalled, state.stop)
        if app.interactive:
            tg.start_soon(show_status, state, line)
    return done[0]


async def _pass_on(source: anyio.Event, target: anyio.Event) -> None:
    await source.wait()
    target.set()


def print_summary(state: RecordingState) -> None:
    stats = state.stats
    wire = sum(stats.wire_bytes.values())
    click.echo(f"capture: {state.output}")
    click.echo(f"  {stats.connections_total} connection(s), {stats.total_messages} message(s), "
               f"{human_bytes(wire)} on the wire, {human_bytes(state.capture_bytes)} on disk")
    for label, n in stats.messages.most_common():
        click.echo(f"  {n:6d}  {label}")
    if state.capture.failure:
        click.echo(f"  capture incomplete: {state.capture.failure}", err=True)


@click.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Capture file to create, or a folder for a timestamped one "
                   "(default: ./captures/YYYYMMDD-HHMMSS.utpcap). Never overwrites.")
@click.option("--dir", "discovery_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Discovery folder to take over (default: OpenUtau's, <temp>/OpenUtau/PluginServers).")
@click.option("--note", default="", help="Free text stored in the capture header (what you are reproducing).")
@click.option("--no-watchdog", is_flag=True,
              help="Do not start the helper process that restores discovery files if the recorder is killed.")
@click.pass_obj
def record(app: AppContext, output: Path | None, discovery_dir: Path | None, note: str,
           no_watchdog: bool) -> None:
    """Take over every live plugin entry, forward OpenUtau's connections to the real plugin,
    and record every message to a capture file. Stop with Ctrl-C: the discovery files are put
    back and the capture is closed with its index. If the recorder is killed, a watchdog puts
    the files back; `utauproxy restore` does it by hand."""
    folder = discovery_dir or default_discovery_dir()
    options = RecordOptions(choose_output(output), folder, note=note, watchdog=not no_watchdog)
    mismatch = temp_mismatch_warning() if discovery_dir is None else None
    if mismatch:
        click.echo(f"Warning: {mismatch}", err=True)
    if not app.quiet:
        click.echo(f"recording to {options.output}; discovery folder {folder}; Ctrl-C to stop", err=True)
    state = anyio.run(record_until_stopped, options, app)
    print_summary(state)


@click.command(name="restore")
@click.option("--dir", "discovery_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Discovery folder to repair (default: OpenUtau's, <temp>/OpenUtau/PluginServers).")
@click.option("--force", is_flag=True,
              help="Also restore entries of recorders that still look alive (only when you know none runs).")
@click.pass_obj
def restore_command(app: AppContext, discovery_dir: Path | None, force: bool) -> None:
    """Put back discovery files that a recorder which did not stop cleanly left pointing at itself.
    Never overwrites a file the plugin has rewritten since."""
    folder = discovery_dir or default_discovery_dir()
    actions = restore(folder, force=force)
    if not actions:
        click.echo(f"nothing to restore in {folder}")
    for action in actions:
        click.echo(action.describe())



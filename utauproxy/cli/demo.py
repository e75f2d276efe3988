"""`utauproxy demo`: the whole loop on the simulated peers, in a private discovery folder."""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import anyio
import click
from anyio.abc import TaskStatus

from utauproxy.capture.reader import CaptureReader
from utauproxy.cli import AppContext
from utauproxy.cli.record import choose_output, show_status, stop_on_signal
from utauproxy.peers.openutau import run_openutau
from utauproxy.peers.ou_types import OpenUtauConfig, OpenUtauResult
from utauproxy.peers.plugin import PluginConfig, PluginHandle, serve_plugin
from utauproxy.peers.session import generate_session
from utauproxy.protocol.framer import classify_line
from utauproxy.protocol.version import VersionDetector
from utauproxy.protocol.versions import SIMULATED_VERSIONS, ProtocolVersion
from utauproxy.proxy.recorder import RecordingState, RecordOptions, run_record
from utauproxy.proxy.status import StatusLine, human_bytes
from utauproxy.records import Direction, MessageFlags, MessageRecord


@dataclass(frozen=True)
class DemoOptions:
    output: Path
    version: ProtocolVersion
    edits: int
    time_scale: float
    seed: int


async def run_demo(options: DemoOptions, interactive: bool) -> tuple[RecordingState, OpenUtauResult]:
    """Simulated plugin, then the recorder taking it over, then a simulated OpenUtau session
    through the recorder. Stops the recorder (files restored, footer written) before the plugin."""
    with tempfile.TemporaryDirectory(prefix="utauproxy-demo-") as tmp:
        folder = Path(tmp) / "OpenUtau" / "PluginServers"
        plugin_config = PluginConfig(options.version, folder, name="Demo Vocal",
                                     ping_interval=5.0 * options.time_scale, seed=options.seed)
        async with anyio.create_task_group() as tg:
            plugin: PluginHandle = await tg.start(serve_plugin, plugin_config)
            recorded: list[RecordingState] = []

            async def recorder(*, task_status: TaskStatus[RecordingState]) -> None:
                # check reads the plugin's ping period from here (sped-up pings are not a defect).
                extra = {"ping_interval_s": plugin_config.ping_interval, "simulated": True,
                         "time_scale": options.time_scale}
                record_options = RecordOptions(options.output, folder, note="utauproxy demo",
                                               watchdog=False, header_extra=extra)
                recorded.append(await run_record(record_options, task_status=task_status))

            state = await tg.start(recorder)
            tg.start_soon(stop_on_signal, state.stop)
            with anyio.CancelScope() as status_scope:
                if interactive:
                    tg.start_soon(show_status, state, StatusLine(sys.stderr))
                if plugin.rules.playback_started:
                    tg.start_soon(_press_play, plugin, 8.0 * options.time_scale)
                scenario = generate_session(options.seed, edits=options.edits)
                config = OpenUtauConfig(options.version, folder, time_scale=options.time_scale,
                                        seed=options.seed + 1)
                with anyio.CancelScope() as session_scope:
                    tg.start_soon(_cancel_when_set, state.stop, session_scope)
                    result = await run_openutau(config, scenario)
            state.stop.set()
            while not recorded:
                await anyio.sleep(0.01)
            status_scope.cancel()
            tg.cancel_scope.cancel()
    return recorded[0], result


async def _press_play(plugin: PluginHandle, after: float) -> None:
    """The DAW user presses play once the session is under way (R and v1.2 tell OpenUtau)."""
    while plugin.active is None:
        await anyio.sleep(0.01)
    await anyio.sleep(after)
    await plugin.playback_started()


async def _cancel_when_set(event: anyio.Event, scope: anyio.CancelScope) -> None:
    await event.wait()
    scope.cancel()


def summarize(path: Path) -> list[str]:
    """A short summary of a capture: from its footer, plus the protocol version detected."""
    detector = VersionDetector()
    with CaptureReader.open(path) as reader:
        for record in reader.records():
            if isinstance(record, MessageRecord) and not record.flags & MessageFlags.FRAME:
                detector.observe(record.direction, classify_line(record.raw))
        footer = reader.footer
    guess = detector.result()
    lines = [f"protocol version detected: {guess.version.value}"]
    if footer is not None:
        lines.append(f"{footer.records} records, {human_bytes(footer.wire_bytes)} on the wire, "
                     f"{human_bytes(path.stat().st_size)} on disk "
                     f"({path.stat().st_size / max(footer.wire_bytes, 1):.1%})")
    return lines


@click.command()
@click.option("--protocol", "version", type=click.Choice([v.value for v in SIMULATED_VERSIONS]),
              default=ProtocolVersion.P6.value, show_default=True,
              help="Protocol version the simulated peers speak.")
@click.option("--edits", type=click.IntRange(0, 10_000), default=6, show_default=True,
              help="Number of edits the simulated user makes.")
@click.option("--time-scale", type=click.FloatRange(0.001, 10.0), default=0.1, show_default=True,
              help="Speed of the simulated session: 1.0 is real time, 0.1 ten times faster.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the generated project and edits.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Capture file or folder (default: ./captures/). Never overwrites.")
@click.pass_obj
def demo(app: AppContext, version: str, edits: int, time_scale: float, seed: int,
         output: Path | None) -> None:
    """Run a simulated plugin, `record`, and a simulated OpenUtau editing session through it,
    in a private discovery folder (your real one is not touched). Prints where the capture is
    and what is in it."""
    options = DemoOptions(choose_output(output), ProtocolVersion(version), edits, time_scale, seed)
    if not app.quiet:
        click.echo(f"demo: simulated plugin and OpenUtau ({version}), recording to {options.output}",
                   err=True)
    state, result = anyio.run(run_demo, options, app.interactive)
    click.echo(f"capture: {state.output}")
    click.echo(f"  OpenUtau sent {sum(result.sent.values())} messages and received "
               f"{sum(result.received.values())}; {state.stats.connections_total} connection(s)")
    for label, n in state.stats.messages.most_common():
        click.echo(f"  {n:6d}  {label}")
    for line in summarize(state.output):
        click.echo(f"  {line}")
    click.echo(f"next: utauproxy show {state.output}   (timeline)")
    click.echo(f"      utauproxy check {state.output}  (conformance with the protocol)")
    click.echo(f"      utauproxy replay {state.output} --as openutau   (against `utauproxy sim plugin`)")
    click.echo(f"      utauproxy bundle {state.output}  (a redacted .zip to attach to a bug report)")
    if not result.initialized:
        raise click.ClickException("the simulated OpenUtau could not complete its session")
    wire = state.stats.wire_bytes
    if wire[Direction.OU_TO_PLUGIN] != result.sent_bytes:
        raise click.ClickException("bytes forwarded differ from bytes sent; please report this")

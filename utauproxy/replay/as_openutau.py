"""`replay --as openutau`: impersonate OpenUtau against a real (or simulated) plugin.

Find the plugin through the discovery folder (or `--port`), connect, send the recorded
OpenUtau messages with fresh request ids at the recorded pace, answer the plugin's recorded
pulls (v1.2), and compare what the plugin sends. Only recorded bytes are sent, so nothing
PROTOCOL.md §6 says would crash the plugin goes out unless the capture itself contained it
(and the report then says so). Recorded connections are replayed one after another: the S
plugin serves one client at a time (§3.6.8).
"""

from __future__ import annotations

import anyio

from utauproxy.records import ConnEvent, Direction
from utauproxy.replay.as_plugin import selected_connections
from utauproxy.replay.connection import ConnectionOutcome, ConnectionReplay
from utauproxy.replay.endpoints import discovery_folder, find_plugin
from utauproxy.replay.options import ReplayOptions
from utauproxy.replay.redaction import with_redaction
from utauproxy.replay.report import ReplayReport
from utauproxy.replay.save import SessionLog
from utauproxy.replay.script import ConnectionScript, ReplayScript
from utauproxy.replay.summary import add_outcome, finish_timing

_BETWEEN_CONNECTIONS = 0.2  # lets the plugin notice our close before the next connect


async def replay_as_openutau(script: ReplayScript, options: ReplayOptions, *, capture_name: str) -> ReplayReport:
    """Drive the plugin from `script` and compare its answers."""
    options, redaction_note = with_redaction(options, script.header)
    report = ReplayReport("openutau", capture_name, rules=options.rules.describe())
    if redaction_note is not None:
        report.notes.append(redaction_note)
    port = _plugin_port(options, report)
    if port is None:
        return report
    log = SessionLog.create(options.save, script.header, f"replay --as openutau of {capture_name}")
    lateness: list[float] = []
    try:
        for number, recorded in enumerate(selected_connections(script, options)):
            if number:
                await anyio.sleep(_BETWEEN_CONNECTIONS)
            try:
                stream = await anyio.connect_tcp("127.0.0.1", port)
            except OSError as exc:
                report.peer_error = f"cannot connect to the plugin on 127.0.0.1:{port}: {exc}"
                break
            log.connection(recorded.conn, ConnEvent.OPEN, replay_of=recorded.conn, upstream_port=port)
            replay = ConnectionReplay(recorded, Direction.OU_TO_PLUGIN, options, log, recorded.conn, script.dialect)
            outcome = await replay.run(stream)
            log.connection(recorded.conn, ConnEvent.CLOSED)
            _check_lost(recorded, outcome)
            add_outcome(report, recorded.conn, outcome, lateness)
            if report.peer_error:
                break
    finally:
        log.close()
    finish_timing(report, lateness)
    if options.save is not None:
        report.saved = str(options.save)
    return report


def _plugin_port(options: ReplayOptions, report: ReplayReport) -> int | None:
    if options.port is not None:
        return options.port
    folder = discovery_folder(options.discovery_dir)
    found = find_plugin(folder)
    if found is None:
        report.peer_error = f"no live plugin entry in {folder} (is the DAW running? try --port)"
        return None
    if found.others:
        report.notes.append(f"using {found.file} ({found.name}, port {found.port}); also live: "
                            f"{', '.join(found.others)}; choose with --port")
    return found.port


def _check_lost(recorded: ConnectionScript, outcome: ConnectionOutcome) -> None:
    """The plugin closing on us is a lost connection unless the recording ends that way too."""
    if outcome.lost or not outcome.peer_closed:
        return
    if recorded.ended_by is Direction.PLUGIN_TO_OU:
        return
    waiting = outcome.matcher.outstanding
    if waiting or outcome.unsent:
        what = waiting[0].label if waiting else outcome.unsent[0]
        outcome.lost = f"the plugin closed the connection while {what} was still due"

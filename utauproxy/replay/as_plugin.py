"""`replay --as plugin`: impersonate the plugin for a real (or simulated) OpenUtau.

Bind 127.0.0.1:0, publish a discovery entry named after the recorded plugin and marked
"(replay)" (PROTOCOL.md §6, "a faithful fake plugin"), then serve the recorded connections in
order, one at a time: recorded responses answer the live requests (ids rewritten), pings and
other plugin messages go out on the recorded schedule, and what OpenUtau sends is compared.
"""

from __future__ import annotations

import anyio
from anyio.abc import SocketAttribute, SocketListener, TaskStatus

from utauproxy.records import ConnEvent, Direction
from utauproxy.replay.connection import ConnectionReplay
from utauproxy.replay.endpoints import (
    PublishedEntry,
    discovery_folder,
    other_live_entries,
    publish_entry,
    replay_entry_name,
)
from utauproxy.replay.options import ReplayOptions
from utauproxy.replay.redaction import with_redaction
from utauproxy.replay.report import Divergence, DivergenceKind, ReplayReport
from utauproxy.replay.save import SessionLog
from utauproxy.replay.script import ConnectionScript, ReplayScript
from utauproxy.replay.summary import add_outcome, finish_timing


def selected_connections(script: ReplayScript, options: ReplayOptions) -> list[ConnectionScript]:
    if not options.connections:
        return list(script.connections)
    return [c for c in script.connections if c.conn in options.connections]


async def replay_as_plugin(script: ReplayScript, options: ReplayOptions, *, capture_name: str,
                           task_status: TaskStatus[PublishedEntry] = anyio.TASK_STATUS_IGNORED
                           ) -> ReplayReport:
    """Serve OpenUtau from `script`; reports the published entry through `task_status`
    once the listener is bound and the entry is written."""
    options, redaction_note = with_redaction(options, script.header)
    report = ReplayReport("plugin", capture_name, rules=options.rules.describe())
    if redaction_note is not None:
        report.notes.append(redaction_note)
    folder = discovery_folder(options.discovery_dir)
    log = SessionLog.create(options.save, script.header, f"replay --as plugin of {capture_name}")
    try:
        listeners = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        async with listeners:
            listener = listeners.listeners[0]
            assert isinstance(listener, SocketListener)
            port = int(listener.extra(SocketAttribute.local_port))
            entry = publish_entry(folder, port, replay_entry_name(script.plugin_name, options.name),
                                  script.dialect)
            try:
                task_status.started(entry)
                others = other_live_entries(folder, entry)
                if others:
                    report.notes.append(f"other live entries in {folder}: {', '.join(others)}; "
                                        "OpenUtau may connect to one of them instead (PROTOCOL.md §1.4)")
                await _serve(listener, script, options, log, report)
            finally:
                entry.remove()
    finally:
        log.close()
    if options.save is not None:
        report.saved = str(options.save)
    return report


async def _serve(listener: SocketListener, script: ReplayScript, options: ReplayOptions,
                 log: SessionLog, report: ReplayReport) -> None:
    lateness: list[float] = []
    for recorded in selected_connections(script, options):
        stream = None
        with anyio.move_on_after(options.connect_timeout):
            stream = await listener.accept()
        if stream is None:
            if report.connections == 0:
                report.peer_error = f"OpenUtau did not connect within {options.connect_timeout:g} s"
            else:
                report.divergences.append(Divergence(
                    DivergenceKind.CONNECTION, recorded.conn,
                    note=f"recorded connection {recorded.conn} was never opened"))
            break
        log.connection(recorded.conn, ConnEvent.OPEN, replay_of=recorded.conn)
        replay = ConnectionReplay(recorded, Direction.PLUGIN_TO_OU, options, log, recorded.conn, script.dialect)
        outcome = await replay.run(stream)
        log.connection(recorded.conn, ConnEvent.CLOSED)
        add_outcome(report, recorded.conn, outcome, lateness)
    finish_timing(report, lateness)

"""Captures of long simulated sessions written straight with CaptureWriter, without sockets:
an hour of editing recorded through the real recorder would take too long for a test.

The OpenUtau side is built from the scenario with the simulated peers' own message builders
(peers/ou_messages.py) and a simplified debounce (each edit sends USTX and tracks 1 s later;
each render-done sends the layout 1 s later, then the missing audio); the plugin side is the
simulated plugin's logic (peers/plugin_logic.py) answering those lines. Pings every 5 s.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from random import Random

from utauproxy.capture import FORMAT_MAJOR, FORMAT_MINOR, CaptureWriter
from utauproxy.peers.edits import apply_edit
from utauproxy.peers.ou_messages import (
    LayoutPart,
    audio_notification,
    init_request,
    layout_request,
    tracks_notification,
    ustx_notification,
)
from utauproxy.peers.plugin_logic import PluginLogic, PluginState, Reply
from utauproxy.peers.project import Project
from utauproxy.peers.rules import rules_for
from utauproxy.peers.session import Scenario, StepKind
from utauproxy.peers.ustx import to_ustx
from utauproxy.protocol.audio import encode_audio_payload
from utauproxy.records import (
    CaptureHeader,
    ConnectionRecord,
    ConnEvent,
    Direction,
    DiscoveryEvent,
    DiscoveryRecord,
    MarkRecord,
    MessageRecord,
    Record,
)

NS = 1_000_000_000
HOME = "/home/alice"
PLUGIN_NAME = "Alice Vocal Plugin"
ENTRY_FILE = "3f0c8a4e-5b7d-4c1e-9a2b-6d8e0f1a2b3c.json"
FOLDER = f"{HOME}/tmp/OpenUtau/PluginServers"


def header() -> CaptureHeader:
    entry = {"file": f"{FOLDER}/{ENTRY_FILE}", "name": PLUGIN_NAME, "port": 41234,
             "text": f'{{"port": 41234, "name": "{PLUGIN_NAME}"}}'}
    return CaptureHeader(FORMAT_MAJOR, FORMAT_MINOR, "utauproxy 0.1.0", "2026-11-24T20:00:00Z",
                         "Linux-6.1-x86_64", "line", discovery=[entry],
                         note=f"recorded in {HOME}/songs", extra={"discovery_dir": FOLDER})


class _Session:
    def __init__(self, scenario: Scenario, version: str, seed: int) -> None:
        self.rules = rules_for(version)
        self.plugin = PluginLogic(self.rules, PluginState())
        self.scenario = scenario
        self.rng = Random(seed)
        self.project: Project = scenario.initial
        self.rendered: dict[int, tuple[int, bytes]] = {}
        self.records: list[Record] = []

    def ou(self, at: float, raw: bytes, conn: int = 1) -> None:
        self.records.append(MessageRecord(round(at * NS), conn, Direction.OU_TO_PLUGIN, raw))
        for action in self.plugin.on_line(raw):
            if isinstance(action, Reply):
                reply_at = at + self.rng.uniform(0.001, 0.01)
                self.records.append(MessageRecord(round(reply_at * NS), conn, Direction.PLUGIN_TO_OU,
                                                  action.line))

    def render(self, part: int) -> None:
        samples = self.scenario.render(self.project, part)
        self.rendered[part] = (self.rules.audio_hash(samples), samples)

    def layout(self, at: float) -> None:
        parts = [LayoutPart(self.project.voice_parts[i].track_no, *self.project.part_span_ms(i), h)
                 for i, (h, _) in sorted(self.rendered.items())]
        before = len(self.records)
        self.ou(at, layout_request(self.rules, str(uuid.UUID(int=self.rng.getrandbits(128))), parts))
        replies = [r for r in self.records[before:] if isinstance(r, MessageRecord)
                   and r.direction is Direction.PLUGIN_TO_OU]
        missing = {int(h) for r in replies
                   for h in json.loads(r.raw.split(b" ", 1)[1])["data"]["missingAudios"]}
        audios = [(h, encode_audio_payload(s, self.rules.codec))
                  for h, s in self.rendered.values() if h in missing]
        if audios:
            self.ou(at + 0.05, audio_notification(audios))


def session_records(scenario: Scenario, version: str = "P6", seed: int = 7,
                    mark_at: float | None = None) -> list[Record]:
    """Every record of the scenario as the recorder would have written it, sorted by time."""
    session = _Session(scenario, version, seed)
    records = session.records
    records.append(DiscoveryRecord(NS // 100, DiscoveryEvent.FOUND,
                                   {"file": ENTRY_FILE, "name": PLUGIN_NAME, "upstream_port": 41234}))
    for index in range(len(scenario.initial.voice_parts)):
        session.render(index)
    end = scenario.duration
    for step in scenario.steps:
        at = step.at + 0.2
        if step.kind is StepKind.CONNECT:
            records.append(ConnectionRecord(round(at * NS), 1, ConnEvent.OPEN,
                                            detail={"entry_file": ENTRY_FILE, "entry_name": PLUGIN_NAME}))
            session.ou(at + 0.01, init_request(session.rules, str(uuid.UUID(int=session.rng.getrandbits(128))), ""))
            session.ou(at + 1.0, ustx_notification(session.rules, to_ustx(session.project)))
            session.ou(at + 1.0, tracks_notification(session.rules, session.project))
            session.layout(at + 1.1)
        elif step.kind is StepKind.EDIT and step.edit is not None:
            session.project = apply_edit(session.project, step.edit)
            session.ou(at + 1.0, ustx_notification(session.rules, to_ustx(session.project)))
            session.ou(at + 1.0, tracks_notification(session.rules, session.project))
        elif step.kind is StepKind.RENDER_DONE and step.part is not None:
            session.render(step.part)
            session.layout(at + 1.0)
        elif step.kind is StepKind.DISCONNECT:
            end = at
    ping = 5.0
    while ping < end:
        records.append(MessageRecord(round(ping * NS), 1, Direction.PLUGIN_TO_OU, session.rules.ping_line))
        ping += 5.0
    if mark_at is not None:
        records.append(MarkRecord(round(mark_at * NS), f"bug here, see {HOME}/songs/{PLUGIN_NAME}"))
    records.sort(key=lambda r: r.ts_ns)
    last = records[-1].ts_ns
    records += [ConnectionRecord(last + 1000, 1, ConnEvent.EOF, Direction.OU_TO_PLUGIN),
                ConnectionRecord(last + 2000, 1, ConnEvent.CLOSED)]
    return records


def write_capture(path: Path, records: list[Record], capture_header: CaptureHeader | None = None) -> Path:
    with CaptureWriter.create(path, capture_header or header()) as writer:
        for record in records:
            writer.write(record)
    return path

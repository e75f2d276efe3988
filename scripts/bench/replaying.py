"""Workload (e): `utauproxy replay --as openutau --speed 1` of a recorded session against a fresh
simulated plugin. Two views of timing:

* the replay's own JSON report: how late each send was against the moment it was due;
* drift, seen from outside: the plugin logs when each message arrived (ms resolution), and
  arrival minus recorded time, over the run, must not grow (DESIGN.md §6: schedule against one
  anchor, never by summing sleeps).
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.captures import stretch
from bench.procs import reap, start, stop, utauproxy_cmd, wait_for
from bench.routes import live_entry_port
from utauproxy.capture.reader import CaptureReader
from utauproxy.protocol.header import message_label
from utauproxy.records import Direction, MessageRecord

_ARRIVAL = re.compile(r"^\[\s*([0-9.]+)s\] received (\S+) \(")


@dataclass(frozen=True)
class ReplayRun:
    seconds_recorded: float
    verdict: str
    sends: int
    p50_ms: float
    p99_ms: float
    worst_ms: float
    drift_ms: float | None  # median arrival lateness, last fifth minus first fifth
    arrivals: int


def _recorded_sends(capture: Path) -> list[tuple[float, str]]:
    with CaptureReader.open(capture) as reader:
        return [(r.ts_ns / 1e9, message_label(r.raw)) for r in reader.records()
                if isinstance(r, MessageRecord) and r.direction is Direction.OU_TO_PLUGIN]


def _arrivals(plugin_log: Path) -> list[tuple[float, str]]:
    found = []
    for line in plugin_log.read_text(errors="replace").splitlines():
        if match := _ARRIVAL.match(line):
            found.append((float(match[1]), match[2]))
    return found


def drift_ms(recorded: list[tuple[float, str]], arrived: list[tuple[float, str]]) -> float | None:
    """How much later (ms) messages arrive, relative to the recording, at the end of the run
    than at its start. Pairs are matched in order; they must agree on the message kind."""
    pairs = [(r, a) for (r, rl), (a, al) in zip(recorded, arrived, strict=False) if rl == al]
    if len(pairs) < 20:
        return None
    r0, a0 = pairs[0]
    lateness = [(a - a0) - (r - r0) for r, a in pairs]
    fifth = max(1, len(lateness) // 5)
    return (statistics.median(lateness[-fifth:]) - statistics.median(lateness[:fifth])) * 1e3


def run_replay(source: Path, seconds: float, work: Path) -> ReplayRun:
    folder = work / "replay"
    folder.mkdir()
    capture = folder / "stretched.utpcap"
    stretch(source, capture, seconds)
    plugin_log = folder / "plugin.log"
    plugin = start(utauproxy_cmd("sim", "plugin", "--dir", str(folder / "disco"), "--name", "Vocal",
                                 "--jitter", "0"), plugin_log)
    try:
        wait_for(lambda: live_entry_port(folder / "disco") is not None, 30, "sim plugin", plugin, plugin_log)
        port = live_entry_port(folder / "disco")
        replay = start(utauproxy_cmd("-q", "replay", str(capture), "--as", "openutau", "--port", str(port),
                                     "--speed", "1", "--timeout", "60", "--json"),
                       folder / "replay.log", stdout=subprocess.PIPE)
        assert replay.stdout is not None
        out = replay.stdout.read()
        reap(replay, seconds + 120)
    finally:
        stop(plugin)
    report = json.loads(out)
    timing = report["timing"]
    return ReplayRun(seconds, report["verdict"], timing["count"], timing["p50"] * 1e3, timing["p99"] * 1e3,
                     timing["worst"] * 1e3, drift_ms(_recorded_sends(capture), _arrivals(plugin_log)),
                     len(_arrivals(plugin_log)))

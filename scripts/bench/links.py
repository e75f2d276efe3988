"""Workloads (a) round trips and (b) 64 MiB lines: the same client traffic to the plugin-like
echo server over the three routes, interleaved round by round (the route order rotates each
round), so slow drift of a shared machine lands on every route alike."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.captures import CaptureFacts, inspect_capture
from bench.procs import python_cmd, start
from bench.routes import ROUTES, RecordRoute, RelayCost, Route, make_route
from bench.wire import Traffic, audio_line, round_trips, send_big_line

LINE_BYTES = 64 * 2**20  # workload (b): one updateAudio line this long per round


@dataclass
class RouteRuns:
    """Per route: the samples a workload took, the traffic it sent, what the relay cost."""

    samples: dict[str, list[float]] = field(default_factory=dict)
    traffic: dict[str, Traffic] = field(default_factory=dict)
    relay: dict[str, RelayCost | None] = field(default_factory=dict)
    capture: CaptureFacts | None = None
    largest_message: int = 0

    def capture_complete(self) -> bool:
        record = self.traffic.get("record")
        return self.capture is not None and record is not None and \
            self.capture.complete(record.sent, record.received)


class EchoServer:
    """The plugin-like echo server (bench/echo_server.py) in its own process."""

    def __init__(self, discovery_dir: Path, log: Path) -> None:
        self.discovery_dir = discovery_dir
        self.proc = start(python_cmd("scripts/bench/echo_server.py", "--dir", str(discovery_dir)), log,
                          stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.strip():
            raise RuntimeError(f"the echo server did not start; see {log}")
        self.port = int(line)


def _interleave(echo: EchoServer, work: Path, name: str, socat: str | None, rounds: int,
                one_round: Callable[[int, Route, Traffic], list[float]]) -> RouteRuns:
    runs = RouteRuns()
    routes: dict[str, Route] = {}
    for route_name in ROUTES:
        route = make_route(route_name, echo.port, socat=socat, discovery_dir=echo.discovery_dir,
                           output=work / f"{name}.utpcap", log_dir=work)
        if route is not None:
            routes[route_name] = route.start()
            route.mark()
            runs.samples[route_name] = []
            runs.traffic[route_name] = Traffic()
    try:
        names = list(routes)
        for n in range(rounds):
            for route_name in names[n % len(names):] + names[:n % len(names)]:
                runs.samples[route_name] += one_round(n, routes[route_name], runs.traffic[route_name])
    finally:
        for route_name, route in routes.items():
            runs.relay[route_name] = route.stop()
    recorder = routes.get("record")
    if isinstance(recorder, RecordRoute):
        runs.capture = inspect_capture(recorder.output)
    return runs


def run_round_trips(echo: EchoServer, work: Path, socat: str | None, rounds: int, per_round: int) -> RouteRuns:
    """(a): `rounds` x `per_round` timed round trips (µs) per route, ~300 B each way."""
    def one_round(n: int, route: Route, traffic: Traffic) -> list[float]:
        return [ns / 1e3 for ns in round_trips(route.port, per_round, warmup=50, traffic=traffic)]

    return _interleave(echo, work, "round-trips", socat, rounds, one_round)


def run_big_lines(echo: EchoServer, work: Path, socat: str | None, rounds: int, line_bytes: int) -> RouteRuns:
    """(b): one fresh ~`line_bytes` updateAudio line per route per round; samples are MiB/s."""
    lines: dict[int, bytes] = {}

    def one_round(n: int, route: Route, traffic: Traffic) -> list[float]:
        if n not in lines:
            lines.clear()  # one 64 MiB line in memory at a time
            lines[n] = audio_line(line_bytes)
        line = lines[n]
        return [len(line) / 2**20 / send_big_line(route.port, line, traffic)]

    runs = _interleave(echo, work, "big-lines", socat, rounds, one_round)
    runs.largest_message = runs.capture.largest_message if runs.capture else line_bytes
    return runs

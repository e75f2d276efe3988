"""Workload (c): the generated realistic editing session between a simulated OpenUtau and a
simulated plugin, each in a process of its own (so neither shares the recorder's core more
than the machine forces), over one route."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.captures import CaptureFacts, inspect_capture
from bench.procs import (
    RssSampler,
    python_cmd,
    reap,
    start,
    stop,
    utauproxy_cmd,
    wait_for,
)
from bench.routes import ROUTES, RecordRoute, RelayCost, live_entry_port, make_route


@dataclass(frozen=True)
class SessionSpec:
    label: str  # "realistic" or "audio-heavy"
    edits: int
    time_scale: float
    noisy: bool
    audio_seconds: float | None = None

    def ou_args(self, port: int) -> list[str]:
        args = ["scripts/bench/ou_session.py", "--port", str(port), "--time-scale", str(self.time_scale),
                "--edits", str(self.edits)]
        if self.noisy:
            args.append("--noisy")
        if self.audio_seconds is not None:
            args += ["--audio-seconds", str(self.audio_seconds)]
        return args


@dataclass(frozen=True)
class SessionRun:
    spec: SessionSpec
    route: str
    sent: int  # bytes the simulated OpenUtau sent
    received: int  # and received

    @property
    def wire_bytes(self) -> int:
        return self.sent + self.received

    @property
    def capture_complete(self) -> bool:
        return self.facts is not None and self.facts.complete(self.sent, self.received)
    seconds: float
    ustx_resends: int
    relay: RelayCost | None
    rss_growth: int  # see RssSampler.growth_bytes
    capture: Path | None
    facts: CaptureFacts | None


def run_on_routes(spec: SessionSpec, work: Path, socat: str | None,
                  say: Callable[[str], None]) -> dict[str, SessionRun]:
    """The session once over each route, in turn; a route that cannot run is left out."""
    runs: dict[str, SessionRun] = {}
    for route in ROUTES:
        say(f"(c) {spec.label} session via {route}")
        run = run_session(spec, route, work, socat)
        if run is not None:
            runs[route] = run
    return runs


def run_session(spec: SessionSpec, route_name: str, work: Path, socat: str | None) -> SessionRun | None:
    """One session over one route, with a fresh plugin (its stored USTX would otherwise change
    the next session's init answer). None when the route is unavailable (no socat)."""
    folder = work / f"{spec.label}-{route_name}"
    folder.mkdir(parents=True)
    plugin_log = folder / "plugin.log"
    plugin = start(utauproxy_cmd("sim", "plugin", "--dir", str(folder / "disco"), "--name", "Vocal",
                                 "--ping-interval", f"{5 * spec.time_scale:.3f}", "--jitter", "0"),
                   plugin_log)
    try:
        wait_for(lambda: live_entry_port(folder / "disco") is not None, 30, "sim plugin", plugin, plugin_log)
        plugin_port = live_entry_port(folder / "disco")
        assert plugin_port is not None
        route = make_route(route_name, plugin_port, socat=socat, discovery_dir=folder / "disco",
                           output=folder / "session.utpcap", log_dir=folder)
        if route is None:
            return None
        route.start()
        route.mark()
        sampler = RssSampler(route.proc.pid if route.proc else plugin.pid)
        with sampler:
            result = _play(spec, route.port, folder)
        relay = route.stop()
    finally:
        stop(plugin)
    capture = route.output if isinstance(route, RecordRoute) else None
    return SessionRun(spec, route_name, result.sent, result.received, result.seconds, result.ustx_resends, relay,
                      sampler.growth_bytes() if route.proc else 0, capture,
                      inspect_capture(capture) if capture else None)


@dataclass(frozen=True)
class _Played:
    sent: int
    received: int
    seconds: float
    ustx_resends: int


def _play(spec: SessionSpec, port: int, folder: Path) -> _Played:
    log = folder / "openutau.log"
    ou = start(python_cmd(*spec.ou_args(port)), log, stdout=subprocess.PIPE)
    assert ou.stdout is not None
    out = ou.stdout.read()
    reap(ou, timeout=600)
    try:
        result = json.loads(out)
    except ValueError:
        raise RuntimeError(f"the simulated OpenUtau failed (exit {ou.returncode}); see {log}") from None
    if not result.get("initialized") or ou.returncode != 0:
        raise RuntimeError(f"the simulated OpenUtau did not run the session: {result.get('errors')}")
    return _Played(int(result["sent_bytes"]), int(result["received_bytes"]), float(result["seconds"]),
                   int(result["sent"].get("notification:updateUstx", 0)))

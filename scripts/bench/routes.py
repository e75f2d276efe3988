"""The three routes a workload's bytes take from client to server: direct, through socat, and
through the real `utauproxy record` command found through a discovery entry.

Each route is started before a workload and stopped after it, and reports what its relay
process cost (CPU from a mark to its exit, peak RSS) and, for `record`, whether the capture
on disk is complete.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.procs import (
    Exit,
    cpu_seconds,
    free_port,
    start,
    stop,
    utauproxy_cmd,
    wait_for,
)

ROUTES = ("direct", "socat", "record")


@dataclass(frozen=True)
class RelayCost:
    """What the relay process used: CPU from `mark()` to its exit, and its lifetime peak RSS."""

    cpu_seconds: float
    max_rss_bytes: int
    returncode: int


def port_in_use(port: int) -> bool:
    """OpenUtau's own liveness probe (PROTOCOL.md §1.4): a port we cannot bind is in use.
    Unlike a connect, it does not open a connection the plugin would have to serve."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def live_entry_port(folder: Path) -> int | None:
    """The port of the first entry in `folder` that points at a live listener (the simulated
    plugin's first write has a junk port, PROTOCOL.md §1.3)."""
    for entry in folder.glob("*.json"):
        try:
            port = int(json.loads(entry.read_text(encoding="utf-8"))["port"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if 0 < port < 65536 and port_in_use(port):
            return port
    return None


class Route:
    """Where a client connects to reach the server `upstream_port`."""

    name = "direct"

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = upstream_port
        self.proc: subprocess.Popen[bytes] | None = None
        self._cpu_mark = 0.0

    def start(self) -> Route:
        return self

    def mark(self) -> None:
        """Start counting the relay's CPU here (leaves out its start-up and imports)."""
        if self.proc is not None:
            self._cpu_mark = cpu_seconds(self.proc.pid)

    def stop(self) -> RelayCost | None:
        if self.proc is None:
            return None
        end = self._finish()
        return RelayCost(max(0.0, end.cpu_seconds - self._cpu_mark), end.max_rss_bytes, end.returncode)

    def _finish(self) -> Exit:
        assert self.proc is not None
        return stop(self.proc, signal.SIGTERM, timeout=10)


class SocatRoute(Route):
    """socat with its defaults (8 KiB buffer, one forked child per connection): the plain C
    relay a user would reach for."""

    name = "socat"

    def __init__(self, upstream_port: int, socat: str, log: Path) -> None:
        super().__init__(upstream_port)
        self._socat = socat
        self._log = log

    def start(self) -> SocatRoute:
        self.port = free_port()
        cmd = [self._socat, f"TCP-LISTEN:{self.port},bind=127.0.0.1,reuseaddr,fork",
               f"TCP:127.0.0.1:{self.upstream_port}"]
        self.proc = start(cmd, self._log)
        wait_for(lambda: port_in_use(self.port), 10, "socat did not start listening", self.proc, self._log)
        return self

    def _finish(self) -> Exit:
        # A connection's child must be gone (and reaped by socat) before socat is stopped, or
        # its CPU time is lost with it.
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            wait_for(lambda: not children.read_text().strip(), 10, "socat's connection child did not exit")
        except (OSError, RuntimeError):
            pass  # its CPU is then missing from the figure; nothing else depends on it
        return super()._finish()


class RecordRoute(Route):
    """`python -m utauproxy -q record --dir D -o FILE --no-watchdog`: it takes over the
    server's discovery entry, and the client connects where the rewritten entry points."""

    name = "record"

    def __init__(self, upstream_port: int, discovery_dir: Path, output: Path, log: Path) -> None:
        super().__init__(upstream_port)
        self.discovery_dir = discovery_dir
        self.output = output
        self._log = log

    def start(self) -> RecordRoute:
        cmd = utauproxy_cmd("-q", "record", "--dir", str(self.discovery_dir), "-o", str(self.output),
                            "--no-watchdog")
        self.proc = start(cmd, self._log)
        wait_for(self._taken_over, 30, "utauproxy record did not take the entry over", self.proc, self._log)
        return self

    def _taken_over(self) -> bool:
        for entry in self.discovery_dir.glob("*.json"):
            try:
                data = json.loads(entry.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # being rewritten right now
            embedded = data.get("utauproxy") if isinstance(data, dict) else None
            if isinstance(embedded, dict) and embedded.get("upstream_port") == self.upstream_port:
                self.port = int(data["port"])
                return True
        return False

    def _finish(self) -> Exit:
        # Ctrl-C, as a user stops it: restore the entries, drain the sink, write the footer.
        assert self.proc is not None
        return stop(self.proc, signal.SIGINT, timeout=300)


def make_route(name: str, upstream_port: int, *, socat: str | None, discovery_dir: Path,
               output: Path, log_dir: Path) -> Route | None:
    """A fresh, not yet started route; None for socat when it could not be installed."""
    if name == "direct":
        return Route(upstream_port)
    if name == "socat":
        return SocatRoute(upstream_port, socat, log_dir / "socat.log") if socat else None
    return RecordRoute(upstream_port, discovery_dir, output, log_dir / f"{output.stem}.record.log")

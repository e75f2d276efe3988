"""How long `replay --as openutau --speed max` takes on a 10-minute capture (issue 4).

Records the realistic editing session through the real recorder (as scripts/capture_size.py
does), stretches its timestamps to 10 minutes (as scripts/bench.py's workload (e) does), then
replays it with `--speed max` against `utauproxy sim plugin` and prints the wall time.

    python scripts/replay_speed_max.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio

from bench.captures import stretch
from bench.procs import start, stop, utauproxy_cmd, wait_for
from bench.routes import live_entry_port
from capture_size import record_session
from utauproxy.cli.logs import configure_logging
from utauproxy.protocol.versions import ProtocolVersion


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="recorded length of the capture")
    args = parser.parse_args()
    configure_logging("console", quiet=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        recorded, capture = work / "session.utpcap", work / "stretched.utpcap"
        anyio.run(record_session, work / "rec", recorded, ProtocolVersion.P6, 0.02, 2.0, False)
        stretch(recorded, capture, args.minutes * 60)
        folder, log = work / "disco", work / "plugin.log"
        plugin = start(utauproxy_cmd("sim", "plugin", "--dir", str(folder), "--jitter", "0"), log)
        try:
            wait_for(lambda: live_entry_port(folder) is not None, 30, "sim plugin", plugin, log)
            started = time.monotonic()
            result = subprocess.run(
                utauproxy_cmd("-q", "replay", str(capture), "--as", "openutau", "--port",
                              str(live_entry_port(folder)), "--speed", "max", "--json"),
                capture_output=True, text=True, timeout=600, check=False)
            elapsed = time.monotonic() - started
        finally:
            stop(plugin)
    report = json.loads(result.stdout)
    print(f"replay --speed max of a {args.minutes:g}-minute capture ({report['timing']['count']} sends): "
          f"{elapsed:.1f} s, verdict {report['verdict']}, exit {result.returncode}")
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()

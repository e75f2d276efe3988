"""The simulated OpenUtau playing `realistic_session` against one port, in a process of its own.

`utauproxy sim openutau` plays `generate_session` with a few knobs; the benchmark needs the
session generator's `realistic_session` itself (3 tracks x 2 parts, 220 edits, ~140 KB of USTX
resent per edit), so this small entry point runs it and prints one JSON line of results.

    python scripts/bench/ou_session.py --port N [--time-scale 0.03] [--noisy] [--audio-seconds S]
"""

from __future__ import annotations

import argparse
import json
import time

import anyio

from utauproxy.cli.logs import configure_logging
from utauproxy.peers.openutau import run_openutau
from utauproxy.peers.ou_types import OpenUtauConfig
from utauproxy.peers.session import realistic_session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--time-scale", type=float, default=0.03)
    parser.add_argument("--edits", type=int, default=220)
    parser.add_argument("--audio-seconds", type=float, default=None)
    parser.add_argument("--noisy", action="store_true", help="audio that barely compresses")
    parser.add_argument("--protocol", default="P6")
    args = parser.parse_args()
    configure_logging("console", quiet=True)
    scenario = realistic_session(1, edits=args.edits, audio_seconds=args.audio_seconds,
                                 noisy_audio=args.noisy)
    config = OpenUtauConfig(args.protocol, port=args.port, time_scale=args.time_scale,
                            delete_invalid_entries=False)
    started = time.perf_counter()
    result = anyio.run(run_openutau, config, scenario)
    elapsed = time.perf_counter() - started
    print(json.dumps({
        "connected": result.connected, "initialized": result.initialized,
        "errors": [str(e) for e in result.errors], "sent_bytes": result.sent_bytes,
        "received_bytes": result.received_bytes, "sent": dict(result.sent),
        "received": dict(result.received), "seconds": elapsed,
    }))


if __name__ == "__main__":
    main()

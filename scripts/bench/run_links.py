"""Only workloads (a) round trips and (b) 64 MiB lines of scripts/bench.py, direct vs socat vs
record, interleaved as in the full run: a ~1 minute check of the recorder's forwarding path.

    python scripts/bench/run_links.py [--rtt-rounds 6] [--line-rounds 5] [--per-round 1000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

_SCRIPTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_SCRIPTS), str(_SCRIPTS.parent)]

from bench.links import LINE_BYTES, EchoServer, run_big_lines, run_round_trips  # noqa: E402
from bench.procs import ensure_socat, stop  # noqa: E402
from bench.rows import big_line_rows, round_trip_rows  # noqa: E402
from bench.table import Row, render  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rtt-rounds", type=int, default=6, help="rounds of round trips (0: skip (a))")
    parser.add_argument("--per-round", type=int, default=1000, help="timed round trips per round")
    parser.add_argument("--line-rounds", type=int, default=5, help="64 MiB lines per route (0: skip (b))")
    args = parser.parse_args()
    socat = ensure_socat()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="utauproxy-links-") as tmp:
        work = Path(tmp)
        echo = EchoServer(work / "echo-disco", work / "echo.log")
        try:
            if args.rtt_rounds:
                rows += round_trip_rows(run_round_trips(echo, work, socat, args.rtt_rounds, args.per_round))
            if args.line_rounds:
                lines = run_big_lines(echo, work, socat, args.line_rounds, LINE_BYTES)
                rows += big_line_rows(lines)
        finally:
            stop(echo.proc)
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

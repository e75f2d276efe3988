"""Only workload (c) of scripts/bench.py: the editing sessions, direct vs socat vs record.

A ~2 minute check of capture size, recorder CPU and peak RSS.

    python scripts/bench/run_sessions.py [--quick] [--only realistic|audio-heavy] [--keep DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

_SCRIPTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_SCRIPTS), str(_SCRIPTS.parent)]

from bench.procs import ensure_socat  # noqa: E402
from bench.rows import session_rows  # noqa: E402
from bench.session import run_on_routes  # noqa: E402
from bench.settings import CAPTURE_TARGETS, FULL, QUICK  # noqa: E402
from bench.table import Row, render  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the smaller sessions of `bench.py --quick`")
    parser.add_argument("--only", choices=sorted(CAPTURE_TARGETS), help="run this session only")
    parser.add_argument("--keep", type=Path, default=None, help="keep the captures and logs in this folder")
    args = parser.parse_args()
    settings = QUICK if args.quick else FULL
    socat = ensure_socat()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="utauproxy-sessions-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for spec in (settings.realistic, settings.heavy):
            if args.only in (None, spec.label):
                rows += session_rows(run_on_routes(spec, work, socat, print), CAPTURE_TARGETS[spec.label])
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

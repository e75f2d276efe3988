"""Regenerate the sample captures in captures/: one short simulated session per protocol
version, recorded by the real recorder between the simulated peers.

    python scripts/make_sample_captures.py [--out captures]

The content (project, edits, request ids, audio) is fixed by the seed; the timestamps are real
and differ between runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import anyio

from utauproxy.cli.demo import DemoOptions, run_demo, summarize
from utauproxy.cli.logs import configure_logging
from utauproxy.protocol.versions import SIMULATED_VERSIONS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("captures"), help="output folder")
    parser.add_argument("--edits", type=int, default=4, help="edits per session")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    configure_logging("console", quiet=True)
    for version in SIMULATED_VERSIONS:
        path = args.out / f"sample-{version.value}.utpcap"
        path.unlink(missing_ok=True)
        options = DemoOptions(path, version, args.edits, time_scale=0.05, seed=1)
        anyio.run(run_demo, options, False)
        print(f"{path}: " + "; ".join(summarize(path)))


if __name__ == "__main__":
    main()

"""Bundle size of a one-hour generated editing session (issue 7: "A bundle of a one-hour
generated session fits in 10 MB").

Builds an hour of editing at a realistic pace (an edit every 2.4-4 s on a ~320-note, 3-track
project, each edit resending the whole USTX, every re-rendered part's audio sent), writes it
straight to a capture with CaptureWriter (tests/bundle/synth.py: recording an hour through
sockets would take an hour at real pace), bundles it with the default options and prints the
figures.

    python scripts/bundle_size.py [--edits 1100] [--notes 320] [--audio-seconds 10] [--noisy]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.bundle.synth

from tests.bundle.synth import session_records, write_capture
from utauproxy.bundle import BundleOptions, build_bundle
from utauproxy.capture import CaptureReader
from utauproxy.peers.project import ProjectSpec
from utauproxy.peers.session import SessionSpec, generate_session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=1100, help="edits (at 2.4-4 s apart: about an hour)")
    parser.add_argument("--notes", type=int, default=320, help="notes in the project")
    parser.add_argument("--audio-seconds", type=float, default=10.0, help="length of every voice part")
    parser.add_argument("--noisy", action="store_true", help="noise-like audio (compresses badly)")
    args = parser.parse_args()
    spec = SessionSpec(edits=args.edits, project=ProjectSpec(notes=args.notes, tracks=3, parts_per_track=2),
                       edit_gap=(2.4, 4.0), render_latency=(0.2, 1.2))
    started = time.monotonic()
    scenario = generate_session(1, audio_seconds=args.audio_seconds, noisy_audio=args.noisy, spec=spec)
    with tempfile.TemporaryDirectory() as tmp:
        capture = write_capture(Path(tmp) / "hour.utpcap", session_records(scenario))
        made = time.monotonic() - started
        with CaptureReader.open(capture) as reader:
            footer = reader.footer
            assert footer is not None
        started = time.monotonic()
        report = build_bundle(capture, Path(tmp) / "bundle.zip", BundleOptions(key=bytes(32)))
        bundled = time.monotonic() - started
        with zipfile.ZipFile(report.output) as archive:
            members = {info.filename: (info.file_size, info.compress_size) for info in archive.infolist()}
        print(f"session: {scenario.duration / 60:.1f} min, {len(scenario.edits)} edits, "
              f"{footer.messages} messages; generated and written in {made:.1f} s")
        print(f"{'wire bytes':28} {footer.wire_bytes:>14,}")
        print(f"{'capture bytes':28} {capture.stat().st_size:>14,}")
        for name, (size, stored) in members.items():
            print(f"{'  ' + name:28} {stored:>14,}  ({size:,} uncompressed)")
        print(f"{'bundle (zip) bytes':28} {report.size:>14,}  limit 10,000,000: "
              f"{'fits' if report.size <= 10_000_000 else 'DOES NOT FIT'}")
        print(f"size limit applied: {report.size_cap is not None}; records dropped: {report.trim.records_dropped}")
        print(f"redaction: {report.manifest['rules'] if report.manifest else None}")
        print(f"bundled in {bundled:.1f} s (shared machine: indicative only)")


if __name__ == "__main__":
    main()

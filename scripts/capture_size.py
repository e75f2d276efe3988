"""Capture size of the generated realistic editing session (issue 2, DESIGN.md §4 "Small").

Runs the simulated OpenUtau's realistic session (>= 200 full USTX resends of a >= 100 KB project
with small edits, plus re-rendered audio) through the real recorder to the simulated plugin, then
prints wire bytes, capture bytes and their ratio, per message kind.

    python scripts/capture_size.py [--protocol P6] [--time-scale 0.01] [--audio-seconds S] [--noisy]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

import anyio

from utauproxy.capture.reader import CaptureReader
from utauproxy.capture.writer import CaptureWriter
from utauproxy.cli.logs import configure_logging
from utauproxy.peers.openutau import run_openutau
from utauproxy.peers.ou_types import OpenUtauConfig
from utauproxy.peers.plugin import PluginConfig, serve_plugin
from utauproxy.peers.session import realistic_session
from utauproxy.protocol.header import message_label
from utauproxy.protocol.versions import ProtocolVersion
from utauproxy.proxy.recorder import RecordOptions, run_record
from utauproxy.records import MessageFlags, MessageRecord


async def record_session(folder: Path, output: Path, version: ProtocolVersion, scale: float,
                         audio_seconds: float, noisy: bool) -> int:
    scenario = realistic_session(1, audio_seconds=audio_seconds, noisy_audio=noisy)
    async with anyio.create_task_group() as tg:
        await tg.start(serve_plugin, PluginConfig(version, folder, name="Vocal", ping_interval=5 * scale))
        async with anyio.create_task_group() as recorder:  # ends when the footer is written
            state = await recorder.start(run_record, RecordOptions(output, folder, watchdog=False))
            result = await run_openutau(OpenUtauConfig(version, folder, time_scale=scale), scenario)
            state.stop.set()
        tg.cancel_scope.cancel()
    ustx_resends = result.sent["notification:updateUstx"]
    return ustx_resends


def wire_by_kind(path: Path) -> Counter[str]:
    sizes: Counter[str] = Counter()
    with CaptureReader.open(path) as reader:
        for record in reader.records():
            if isinstance(record, MessageRecord):
                label = "audio-frame" if record.flags & MessageFlags.FRAME else message_label(record.raw)
                sizes[label] += record.wire_len
    return sizes


def size_without_audio(path: Path, out: Path) -> tuple[int, int]:
    """(wire bytes, capture bytes) of the same records minus updateAudio and audio frames:
    how well the repeated USTX alone compresses, apart from already-compressed audio."""
    wire = 0
    with CaptureReader.open(path) as reader, CaptureWriter.create(out, reader.header) as writer:
        for record in reader.records():
            if isinstance(record, MessageRecord):
                if record.flags & MessageFlags.FRAME or message_label(record.raw).endswith("updateAudio"):
                    continue
                wire += record.wire_len
            writer.write(record)
    return wire, out.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", default="P6", help="simulated protocol version")
    parser.add_argument("--time-scale", type=float, default=0.01, help="session speed (1.0 = real time)")
    parser.add_argument("--audio-seconds", type=float, default=2.0, help="length of every voice part")
    parser.add_argument("--noisy", action="store_true",
                        help="noise-like audio that barely compresses (an audio-heavy session); "
                             "default: tones, as in the real-wire sample")
    args = parser.parse_args()
    configure_logging("console", quiet=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder, output = Path(tmp) / "PluginServers", Path(tmp) / "session.utpcap"
        started = time.monotonic()
        resends = anyio.run(record_session, folder, output, ProtocolVersion(args.protocol),
                            args.time_scale, args.audio_seconds, args.noisy)
        elapsed = time.monotonic() - started
        with CaptureReader.open(output) as reader:
            footer = reader.footer
            assert footer is not None, "the recorder did not close the capture"
        sizes = wire_by_kind(output)
        capture = output.stat().st_size
        ustx = sizes["notification:updateUstx"]
        print(f"session: {resends} USTX resends, {ustx / max(resends, 1) / 1024:.0f} KB each; "
              f"recorded in {elapsed:.1f} s")
        print(f"{'kind':32} {'wire bytes':>14}")
        for label, size in sizes.most_common():
            print(f"{label:32} {size:>14,}")
        print(f"{'total wire bytes':32} {footer.wire_bytes:>14,}")
        print(f"{'capture bytes':32} {capture:>14,}")
        print(f"capture / wire = {capture / footer.wire_bytes:.2%}")
        wire, stored = size_without_audio(output, Path(tmp) / "no-audio.utpcap")
        print(f"without audio: {wire:,} wire bytes -> {stored:,} capture bytes = {stored / wire:.2%}")


if __name__ == "__main__":
    main()

"""`utauproxy diff` speed and peak memory on two captures of the long generated editing session
(issue 6; DESIGN.md §8).

Records the realistic session (220 edits of a ~300-note project, every edit resending the whole
USTX, plus re-rendered audio) through the real recorder between the simulated peers, twice with
different request ids and timing; a third time with one lyric changed in the opening project,
so that every USTX resend differs and the diff must re-read and compare them all. Each diff runs
in a fresh process; the figures are its wall time and peak RSS (VmHWM), next to a process that
only imports utauproxy. At the default 100x speed the simulated OpenUtau's debounces coalesce
edits a little differently in every run, so even two runs of one session differ a little: the
diff reports those races (layouts sent while a part was still rendering, ...).

    python scripts/bench_diff.py [--protocol P6] [--time-scale 0.01] [--audio-seconds 2] [--noisy]
                                 [--edits 220] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import anyio
from anyio.abc import TaskStatus

from utauproxy.capture.reader import CaptureReader
from utauproxy.cli.logs import configure_logging
from utauproxy.peers.openutau import run_openutau
from utauproxy.peers.ou_types import OpenUtauConfig
from utauproxy.peers.plugin import PluginConfig, serve_plugin
from utauproxy.peers.session import Scenario, realistic_session
from utauproxy.protocol.versions import ProtocolVersion
from utauproxy.proxy.recorder import RecordingState, RecordOptions, run_record

# Runs in the child: the diff, then its own time and peak RSS as one JSON line.
_CHILD = """
import json, resource, sys, time
from pathlib import Path
started = time.perf_counter()
if len(sys.argv) > 1:
    from utauproxy.diff import diff_captures
    report = diff_captures(Path(sys.argv[1]), Path(sys.argv[2]))
    summary = report.summary_line() + f"; {len(report.differences)} differences"
else:
    import utauproxy.diff
    summary = "(imports only)"
elapsed = time.perf_counter() - started
try:  # this process's own high-water mark (ru_maxrss would include the parent's, inherited)
    status = Path("/proc/self/status").read_text()
    peak_kib = int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])
except (OSError, StopIteration):
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": elapsed, "peak_mib": peak_kib / 1024, "summary": summary}))
"""


async def _record(folder: Path, output: Path, version: ProtocolVersion, scenario: Scenario,
                  seed: int, scale: float) -> None:
    plugin = PluginConfig(version, folder, name="Vocal", ping_interval=5 * scale)

    async def recorder(*, task_status: TaskStatus[RecordingState]) -> None:
        await run_record(RecordOptions(output, folder, watchdog=False), task_status=task_status)

    async with anyio.create_task_group() as tg:
        await tg.start(serve_plugin, plugin)
        async with anyio.create_task_group() as recording:  # exits once the footer is written
            state = await recording.start(recorder)
            await run_openutau(OpenUtauConfig(version, folder, time_scale=scale, seed=seed), scenario)
            state.stop.set()
        tg.cancel_scope.cancel()  # the plugin serves forever otherwise


def record(folder: Path, name: str, version: ProtocolVersion, scenario: Scenario, seed: int,
           scale: float) -> Path:
    output = folder / f"{name}.utpcap"
    started = time.monotonic()
    anyio.run(_record, folder / f"{name}-servers", output, version, scenario, seed, scale)
    with CaptureReader.open(output) as reader:
        footer = reader.footer
        assert footer is not None, "the recorder did not close the capture"
    print(f"recorded {name}: {footer.records} records, {footer.wire_bytes / 1e6:.1f} MB on the wire, "
          f"{output.stat().st_size / 1e6:.1f} MB on disk, in {time.monotonic() - started:.1f} s")
    return output


def with_one_lyric_changed(scenario: Scenario) -> Scenario:
    project = scenario.initial
    part = project.voice_parts[-1]
    note = part.notes[-1]
    notes = (*part.notes[:-1], replace(note, lyric="ゔ" if note.lyric != "ゔ" else "ゐ"))
    parts = (*project.voice_parts[:-1], replace(part, notes=notes))
    return replace(scenario, initial=replace(project, voice_parts=parts))


def measure(*paths: Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", _CHILD, *map(str, paths)], check=True,
                          capture_output=True, text=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", default="P6", help="simulated protocol version")
    parser.add_argument("--time-scale", type=float, default=0.01, help="session speed (1.0 = real time)")
    parser.add_argument("--audio-seconds", type=float, default=2.0, help="length of every voice part")
    parser.add_argument("--noisy", action="store_true", help="audio that barely compresses")
    parser.add_argument("--edits", type=int, default=220, help="edits in the session")
    parser.add_argument("--keep", type=Path, default=None, help="keep the captures in this folder")
    args = parser.parse_args()
    configure_logging("console", quiet=True)
    version = ProtocolVersion(args.protocol)
    scenario = realistic_session(1, edits=args.edits, audio_seconds=args.audio_seconds,
                                 noisy_audio=args.noisy)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        first = record(folder, "first", version, scenario, 1, args.time_scale)
        second = record(folder, "second", version, scenario, 2, args.time_scale)
        changed = record(folder, "changed", version, with_one_lyric_changed(scenario), 3, args.time_scale)
        idle = measure()
        print(f"\n{'diff':28} {'seconds':>8} {'peak RSS MiB':>13}  result")
        print(f"{'(python + imports only)':28} {idle['seconds']:8.2f} {idle['peak_mib']:13.1f}")
        for title, pair in (("same session, twice", (first, second)),
                            ("one lyric changed", (first, changed))):
            figures = measure(*pair)
            print(f"{title:28} {figures['seconds']:8.2f} {figures['peak_mib']:13.1f}  {figures['summary']}")


if __name__ == "__main__":
    main()

"""Soak: a one-hour generated editing session, played at high speed through a real
`utauproxy record` process, with the RSS and open file descriptors of the recorder and its
capture process sampled every second. Prints a table (start, middle, end, max) and a flat / not-flat verdict.

    python scripts/soak.py                    # one hour of session time at 40x
    python scripts/soak.py --minutes 5 --speed 20

The plugin (simulated P6) and OpenUtau (simulated, playing peers/session.py generate_session)
run in this process; the recorder runs in its own, with its own discovery folder in a temp dir.
"Start" is the first sample after OpenUtau connected (the imports and the first sync are
warm-up, not growth). Flat means: RSS at the end within max(4 MiB, 5 %) of the middle, RSS max
within max(16 MiB, 25 %) of the middle, and as many file descriptors at the end as at the start.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from bench.procs import descendants, status_kib

from utauproxy.capture.reader import CaptureReader
from utauproxy.peers.openutau import run_openutau
from utauproxy.peers.ou_types import OpenUtauConfig, OpenUtauResult
from utauproxy.peers.plugin import PluginConfig, PluginHandle, serve_plugin
from utauproxy.peers.session import generate_session
from utauproxy.protocol.versions import ProtocolVersion

MEAN_EDIT_GAP_S = 3.0  # SessionSpec.edit_gap is (2.0, 4.0)


@dataclass
class Sample:
    t: float
    rss_kib: int
    fds: int
    capture_bytes: int
    connected: bool


def rss_kib(pid: int) -> int:
    """VmRSS of the recorder and its capture process together."""
    return sum(status_kib(member, "VmRSS") for member in descendants(pid))


def fd_count(pid: int) -> int:
    """Open file descriptors of the recorder and its capture process together."""
    total = 0
    for member in descendants(pid):
        try:
            total += len(os.listdir(f"/proc/{member}/fd"))
        except OSError:
            pass  # gone meanwhile
    return total


async def wait_for_takeover(entry: Path, plugin_port: int, timeout: float = 30.0) -> None:
    with anyio.fail_after(timeout):
        while True:
            try:
                if json.loads(entry.read_text())["port"] not in (0, plugin_port):
                    return
            except (OSError, ValueError, KeyError):
                pass
            await anyio.sleep(0.05)


async def soak(minutes: float, speed: float, seed: int) -> tuple[list[Sample], OpenUtauResult, Path]:
    work = Path(tempfile.mkdtemp(prefix="utauproxy-soak-"))
    folder = work / "PluginServers"
    capture = work / "soak.utpcap"
    edits = max(1, int(minutes * 60 / MEAN_EDIT_GAP_S))
    scenario = generate_session(seed, edits=edits, audio_seconds=2.0)
    samples: list[Sample] = []
    connected = anyio.Event()
    async with anyio.create_task_group() as tg:
        plugin: PluginHandle = await tg.start(serve_plugin, PluginConfig(
            ProtocolVersion.P6, folder, name="Soak", ping_interval=5.0 / speed, seed=seed))
        proc = subprocess.Popen(
            [sys.executable, "-m", "utauproxy", "--quiet", "record", "--dir", str(folder), "-o", str(capture)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
        try:
            await wait_for_takeover(plugin.entry_path, plugin.port)
            started = time.monotonic()

            async def sample() -> None:
                while True:
                    samples.append(Sample(time.monotonic() - started, rss_kib(proc.pid), fd_count(proc.pid),
                                          capture.stat().st_size, connected.is_set()))
                    await anyio.sleep(1.0)

            tg.start_soon(sample)

            def on_event(text: str) -> None:
                if "init" in text or "connected" in text:
                    connected.set()

            config = OpenUtauConfig(ProtocolVersion.P6, folder, time_scale=1.0 / speed, seed=seed,
                                    on_event=on_event, request_timeout=60.0)
            result = await run_openutau(config, scenario)
            connected.set()
            await anyio.sleep(2.0)  # a couple of samples after the disconnect
            tg.cancel_scope.cancel()
        finally:
            proc.send_signal(signal.SIGINT)
            with anyio.CancelScope(shield=True):
                _, err = await anyio.to_thread.run_sync(lambda: proc.communicate(timeout=60))
            if proc.returncode != 0:
                print(err.decode(), file=sys.stderr)
    return samples, result, capture


def report(samples: list[Sample], result: OpenUtauResult, capture: Path, minutes: float, speed: float) -> bool:
    warm = [s for s in samples if s.connected] or samples
    start, middle, end = warm[0], warm[len(warm) // 2], warm[-1]
    peak_rss = max(s.rss_kib for s in warm)
    peak_fds = max(s.fds for s in warm)
    print(f"session: {minutes:.0f} min of generated editing at {speed:g}x "
          f"({samples[-1].t:.0f} s wall, {len(samples)} samples)")
    print(f"OpenUtau: initialized={result.initialized} sent {sum(result.sent.values())} messages "
          f"({result.sent_bytes / 1e6:.1f} MB), received {sum(result.received.values())} "
          f"({result.received_bytes / 1e6:.1f} MB)")
    with CaptureReader.open(capture) as reader:
        footer = reader.footer is not None
    print(f"capture: {capture.stat().st_size / 1e6:.1f} MB on disk, footer={'yes' if footer else 'NO'}")
    print()
    print(f"{'':8s} {'t (s)':>7s} {'RSS (MiB)':>10s} {'open fds':>9s}")
    for label, s in (("start", start), ("middle", middle), ("end", end)):
        print(f"{label:8s} {s.t:7.0f} {s.rss_kib / 1024:10.1f} {s.fds:9d}")
    print(f"{'max':8s} {'':>7s} {peak_rss / 1024:10.1f} {peak_fds:9d}")
    rss_flat = end.rss_kib - middle.rss_kib <= max(4096, middle.rss_kib * 0.05)
    peak_ok = peak_rss - middle.rss_kib <= max(16384, middle.rss_kib * 0.25)
    fds_flat = end.fds <= start.fds
    flat = rss_flat and peak_ok and fds_flat and result.initialized and footer
    print()
    print(f"verdict: {'FLAT' if flat else 'NOT FLAT'} (RSS end-middle {(end.rss_kib - middle.rss_kib) / 1024:+.1f} MiB, "
          f"peak-middle {(peak_rss - middle.rss_kib) / 1024:+.1f} MiB, fds end-start {end.fds - start.fds:+d})")
    return flat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0, help="session length (generated time)")
    parser.add_argument("--speed", type=float, default=40.0, help="how many times faster than real time")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--samples-csv", type=Path, help="also write every sample here")
    parser.add_argument("--keep", action="store_true", help="keep the capture and discovery folder")
    args = parser.parse_args()
    samples, result, capture = anyio.run(soak, args.minutes, args.speed, args.seed)
    if args.samples_csv:
        args.samples_csv.write_text("t_s,rss_kib,fds,capture_bytes\n" + "".join(
            f"{s.t:.1f},{s.rss_kib},{s.fds},{s.capture_bytes}\n" for s in samples))
    flat = report(samples, result, capture, args.minutes, args.speed)
    if args.keep:
        print(f"kept {capture.parent}")
    else:
        shutil.rmtree(capture.parent, ignore_errors=True)
    sys.exit(0 if flat else 1)


if __name__ == "__main__":
    main()

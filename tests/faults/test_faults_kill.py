"""`kill -9` of `utauproxy record` at seeded random moments, while OpenUtau's lines flow through
it: the capture process outlives the recorder, sees its pipe close and finishes the capture with
a footer and every line that was forwarded; the watchdog puts every discovery file back.

UTAUPROXY_KILL_RUNS sets the number of runs (default 12, to keep the suite fast; the full 50 is
`UTAUPROXY_KILL_RUNS=50 python -m pytest tests/faults/test_faults_kill.py -s`)."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from faults_helpers import EchoPlugin, entry_port, publish_entry, start_recorder, wait_for

from utauproxy.capture.reader import CaptureReader
from utauproxy.discovery.journal import list_journals
from utauproxy.discovery.restore import restore
from utauproxy.errors import CaptureError
from utauproxy.records import Direction, MessageRecord

KILL_RUNS = int(os.environ.get("UTAUPROXY_KILL_RUNS", "12"))
PARALLEL = 2
# Only lines still in the kernel's buffers at the kill were never forwarded, so never captured:
# the last few sends at most. The rest is room for a shared 2-core machine's scheduling.
LOSS_BOUND_S = 0.25
SEND_EVERY_S = 0.005


@dataclass
class KillRun:
    seed: int
    phase: str  # "startup": killed before it took the entry over; "traffic": while lines flow
    sent: int = 0
    captured: int = 0
    loss_window_s: float = 0.0
    capture_state: str = ""


def _drain(sock: socket.socket) -> None:
    try:
        while sock.recv(1 << 16):
            pass
    except OSError:
        pass


def one_run(root: Path, seed: int, plugin: EchoPlugin) -> KillRun:
    rng = random.Random(seed)
    folder = root / f"run{seed}" / "PluginServers"
    entry = publish_entry(folder, plugin.port)
    original = entry.read_text()
    capture = root / f"run{seed}" / "capture.utpcap"
    run = KillRun(seed, "startup" if rng.random() < 0.25 else "traffic")
    proc = start_recorder(folder, capture)
    sent: list[float] = []
    try:
        if run.phase == "startup":
            time.sleep(rng.uniform(0.1, 1.2))
        else:
            wait_for(lambda: entry_port(entry) not in (None, plugin.port), what=f"run {seed}: takeover")
            port = entry_port(entry)
            assert port is not None
            with socket.create_connection(("127.0.0.1", port)) as ou:
                threading.Thread(target=_drain, args=(ou,), daemon=True).start()
                kill_after = rng.uniform(0.05, 1.5)
                started = time.monotonic()
                while time.monotonic() - started < kill_after:
                    ou.sendall(b"request:%d:init {}\n" % len(sent))
                    sent.append(time.monotonic())
                    time.sleep(SEND_EVERY_S)
                killed_at = time.monotonic()
                os.kill(proc.pid, signal.SIGKILL)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    # The watchdog (a process of its own) notices and puts the entry back.
    wait_for(lambda: entry.read_text() == original, what=f"run {seed}: entry restored")
    run.sent = len(sent)
    run.capture_state = _check_capture(capture, run)
    try:
        wait_for(lambda: not list_journals(folder), timeout=10, what=f"run {seed}: journal removed")
    except AssertionError:
        # Killed after the journal was created but before the watchdog started: no entry was
        # rewritten yet (checked above), and the stale journal is cleaned by the next
        # `record` or by `utauproxy restore`, which must find nothing to put back.
        assert run.phase == "startup", run
        assert restore(folder) == [] and not list_journals(folder)
        run.capture_state += "; stale journal (no watchdog yet), removed by restore"
    if run.phase == "traffic":
        missing = sent[run.captured:]
        run.loss_window_s = killed_at - missing[0] if missing else 0.0
        assert run.loss_window_s <= LOSS_BOUND_S, run
    return run


def _footer_written(capture: Path) -> bool:
    try:
        with CaptureReader.open(capture) as reader:
            return reader.footer is not None
    except (CaptureError, OSError):
        return False  # not there yet, or still being written


def _check_capture(capture: Path, run: KillRun) -> str:
    try:
        wait_for(lambda: _footer_written(capture), timeout=3 if run.phase == "startup" else 10,
                 what=f"run {run.seed}: capture finished by the capture process")
    except AssertionError:
        # Killed before the capture process was told what to record: no file at all.
        assert run.phase == "startup" and not capture.exists(), run
        return "not created yet"
    with CaptureReader.open(capture) as reader:
        records = list(reader.records())
        assert not reader.damage, reader.damage
    seqs = [int(r.raw.split(b":")[1]) for r in records
            if isinstance(r, MessageRecord) and r.direction is Direction.OU_TO_PLUGIN]
    assert seqs == list(range(len(seqs)))  # a prefix of what was sent, nothing out of place
    run.captured = len(seqs)
    return "finished, footer written"


def test_kill_9_at_random_moments_loses_only_the_last_moments(tmp_path: Path) -> None:
    plugin = EchoPlugin()
    try:
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            runs = list(pool.map(lambda seed: one_run(tmp_path, seed, plugin), range(KILL_RUNS)))
    finally:
        plugin.close()
    traffic = [r for r in runs if r.phase == "traffic"]
    assert traffic and sum(r.captured for r in traffic) > 0
    print(f"\nkill -9 runs: {len(runs)} ({len(traffic)} during traffic, {len(runs) - len(traffic)} during startup)")
    for r in runs:
        print(f"  seed {r.seed:2d} {r.phase:8s} sent {r.sent:4d} captured {r.captured:4d} "
              f"lost window {r.loss_window_s * 1000:6.1f} ms  capture {r.capture_state}")
    worst = max(r.loss_window_s for r in traffic)
    stale = sum("stale journal" in r.capture_state for r in runs)
    print(f"  worst loss window {worst * 1000:.1f} ms; every entry restored; "
          f"{stale} stale journal(s) left by a kill before the watchdog started, removed by restore")


def test_without_the_watchdog_utauproxy_restore_puts_the_entry_back(tmp_path: Path) -> None:
    plugin = EchoPlugin()
    folder = tmp_path / "PluginServers"
    entry = publish_entry(folder, plugin.port)
    original = entry.read_text()
    proc = start_recorder(folder, tmp_path / "c.utpcap", watchdog=False)
    try:
        wait_for(lambda: entry_port(entry) not in (None, plugin.port))
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        plugin.close()
    time.sleep(0.5)
    assert entry.read_text() != original  # nobody restored it: it points at a dead port
    assert list_journals(folder)
    done = subprocess.run([sys.executable, "-m", "utauproxy", "restore", "--dir", str(folder)],
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert entry.read_text() == original
    assert not list_journals(folder)

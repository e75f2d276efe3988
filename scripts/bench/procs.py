"""Child processes of the benchmark: start them, sample their memory, and reap them with their
own resource usage (os.wait4), so every CPU and RSS figure belongs to exactly one process."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Exit:
    """How a child ended: exit status and what it used over its whole life."""

    returncode: int
    cpu_seconds: float  # user + system, its reaped children included
    max_rss_bytes: int


def python_cmd(*args: str) -> list[str]:
    return [sys.executable, *args]


def utauproxy_cmd(*args: str) -> list[str]:
    return python_cmd("-m", "utauproxy", *args)


def start(cmd: Sequence[str], log: Path, *, stdout: int | None = None,
          env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start `cmd` in its own process group with stderr (and stdout unless piped) in `log`."""
    out = open(log, "ab")  # noqa: SIM115 - closed by the child's end; the handle is inherited
    try:
        return subprocess.Popen(list(cmd), stdout=stdout if stdout is not None else out,
                                stderr=out, stdin=subprocess.DEVNULL, cwd=REPO,
                                start_new_session=True, env=env)
    finally:
        out.close()


def reap(proc: subprocess.Popen[bytes], timeout: float, peaks: dict[int, int] | None = None) -> Exit:
    """Wait for `proc` (killing it after `timeout` s) and return what it used.

    Peak RSS is the sum of the last VmHWM seen of `proc` and of each process it started
    (`record` writes its capture from a child process), not wait4's ru_maxrss: that is the
    largest of them, not their sum, and Linux carries it across execve, so a child forked from
    this (large) process would report our size instead of its own."""
    deadline = time.monotonic() + timeout
    peaks = peaks if peaks is not None else {}
    while True:
        tree_peaks(proc.pid, peaks)
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.005)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Exit(proc.returncode, usage.ru_utime + usage.ru_stime, sum(peaks.values()) * 1024)


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT, timeout: float = 60.0) -> Exit:
    """Send `sig` (the user's Ctrl-C by default) and reap."""
    peaks = tree_peaks(proc.pid, {})  # a fast exit may leave no later chance to look
    if proc.returncode is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
    return reap(proc, timeout, peaks)


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it, as /proc shows them now."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, ValueError):
            pass  # gone meanwhile
    return found


def tree_peaks(pid: int, peaks: dict[int, int]) -> dict[int, int]:
    """Update `peaks` (pid -> largest VmHWM seen, KiB) for `pid` and its descendants."""
    for member in descendants(pid):
        peaks[member] = max(peaks.get(member, 0), status_kib(member, "VmHWM"))
    return peaks


def cpu_seconds(pid: int) -> float:
    """CPU used so far by `pid` and its reaped children (/proc/<pid>/stat fields 14-17)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / _TICKS


def status_kib(pid: int, key: str) -> int:
    """A `VmRSS:`-style line of /proc/<pid>/status, in KiB (0 if the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


@dataclass
class RssSampler:
    """Samples the VmRSS of a process and its descendants in a thread, to show whether memory
    stays flat."""

    pid: int
    interval: float = 0.2
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        start = time.monotonic()
        while not self._stop.wait(self.interval):
            kib = sum(status_kib(member, "VmRSS") for member in descendants(self.pid))
            if kib:
                self.samples.append((time.monotonic() - start, kib * 1024))

    def growth_bytes(self) -> int:
        """RSS peak of the last third of the run minus that of the middle third: a recorder
        whose memory grows with the session shows it here; warm-up does not count."""
        n = len(self.samples)
        if n < 6:
            return 0
        middle = self.samples[n // 3: 2 * n // 3]
        last = self.samples[2 * n // 3:]
        return max(r for _, r in last) - max(r for _, r in middle)


def free_port() -> int:
    """A port nobody listens on right now (socat needs one named on its command line)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, proc: subprocess.Popen[bytes] | None = None,
             log: Path | None = None) -> None:
    """Poll `predicate()` until true; a clear error (with the child's log) if it never is."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited ({proc.returncode}){_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: timed out after {timeout:.0f} s{_tail(log)}")
        time.sleep(0.02)


def _tail(log: Path | None) -> str:
    if log is None or not log.exists():
        return ""
    text = log.read_text(errors="replace").strip().splitlines()[-15:]
    return "\n  " + "\n  ".join(text) if text else ""


def ensure_socat() -> str | None:
    """socat's path, installing it from Debian if missing; None (and a message) if that fails."""
    found = shutil.which("socat")
    if found:
        return found
    print("socat is missing: installing it from Debian (apt-get install -y socat)...", flush=True)
    for cmd in (["apt-get", "install", "-y", "-q", "socat"],
                ["sh", "-c", "apt-get update -q && apt-get install -y -q socat"]):
        try:
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=300)
        except (OSError, subprocess.SubprocessError):
            continue
        found = shutil.which("socat")
        if found:
            return found
    print("WARNING: could not install socat (needs root and Debian's apt; try "
          "`sudo apt-get install socat`). The socat column is left empty and every target "
          "measured against socat reads 'no baseline'.", file=sys.stderr, flush=True)
    return None

"""Workload (d): the reading commands on a big capture, each as a user runs it (a fresh
`python -m utauproxy ...` process, output to /dev/null): wall seconds, MB/s of capture, peak RSS."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.procs import REPO, python_cmd, reap, start, utauproxy_cmd


@dataclass(frozen=True)
class ReadRun:
    command: str
    capture_bytes: int
    seconds: float
    max_rss_bytes: int
    returncode: int
    timed_out: bool

    @property
    def mb_per_s(self) -> float:
        """MB (10^6 bytes) of capture per second; a lower bound when the command timed out."""
        return self.capture_bytes / 1e6 / self.seconds if self.seconds else 0.0


def has_command(name: str, log: Path) -> bool:
    proc = start(utauproxy_cmd(name, "--help"), log, stdout=subprocess.DEVNULL)
    return reap(proc, 60).returncode == 0


def time_command(command: str, args: list[str], capture_bytes: int, log: Path, timeout: float,
                 env: dict[str, str] | None = None) -> ReadRun:
    started = time.perf_counter()
    proc = start(utauproxy_cmd(command, *args), log, stdout=subprocess.DEVNULL, env=env)
    end = reap(proc, timeout)
    seconds = time.perf_counter() - started
    return ReadRun(command, capture_bytes, seconds, end.max_rss_bytes, end.returncode,
                   timed_out=seconds >= timeout)


def read_commands(big: Path, small: Path, log_dir: Path, timeout: float) -> dict[str, ReadRun]:
    """`info`, `show`, `check` (and `diff` of the capture with a copy of itself, once the
    command exists) on `big`; `show` and `check` also on `small`, to tell whether memory
    grows with the file; and Python's start-up alone, to tell how much of `info` it is."""
    size, small_size = big.stat().st_size, small.stat().st_size
    log = log_dir / "reading.log"
    env = compiled_env(log_dir / "pycache", log)
    runs = {"startup": time_command("--version", [], 0, log, timeout, env)}
    runs["info"] = time_command("info", [str(big)], size, log, timeout, env)
    for command in ("show", "check"):
        runs[command] = time_command(command, [str(big)], size, log, timeout, env)
        runs[f"{command}-small"] = time_command(command, [str(small)], small_size, log, timeout, env)
    if has_command("diff", log):
        runs["diff"] = time_command("diff", [str(big), str(big)], size, log, timeout, env)
    return runs


def compiled_env(cache: Path, log: Path) -> dict[str, str]:
    """The environment of a user's install, where every module is already compiled: a
    checkout run with PYTHONDONTWRITEBYTECODE=1 (this VM sets it) compiles each module on
    every command, 40-70 ms that `info` would otherwise be charged for. The bytecode goes to
    a cache of the benchmark's own, never into the checkout."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    reap(start(python_cmd("-m", "compileall", "-q", str(REPO / "utauproxy")), log, env=env), 300)
    reap(start(utauproxy_cmd("--version"), log, stdout=subprocess.DEVNULL, env=env), 60)  # and the rest
    return env

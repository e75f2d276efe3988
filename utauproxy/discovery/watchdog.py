"""A process that outlives the recorder and restores its entries if it dies (DESIGN.md §5).

The recorder starts `python -m utauproxy.discovery.watchdog --dir DIR --journal J` in a new
session (Ctrl-C to the recorder's process group and the terminal's SIGHUP do not reach it) and
keeps the write end of the watchdog's stdin. The kernel closes that pipe however the recorder
ends, `kill -9` included. EOF after the `done` byte: the recorder restored everything itself.
EOF without it: the recorder died, so the watchdog restores that journal's entries and exits.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

from utauproxy.errors import DiscoveryError

DONE = b"D"
READY = b"R"


class Watchdog:
    """The recorder's handle on its watchdog process."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process

    @property
    def pid(self) -> int:
        return self.process.pid

    def disarm(self, timeout: float = 5.0) -> None:
        """The recorder restored everything: tell the watchdog to exit without restoring."""
        self._finish(DONE, timeout)

    def trigger(self, timeout: float = 10.0) -> None:
        """Let the watchdog restore now (as if the recorder had died) and wait for it."""
        self._finish(b"", timeout)

    def _finish(self, message: bytes, timeout: float) -> None:
        stdin = self.process.stdin
        if stdin is not None and not stdin.closed:
            try:
                if message:
                    stdin.write(message)
                    stdin.flush()
            except OSError:
                pass  # it already exited
            finally:
                _close_quietly(stdin)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass  # it keeps running on its own; nothing of ours depends on it any more
        if self.process.stdout is not None:
            _close_quietly(self.process.stdout)


def start_watchdog(directory: Path, journal: Path) -> Watchdog:
    """Start the watchdog for `journal` and wait until it is armed (blocking: call it from a
    worker thread in async code). Raises DiscoveryError when it cannot start."""
    command = [sys.executable, "-m", "utauproxy.discovery.watchdog"]
    command += ["--dir", str(directory), "--journal", str(journal)]
    pipe = subprocess.PIPE
    if sys.platform == "win32":  # pragma: no cover - Windows
        flags = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS
        process = subprocess.Popen(command, stdin=pipe, stdout=pipe, creationflags=flags)
    else:
        process = subprocess.Popen(command, stdin=pipe, stdout=pipe, start_new_session=True)
    assert process.stdout is not None
    if process.stdout.read(1) != READY:
        Watchdog(process).disarm()
        raise DiscoveryError(f"the watchdog process failed to start (exit {process.returncode})")
    return Watchdog(process)


def _close_quietly(stream: IO[bytes]) -> None:
    try:
        stream.close()
    except OSError:
        pass


def _wait_for_verdict() -> bool:
    """Block until stdin closes; True when the recorder said it is done."""
    done = False
    while True:
        try:
            chunk = os.read(0, 64)
        except InterruptedError:
            continue
        if not chunk:
            return done
        done = done or DONE in chunk


def _report(lines: list[str]) -> None:
    # The recorder's terminal may be gone; the restore already happened, so never fail here.
    try:
        for line in lines:
            sys.stderr.write(f"utauproxy watchdog: {line}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m utauproxy.discovery.watchdog`."""
    parser = argparse.ArgumentParser(prog="utauproxy-watchdog")
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--journal", required=True, type=Path)
    args = parser.parse_args(argv)
    for name in ("SIGINT", "SIGHUP", "SIGPIPE"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    from utauproxy.discovery.restore import RestoreOutcome, restore

    os.write(1, READY)
    if _wait_for_verdict():
        return 0
    actions = restore(args.dir, journal=args.journal)
    changed = [a for a in actions if a.outcome is not RestoreOutcome.ALREADY_ORIGINAL]
    _report(["the recorder ended without restoring; " + a.describe() for a in changed])
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The watchdog: a recorder killed with SIGKILL still gets its entries put back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from discovery_helpers import FakePlugin, newtonsoft_read, port_bound

from utauproxy.discovery.entry import is_ours
from utauproxy.discovery.journal import Journal, JournalEntry, list_journals
from utauproxy.discovery.watchdog import start_watchdog

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and /proc")

RECORDER = textwrap.dedent(
    """
    import socket, sys
    from functools import partial
    from pathlib import Path
    import anyio
    from utauproxy.discovery.takeover import run_takeover

    class Hooks:
        def __init__(self):
            self.listeners = {}
        async def open_listener(self, entry):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sock.listen()
            self.listeners[entry.file] = sock
            return sock.getsockname()[1]
        async def update_upstream(self, entry):
            pass
        async def close_listener(self, entry):
            self.listeners.pop(entry.file).close()

    async def main():
        async with anyio.create_task_group() as group:
            run = partial(run_takeover, Path(sys.argv[1]), Hooks(), on_event=print,
                          poll_interval=0.05)
            handle = await group.start(run)
            print("READY", handle.watchdog_pid, flush=True)
            await anyio.sleep_forever()

    anyio.run(main)
    """
)


def process_finished(pid: int) -> bool:
    """Gone, or a zombie nobody reaped yet (containers may lack a reaping init)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_for(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return bool(condition())  # type: ignore[operator]


def test_kill_9_of_the_recorder_restores_the_entry(tmp_path: Path) -> None:
    folder = tmp_path / "PluginServers"
    folder.mkdir()
    plugin = FakePlugin(folder)
    original = plugin.publish()
    recorder = subprocess.Popen(
        [sys.executable, "-c", RECORDER, str(folder)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert recorder.stdout is not None
        line = recorder.stdout.readline()
        while line and not line.startswith("READY"):
            line = recorder.stdout.readline()
        watchdog_pid = int(line.split()[1])
        text = plugin.path.read_text()
        assert is_ours(text) and port_bound(newtonsoft_read(text)[0])
        assert os.getsid(watchdog_pid) != os.getsid(recorder.pid)  # out of reach of Ctrl-C
    finally:
        recorder.kill()
        recorder.wait()
    # The brief asks for about a second; a loaded machine gets some slack before we fail.
    assert wait_for(lambda: plugin.path.read_text() == original, timeout=5.0)
    assert wait_for(lambda: list_journals(folder) == [], timeout=5.0)
    assert wait_for(lambda: process_finished(watchdog_pid), timeout=5.0)


def test_a_disarmed_watchdog_restores_nothing(tmp_path: Path) -> None:
    journal = Journal.create(tmp_path)
    path = tmp_path / "a.json"
    path.write_text("ours")
    journal.record_rewrite(JournalEntry("a.json", "original", 1, "ours"))
    watchdog = start_watchdog(tmp_path, journal.path)
    watchdog.disarm()
    assert watchdog.process.returncode == 0
    assert path.read_text() == "ours"
    journal.close(delete=True)


def test_a_triggered_watchdog_restores_its_journal(tmp_path: Path) -> None:
    journal = Journal.create(tmp_path)
    path = tmp_path / "a.json"
    path.write_text("ours")
    journal.record_rewrite(JournalEntry("a.json", "original", 1, "ours"))
    watchdog = start_watchdog(tmp_path, journal.path)
    watchdog.trigger()  # what happens when the recorder's end of the pipe closes
    assert watchdog.process.returncode == 0
    assert path.read_text() == "original"
    assert not journal.path.exists()
    journal.close(delete=False)


def test_sigint_to_the_recorders_group_does_not_stop_the_watchdog(tmp_path: Path) -> None:
    journal = Journal.create(tmp_path)
    path = tmp_path / "a.json"
    path.write_text("ours")
    journal.record_rewrite(JournalEntry("a.json", "original", 1, "ours"))
    watchdog = start_watchdog(tmp_path, journal.path)
    os.killpg(os.getpgid(watchdog.pid), signal.SIGINT)  # a Ctrl-C that did reach its group
    watchdog.trigger()
    assert watchdog.process.returncode == 0 and path.read_text() == "original"
    journal.close(delete=False)

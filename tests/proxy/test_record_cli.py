"""`utauproxy record` as a user runs it: a real process, a real discovery folder, a real plugin
socket; stopped with SIGINT, or killed with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from utauproxy.capture.reader import CaptureReader
from utauproxy.errors import CaptureError
from utauproxy.records import DiscoveryRecord, MessageRecord

ORIGINAL = '{"port": %d, "name": "Vocal \\u3042"}'


class EchoPlugin:
    """A stand-in plugin: answers every line `request:<id>:<kind> …` with a response line."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                buf = b""
                while chunk := conn.recv(65536):
                    buf += chunk
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        req_id = line.split(b":")[1]
                        conn.sendall(b"response:" + req_id + b' {"success": true, "data": {}}\n')

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def plugin() -> Iterator[EchoPlugin]:
    p = EchoPlugin()
    yield p
    p.close()


def _entry_port(path: Path) -> int | None:
    try:
        return int(json.loads(path.read_text())["port"])
    except (OSError, ValueError, KeyError):
        return None


def _wait_for(predicate, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def _start_recorder(folder: Path, capture: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "utauproxy", "--log-format", "json", "record",
         "--dir", str(folder), "-o", str(capture)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def _talk_through(port: int, lines: list[bytes]) -> list[bytes]:
    with socket.create_connection(("127.0.0.1", port)) as s:
        answers = []
        for line in lines:
            s.sendall(line + b"\n")
            answers.append(s.makefile("rb").readline().rstrip(b"\n"))
        return answers


@pytest.fixture
def entry(tmp_path: Path, plugin: EchoPlugin) -> Path:
    folder = tmp_path / "OpenUtau" / "PluginServers"
    folder.mkdir(parents=True)
    path = folder / "0b7e5f5c-6c1e-4c55-9a57-6f0a4a0d2c11.json"
    path.write_text(ORIGINAL % plugin.port)
    return path


def test_sigint_restores_the_entry_and_closes_the_capture(tmp_path: Path, entry: Path,
                                                          plugin: EchoPlugin) -> None:
    capture = tmp_path / "out.utpcap"
    original = entry.read_text()
    proc = _start_recorder(entry.parent, capture)
    try:
        _wait_for(lambda: _entry_port(entry) not in (None, plugin.port))
        rewritten = json.loads(entry.read_text())
        assert rewritten["name"].startswith("Vocal \u3042") and "recording" in rewritten["name"]
        answers = _talk_through(int(rewritten["port"]), [b"request:abc:init {}"])
        assert answers == [b'response:abc {"success": true, "data": {}}']
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    assert entry.read_text() == original
    assert str(capture) in out.decode()
    with CaptureReader.open(capture) as reader:
        assert reader.footer is not None
        records = list(reader.records())
    raws = [r.raw for r in records if isinstance(r, MessageRecord)]
    assert raws == [b"request:abc:init {}", b'response:abc {"success": true, "data": {}}']
    events = [r.event.value for r in records if isinstance(r, DiscoveryRecord)]
    assert "rewritten" in events and events[-1] == "restored"


def test_kill_9_restores_the_entry_within_two_seconds(tmp_path: Path, entry: Path,
                                                      plugin: EchoPlugin) -> None:
    capture = tmp_path / "out.utpcap"
    original = entry.read_text()
    proc = _start_recorder(entry.parent, capture)
    try:
        _wait_for(lambda: _entry_port(entry) not in (None, plugin.port))
        port = _entry_port(entry)
        assert port is not None
        assert _talk_through(port, [b"request:k9:init {}"])
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)
    killed_at = time.monotonic()
    _wait_for(lambda: entry.read_text() == original, timeout=2.0)
    assert time.monotonic() - killed_at < 2.0
    # The capture process outlives the recorder: it sees the pipe close and finishes the
    # capture, footer included, with everything forwarded before the kill.
    _wait_for(lambda: _footer_written(capture), timeout=10.0)
    with CaptureReader.open(capture) as reader:
        raws = [r.raw for r in reader.records() if isinstance(r, MessageRecord)]
    assert raws == [b"request:k9:init {}", b'response:k9 {"success": true, "data": {}}']


def _footer_written(capture: Path) -> bool:
    try:
        with CaptureReader.open(capture) as reader:
            return reader.footer is not None
    except CaptureError:
        return False  # still being written

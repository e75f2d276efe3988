"""Stand-ins for the real peers around the discovery folder: a plugin that listens and writes
its entry the way the C++ plugin does (in place, not atomically), OpenUtau's scan, and proxy
hooks that open real listeners."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from utauproxy.discovery.live import LiveEntry
from utauproxy.records import DiscoveryEvent, DiscoveryRecord


def choc_entry(port: int, name: str) -> str:
    """What the plugin writes (PROTOCOL.md §1.2): `{"port": 51234, "name": "Vocal \\u3042"}`."""
    return json.dumps({"port": port, "name": name}, separators=(", ", ": "), ensure_ascii=True)


def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def dead_port() -> int:
    """A port nobody listens on (it was free a moment ago)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakePlugin:
    """A plugin instance: a listener on 127.0.0.1 and a `<uuid>.json` entry."""

    def __init__(self, directory: Path, name: str = "Vocal \u3042") -> None:
        self.directory = directory
        self.path = directory / f"{uuid.uuid4()}.json"
        self.sock = listening_socket()
        self.name = name

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def text(self) -> str:
        return choc_entry(self.port, self.name)

    def publish(self) -> str:
        self.path.write_text(self.text(), encoding="ascii")
        return self.text()

    def rename_in_place(self, name: str, pause: float = 0.0, new_port: bool = False) -> str:
        """`setState("name")` (PROTOCOL.md §1.3): ofstream truncates, then writes. With
        `new_port`, the entry moves to a new listener; the old one closes once the file is
        written (so the file never advertises a closed port)."""
        previous = self.sock
        if new_port:
            self.sock = listening_socket()
        self.name = name
        with open(self.path, "w", encoding="ascii") as stream:
            stream.flush()
            time.sleep(pause)
            stream.write(self.text())
        if previous is not self.sock:
            previous.close()
        return self.text()

    def unload(self) -> None:
        self.path.unlink(missing_ok=True)
        self.sock.close()


def newtonsoft_read(text: str) -> tuple[int, str | None]:
    """OpenUtau's reading of an entry, written independently of utauproxy's parser:
    members match case-insensitively, the last one wins, extra members are ignored."""
    members = json.loads(text.removeprefix("\ufeff"))
    assert isinstance(members, dict)
    lowered = {key.lower(): value for key, value in members.items()}
    port = lowered.get("port", 0)
    assert isinstance(port, int)
    return port, lowered.get("name")


def port_bound(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def openutau_scan(directory: Path) -> list[str]:
    """`DawServerFinder.FindServers()` (PROTOCOL.md §1.4): read, deserialise, bind-probe; delete
    every file that fails. Returns what it deleted and why."""
    deleted = []
    for path in directory.glob("*.json"):
        text = None
        try:
            text = path.read_text(encoding="utf-8")
            port, _ = newtonsoft_read(text)
            valid = 1 <= port <= 65535 and port_bound(port)
            why = f"port {port} is free"
        except FileNotFoundError:
            continue
        except Exception as error:
            valid, why = False, repr(error)
        if not valid:
            path.unlink(missing_ok=True)
            deleted.append(f"{path.name}: {why}: {text!r}")
    return deleted


@dataclass
class ListenerHooksWithSockets:
    """Proxy hooks with real listening sockets, remembering every call."""

    listeners: dict[str, socket.socket] = field(default_factory=dict)
    opened: list[LiveEntry] = field(default_factory=list)
    updated: list[LiveEntry] = field(default_factory=list)
    closed: list[LiveEntry] = field(default_factory=list)

    async def open_listener(self, entry: LiveEntry) -> int:
        assert entry.file not in self.listeners, "a second listener for one entry"
        sock = listening_socket()
        self.listeners[entry.file] = sock
        self.opened.append(entry)
        return int(sock.getsockname()[1])

    async def update_upstream(self, entry: LiveEntry) -> None:
        self.updated.append(entry)

    async def close_listener(self, entry: LiveEntry) -> None:
        self.listeners.pop(entry.file).close()
        self.closed.append(entry)


@dataclass
class EventLog:
    records: list[DiscoveryRecord] = field(default_factory=list)

    def __call__(self, record: DiscoveryRecord) -> None:
        self.records.append(record)

    def of(self, event: DiscoveryEvent, file: str | None = None) -> list[dict[str, Any]]:
        return [
            r.entry for r in self.records
            if r.event is event and (file is None or r.entry.get("file") == file)
        ]


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for `condition`; the timeout only turns a hang into a failure."""
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.01)


def file_mode(path: Path) -> int:
    return os.lstat(path).st_mode & 0o777

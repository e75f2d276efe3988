"""Shared pieces of the fault suite: the REAL recorder (`run_record`) over a real temp discovery
folder, a raw-socket plugin whose every connection is scripted by the test, and small readers of
the resulting capture."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import anyio
from anyio.abc import SocketAttribute, SocketStream

from utauproxy.capture.reader import CaptureReader
from utauproxy.proxy.recorder import RecordingState, RecordOptions, run_record
from utauproxy.records import ConnectionRecord, ConnEvent, Direction, MessageRecord, Record

ENTRY_FILE = "0b7e5f5c-6c1e-4c55-9a57-6f0a4a0d2c11.json"
Handler = Callable[[SocketStream, int], Awaitable[None]]


class RawPlugin:
    """A plugin stand-in on 127.0.0.1: every accepted connection runs `handler(stream, n)`
    (n counts from 1), so each test scripts exactly what the plugin side does."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.port = 0
        self.accepted = 0

    async def serve(self, *, task_status: anyio.abc.TaskStatus[RawPlugin]) -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        self.port = int(listener.extra(SocketAttribute.local_port))

        async def one(stream: SocketStream) -> None:
            self.accepted += 1
            async with stream:
                try:
                    await self.handler(stream, self.accepted)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream, OSError):
                    pass  # the test scripted a fault; the plugin side just ends

        async with listener:
            task_status.started(self)
            await listener.serve(one)


@dataclass
class Recording:
    """A running recorder and where to reach it."""

    state: RecordingState
    folder: Path
    output: Path
    entry: Path
    warnings: list[str] = field(default_factory=list)

    @property
    def proxy_port(self) -> int:
        live = self.state.entries[self.entry.name]
        assert live.proxy_port is not None
        return live.proxy_port


def publish_entry(folder: Path, port: int, name: str = "Vocal", file: str = ENTRY_FILE) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file
    path.write_text(json.dumps({"port": port, "name": name}))
    return path


@asynccontextmanager
async def recording(tmp_path: Path, plugin_port: int | None, *, entry_file: str = ENTRY_FILE,
                    **options: object) -> AsyncIterator[Recording]:
    """`run_record` on the discovery folder tmp_path/PluginServers, stopped cleanly (restore,
    footer) when the body ends. With `plugin_port`, an entry for it is published first;
    otherwise a plugin (the simulated one) has published `entry_file` itself."""
    folder = tmp_path / "PluginServers"
    entry = publish_entry(folder, plugin_port, file=entry_file) if plugin_port else folder / entry_file
    output = tmp_path / "capture.utpcap"
    settings: dict[str, object] = {"watchdog": False, "poll_interval": 0.02, **options}
    opts = RecordOptions(output, folder, **settings)  # type: ignore[arg-type]
    warnings: list[str] = []
    async with anyio.create_task_group() as tg:
        state = await tg.start(partial(run_record, opts, on_warning=warnings.append))
        await until(lambda: entry.name in state.entries and state.entries[entry.name].proxy_port)
        try:
            yield Recording(state, folder, output, entry, warnings)
        finally:
            state.stop.set()


@asynccontextmanager
async def plugin_and_recorder(tmp_path: Path, handler: Handler) -> AsyncIterator[tuple[RawPlugin, Recording]]:
    async with anyio.create_task_group() as tg:
        plugin: RawPlugin = await tg.start(RawPlugin(handler).serve)
        async with recording(tmp_path, plugin.port) as rec:
            yield plugin, rec
        tg.cancel_scope.cancel()


async def until(predicate: Callable[[], object], timeout: float = 20.0) -> None:
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.005)


async def receive_all(stream: SocketStream, into: bytearray | None = None) -> tuple[bytes, str]:
    """Everything until the peer ends, and how it ended: "eof" or "reset"."""
    data = into if into is not None else bytearray()
    try:
        while True:
            data += await stream.receive(1 << 20)
    except anyio.EndOfStream:
        return bytes(data), "eof"
    except (anyio.BrokenResourceError, ConnectionResetError):
        return bytes(data), "reset"


async def receive_line(stream: SocketStream, buffer: bytearray) -> bytes:
    while b"\n" not in buffer:
        buffer += await stream.receive(1 << 16)
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    return line


def reset_on_close(stream: SocketStream) -> None:
    """SO_LINGER 0: the close that follows is a RST, as when a process dies."""
    sock: socket.socket = stream.extra(SocketAttribute.raw_socket)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def read_capture(path: Path, *, footer: bool = True) -> list[Record]:
    with CaptureReader.open(path) as reader:
        records = list(reader.records())
        assert not reader.damage, reader.damage
        assert (reader.footer is not None) is footer
    return records


def messages(records: list[Record], conn: int, direction: Direction) -> list[MessageRecord]:
    return [r for r in records if isinstance(r, MessageRecord) and r.conn == conn and r.direction is direction]


def stream_of(records: list[Record], conn: int, direction: Direction) -> bytes:
    return b"".join(m.wire_bytes for m in messages(records, conn, direction))


def events(records: list[Record], conn: int) -> list[tuple[ConnEvent, Direction | None]]:
    return [(r.event, r.direction) for r in records if isinstance(r, ConnectionRecord) and r.conn == conn]


# --- the recorder as a real process -------------------------------------------------------------


class EchoPlugin:
    """A threaded stand-in plugin for subprocess tests: answers `request:<id>:<kind> …` lines,
    one thread per connection (several recorders may use it at once)."""

    def __init__(self) -> None:
        import threading

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self._threading = threading
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _serve(conn: socket.socket) -> None:
        with conn:
            buf = b""
            try:
                while chunk := conn.recv(1 << 16):
                    buf += chunk
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        parts = line.split(b":")
                        if len(parts) >= 3 and parts[0] == b"request":
                            conn.sendall(b"response:" + parts[1] + b' {"success": true, "data": {}}\n')
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()


def entry_port(path: Path) -> int | None:
    try:
        return int(json.loads(path.read_text())["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"{what}: not met within {timeout} s")


def start_recorder(folder: Path, capture: Path, *, watchdog: bool = True,
                   preexec: Callable[[], None] | None = None) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "utauproxy", "--log-format", "json", "record",
            "--dir", str(folder), "-o", str(capture)]
    if not watchdog:
        args.append("--no-watchdog")
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=preexec)


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def listening_inodes() -> dict[int, tuple[str, str]]:
    """Every TCP socket in LISTEN state on this host: inode -> (table, local address hex)."""
    found: dict[int, tuple[str, str]] = {}
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A":
                found[int(fields[9])] = (table, fields[1])
    return found


def socket_inodes(pid: int | str = "self") -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def children_of(pid: int) -> Iterator[int]:
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for kid in kids:
            yield int(kid)
            yield from children_of(int(kid))



OK_BODY = b' {"success": true, "data": {}}'


async def answer_requests(stream: SocketStream, n: int = 0) -> None:
    """A well-behaved plugin connection: every `request:<id>:<kind>` line gets a response."""
    buffer = bytearray()
    while True:
        line = await receive_line(stream, buffer)
        await stream.send(b"response:" + line.split(b":")[1] + OK_BODY + b"\n")


async def ask(port: int, request_id: bytes) -> bytes:
    """One request through a fresh connection to `port`; the response line."""
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        await stream.send(b"request:" + request_id + b":init {}\n")
        return await receive_line(stream, bytearray())


def openutau_probe(folder: Path) -> list[str]:
    """OpenUtau's scan (PROTOCOL.md §1.4): parse each *.json, bind 127.0.0.1:port; a bind that
    succeeds (or any error) means invalid, and the file is deleted. Returns what it deleted."""
    deleted = []
    for path in folder.glob("*.json"):
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        try:
            members = {k.lower(): v for k, v in json.loads(text.removeprefix("\ufeff")).items()}
            port = members["port"]
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the stricter probe
                probe.bind(("127.0.0.1", port))
            why = f"port {port} is free"
        except OSError:
            continue  # the bind failed: someone listens there, the entry is valid
        except Exception as error:  # noqa: BLE001 - OpenUtau deletes on any exception
            why = repr(error)
        path.unlink(missing_ok=True)
        deleted.append(f"{path.name}: {why}: {text!r}")
    return deleted
